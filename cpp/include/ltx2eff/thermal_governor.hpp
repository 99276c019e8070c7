// The thermal and power governor: paces work so that a GPU holds a temperature or a share of its
// enforced power limit, by waiting between units of work (denoising steps, transformer blocks,
// or fixed time slices of a paused process). It only reads sensors: it never sets clocks, power
// limits or modes.
//
// Use per unit of work:
//   governor.start(now);
//   loop: do work; d = governor.pace(now);
//         while (d.wait_s > 0) { wait d.wait_s; governor.resumed(now);
//                                if (!d.emergency) break; d = governor.recheck(now); }
//   report = governor.report(now);
// or per time slice: duty = governor.update(now).duty; run duty * period, pause the rest.
//
// The duty cycle comes from one PI loop per target (temperature, power) and a safety loop just
// under the slowdown threshold; the lowest duty wins. Near the slowdown threshold (within the
// emergency margin) the governor pauses outright until the GPU has cooled by the release band.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ltx2eff/thermal_pi.hpp"
#include "ltx2eff/thermal_report.hpp"
#include "ltx2eff/thermal_sensor.hpp"

namespace ltx2eff {

struct GovernorConfig {
  std::optional<double> target_temperature_c;   // hold at or below this, in [30, 100]
  std::optional<double> target_power_fraction;  // hold this share of the enforced limit, [0.1, 1]
  double emergency_margin_c = 5.0;       // pause when this close to the slowdown threshold, [1, 30]
  double emergency_release_c = 3.0;      // resume once this much cooler again, [0.5, 20]
  double min_duty = 0.05;                // the governor never pauses more than 1 - min_duty
  double sample_interval_s = 0.1;        // read the sensor at most this often
  double control_interval_s = 0.25;      // run the loops this often
  double power_window_s = 1.0;           // measured power = energy over this trailing window
  double max_wait_s = 30.0;              // longest single wait asked of the caller
  double min_wait_s = 0.002;             // shorter waits are carried over to the next unit
  double emergency_pause_s = 0.25;       // wait chunk while in an emergency pause
  double max_emergency_pause_s = 120.0;  // then resume at minimum duty and say so
  PiGains temperature_gains{0.05, 0.004, 0.4, 2.0};  // per degree C
  PiGains power_gains{0.3, 0.6, 0.004, 0.05};        // per share of the power limit

  void validate() const;
  // "power 60% of the limit", "temperature 75 C", "temperature 75 C, power 60% of the limit".
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] bool has_target() const { return target_temperature_c || target_power_fraction; }
};

struct PaceDecision {
  double wait_s = 0.0;     // how long to wait before the next unit of work
  double duty = 1.0;       // the duty cycle this wait implements
  double work_s = 0.0;     // the work time this decision accounted for
  bool emergency = false;  // an emergency pause: after waiting, call recheck()
};

struct GovernorState {
  double time_s = 0.0;
  double duty = 1.0;
  bool pacing = false;     // some loop is holding a target (the duty may still be 1)
  bool emergency = false;  // within the emergency margin of the slowdown threshold
  std::string limiting;    // the loop that set the duty: "temperature", "power", "safety", ""
  std::optional<double> temperature_c;     // latest reading
  std::optional<double> measured_power_w;  // what the power loop sees (energy over a window)
  std::optional<double> power_w;           // latest reported power
  std::optional<double> power_limit_w;
  std::optional<double> power_target_w;
  std::optional<double> temperature_target_c;  // after any lowering below the emergency point
  std::optional<double> emergency_threshold_c;
  std::optional<double> utilization;
  std::optional<double> sm_clock_mhz;
  std::optional<std::uint64_t> clock_event_reasons;
};

class ThermalGovernor {
 public:
  ThermalGovernor(std::shared_ptr<Sensor> sensor, const GovernorConfig& config);

  // False when the sensor cannot be read: then pace() never waits and the report says why.
  [[nodiscard]] bool available() const { return reason_.empty(); }
  [[nodiscard]] const std::string& unavailable_reason() const { return reason_; }
  // True when a target is being held (available, and a target this GPU can measure).
  [[nodiscard]] bool governing() const;

  // Begins a run: resets the loops and the statistics. Called by the first update/pace if not.
  void start(double now);
  // Reads the sensor if due, updates the statistics, runs the loops if due.
  const GovernorState& update(double now);
  // A unit of work just finished at `now`: how long to wait before the next one.
  PaceDecision pace(double now);
  // After an emergency wait: pause again while still too hot, else the regular wait (if any).
  PaceDecision recheck(double now);
  // The caller's wait ended at `now` (records the time actually paced).
  void resumed(double now);
  // For callers that pause by other means (time slices of a stopped process).
  void record_pause(double seconds, bool emergency);

  [[nodiscard]] ThermalReport report(double now);
  [[nodiscard]] const GovernorState& state() const { return state_; }
  [[nodiscard]] const GovernorConfig& config() const { return config_; }
  [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
  [[nodiscard]] std::string target_description() const;
  [[nodiscard]] std::string device() const { return device_; }
  [[nodiscard]] const ThermalLimits& limits() const { return limits_; }

 private:
  void sample(double now, bool force);
  // The end of a work/wait cycle: energy windows run between such points, so they hold whole
  // cycles (a window ending mid-cycle would see too much work, or too much wait).
  void mark_boundary(double now);
  void push_power_sample(double now);
  void control(double now);
  void check_emergency(double now);
  [[nodiscard]] std::optional<double> window_power() const;
  PaceDecision decide(double now, double work_s);
  void settle_pending(double now);
  void mark_unavailable(const std::string& why);
  void note(const std::string& text);

  std::shared_ptr<Sensor> sensor_;
  GovernorConfig config_;
  std::string reason_;
  std::string device_;
  ThermalLimits limits_;
  std::vector<std::string> notes_;

  PiDutyLoop temperature_loop_;
  PiDutyLoop power_loop_;
  PiDutyLoop safety_loop_;
  bool temperature_on_ = false;
  bool power_on_ = false;
  bool safety_on_ = false;

  bool started_ = false;
  bool sampled_ = false;
  bool cycle_mode_ = false;   // pace() is in use: power is measured between cycle boundaries
  bool power_fresh_ = false;  // a new power measurement since the power loop last ran
  double last_sample_s_ = 0.0;
  double last_boundary_s_ = 0.0;
  double last_control_s_ = 0.0;
  double last_power_control_s_ = 0.0;
  double temperature_sum_ = 0.0;  // readings since the last control update
  int temperature_count_ = 0;
  struct EnergySample {
    double t, energy_j;
  };
  std::deque<EnergySample> energy_;
  std::optional<double> last_power_w_;
  std::optional<double> last_energy_j_;          // of the latest reading
  std::optional<double> last_reported_power_w_;  // of the latest reading

  double resume_s_ = 0.0;  // when the current unit of work began
  bool pending_ = false;   // a wait was handed out and resumed() not yet called
  double pending_at_s_ = 0.0;
  double pending_wait_s_ = 0.0;
  bool pending_emergency_ = false;
  double debt_s_ = 0.0;  // waits too short to hand out, carried over
  double emergency_since_s_ = -1.0;
  bool emergency_timed_out_ = false;

  GovernorState state_;
  ThermalRunStats stats_;
};

}  // namespace ltx2eff
