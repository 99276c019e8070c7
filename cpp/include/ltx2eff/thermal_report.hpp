// What a governed run cost: energy, temperature, power, the time spent pacing and the throttle
// reasons the GPU gave, accumulated from the governor's sensor samples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ltx2eff/thermal_sensor.hpp"

namespace ltx2eff {

struct ThermalReport {
  bool available = false;          // false: no sensor; the run was not paced
  std::string unavailable_reason;  // why not, when !available
  std::string device;
  std::string target;  // "power 60% of 700 W (420 W)", "temperature 75 C", "watch only"
  double duration_s = 0.0;
  std::optional<double> energy_j;
  bool energy_from_counter = false;  // the GPU's energy counter (exact) or integrated power
  std::optional<double> average_power_w;
  std::optional<double> peak_power_w;
  std::optional<double> average_temperature_c;
  std::optional<double> peak_temperature_c;
  double paced_s = 0.0;      // time spent waiting at the governor's request
  double emergency_s = 0.0;  // of which in emergency pauses near the slowdown threshold
  int emergency_pauses = 0;  // how many times the emergency pause began
  int work_units = 0;        // pace() calls
  int samples = 0;           // sensor readings
  std::uint64_t clock_event_reasons = 0;  // every reason seen while working (idle excluded)
  std::vector<std::string> clock_event_names;
  std::vector<std::string> notes;  // adjustments the governor made (a lowered target, ...)

  [[nodiscard]] double paced_share() const { return duration_s > 0.0 ? paced_s / duration_s : 0.0; }
  // One log line: "<target> on <device>: 183.2 s, 52.10 kJ, power avg 284 W (peak 411 W), ...".
  [[nodiscard]] std::string summary_line() const;
  [[nodiscard]] std::string to_json() const;
};

// Accumulates readings into a report; time-weighted averages (each reading holds until the next).
class ThermalRunStats {
 public:
  void start(double now);
  void add(double now, const ThermalReading& reading);
  void add_paced(double seconds, bool emergency);
  void count_emergency_pause() { ++emergency_pauses_; }
  void count_work_unit() { ++work_units_; }
  // Fills the measured fields of `report` for the time from start() to `now`.
  void fill(double now, ThermalReport& report) const;
  [[nodiscard]] bool started() const { return started_; }

 private:
  bool started_ = false;
  double start_s_ = 0.0;
  double last_s_ = 0.0;
  int samples_ = 0;
  std::optional<ThermalReading> last_;
  std::optional<double> first_energy_j_;
  std::optional<double> last_energy_j_;
  double power_integral_j_ = 0.0;  // sum of power * dt where power was known
  double power_time_s_ = 0.0;
  double temperature_integral_ = 0.0;
  double temperature_time_s_ = 0.0;
  std::optional<double> peak_power_w_;
  std::optional<double> peak_temperature_c_;
  std::uint64_t reasons_ = 0;
  double paced_s_ = 0.0;
  double emergency_s_ = 0.0;
  int emergency_pauses_ = 0;
  int work_units_ = 0;
};

}  // namespace ltx2eff
