// A simulated GPU for tests and demos of the thermal governor: a first-order thermal model
//   dT/dt = (P * R_th - (T - T_ambient)) / tau
// driven by power P = idle + busy * load * (full_load - idle), clamped at the enforced power limit
// (clocks drop, work slows, "sw_power_cap") and cut further above the slowdown threshold
// ("hw_thermal"). Its sensor behaves like NVML: the reported power is a trailing average, the
// temperature an integer, the energy a counter in millijoules.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "ltx2eff/thermal_sensor.hpp"

namespace ltx2eff {

struct SimulatedGpuSpec {
  std::string name = "Simulated GPU";
  double ambient_c = 30.0;
  double thermal_resistance_c_per_w = 0.16;  // steady-state rise per watt
  double time_constant_s = 30.0;
  double idle_power_w = 40.0;
  double full_load_power_w = 320.0;  // demand at 100% busy and load 1, before the limit clamp
  double power_limit_w = 300.0;
  double slowdown_c = 90.0;
  double shutdown_c = 98.0;
  double slowdown_power_factor = 0.6;   // share of the demand left above the slowdown threshold
  double power_average_window_s = 1.0;  // the reported power averages this trailing window
  bool integer_temperature = true;      // NVML reports whole degrees
  double initial_temperature_c = -1.0;  // < 0: start at ambient + idle rise
  double step_s = 0.005;                // integration step
  void validate() const;
};

class SimulatedGpu final : public Sensor {
 public:
  explicit SimulatedGpu(const SimulatedGpuSpec& spec = {});

  // Advances the model by `seconds` with the GPU busy for `busy_fraction` of the time (spread
  // evenly: a fine-grained duty cycle).
  void advance(double seconds, double busy_fraction);
  // Runs `units` of work at full duty (1 unit = 1 second at full speed); returns the seconds it
  // took, longer than `units` when power capping or thermal slowdown lowers the clocks.
  double work(double units);
  // Intensity of the work relative to the spec's full load (a heavier or lighter kernel mix).
  void set_load(double load);
  [[nodiscard]] double load() const { return load_; }

  [[nodiscard]] double now() const { return time_s_; }
  [[nodiscard]] double temperature() const { return temperature_c_; }
  [[nodiscard]] double instantaneous_power() const { return last_power_w_; }
  [[nodiscard]] double energy() const { return energy_j_; }
  [[nodiscard]] double work_done() const { return work_done_; }
  [[nodiscard]] const SimulatedGpuSpec& spec() const { return spec_; }
  // Steady-state temperature and power at a given duty (ignoring the slowdown), for tests.
  [[nodiscard]] double steady_power(double duty) const;
  [[nodiscard]] double steady_temperature(double duty) const;

  [[nodiscard]] bool available() const override { return true; }
  [[nodiscard]] std::string unavailable_reason() const override { return {}; }
  [[nodiscard]] std::string description() const override { return spec_.name + " (simulated)"; }
  [[nodiscard]] ThermalLimits limits() override;
  [[nodiscard]] ThermalReading read() override;

 private:
  struct Demand {
    double power_w;
    double speed;  // work per second while busy
    std::uint64_t reasons;
  };
  [[nodiscard]] Demand busy_demand() const;
  void step(double dt, double busy_fraction);

  SimulatedGpuSpec spec_;
  double time_s_ = 0.0;
  double temperature_c_ = 0.0;
  double energy_j_ = 0.0;
  double work_done_ = 0.0;
  double load_ = 1.0;
  double last_power_w_ = 0.0;
  double last_busy_ = 0.0;
  std::uint64_t last_reasons_ = 0;
  // (time, energy, busy time) samples over the averaging window
  struct Sample {
    double t, energy_j, busy_s;
  };
  std::deque<Sample> history_;
  double busy_time_s_ = 0.0;
};

}  // namespace ltx2eff
