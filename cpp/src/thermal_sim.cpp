// The simulated GPU: explicit Euler steps of a first-order thermal model (stable: step << tau).
#include "ltx2eff/thermal_sim.hpp"

#include <algorithm>
#include <cmath>

#include "ltx2eff/error.hpp"

namespace ltx2eff {

void SimulatedGpuSpec::validate() const {
  require_in_range("ambient_c", ambient_c, -20.0, 100.0);
  require_in_range("thermal_resistance_c_per_w", thermal_resistance_c_per_w, 1e-4, 10.0);
  require_in_range("time_constant_s", time_constant_s, 0.1, 3600.0);
  require_in_range("idle_power_w", idle_power_w, 0.0, 2000.0);
  require_in_range("full_load_power_w", full_load_power_w, idle_power_w, 5000.0);
  require_in_range("power_limit_w", power_limit_w, idle_power_w + 1.0, 5000.0);
  require_in_range("slowdown_c", slowdown_c, ambient_c + 1.0, 150.0);
  require_in_range("shutdown_c", shutdown_c, slowdown_c, 160.0);
  require_in_range("slowdown_power_factor", slowdown_power_factor, 0.05, 1.0);
  require_in_range("power_average_window_s", power_average_window_s, 0.01, 10.0);
  require_in_range("step_s", step_s, 1e-4, 0.1);
}

SimulatedGpu::SimulatedGpu(const SimulatedGpuSpec& spec) : spec_(spec) {
  spec_.validate();
  temperature_c_ = spec_.initial_temperature_c >= 0.0
                       ? spec_.initial_temperature_c
                       : spec_.ambient_c + spec_.idle_power_w * spec_.thermal_resistance_c_per_w;
  last_power_w_ = spec_.idle_power_w;
  history_.push_back({0.0, 0.0, 0.0});
}

void SimulatedGpu::set_load(double load) {
  require_in_range("load", load, 0.0, 10.0);
  load_ = load;
}

SimulatedGpu::Demand SimulatedGpu::busy_demand() const {
  const double idle = spec_.idle_power_w;
  double power = idle + load_ * (spec_.full_load_power_w - idle);
  double speed = 1.0;
  std::uint64_t reasons = 0;
  // Above the slowdown threshold the clocks drop: less power, less work.
  if (temperature_c_ >= spec_.slowdown_c) {
    const double cut = idle + spec_.slowdown_power_factor * (power - idle);
    if (power > idle) speed *= (cut - idle) / (power - idle);
    power = cut;
    reasons |= clock_event::kHwThermalSlowdown;
  }
  // The power limit clamps the demand the same way (work scales with dynamic power here).
  if (power > spec_.power_limit_w) {
    speed *= (spec_.power_limit_w - idle) / (power - idle);
    power = spec_.power_limit_w;
    reasons |= clock_event::kSwPowerCap;
  }
  return {power, speed, reasons};
}

void SimulatedGpu::step(double dt, double busy_fraction) {
  const Demand busy = busy_demand();
  const double power = spec_.idle_power_w + busy_fraction * (busy.power_w - spec_.idle_power_w);
  const double rise = power * spec_.thermal_resistance_c_per_w;
  temperature_c_ += dt * (rise - (temperature_c_ - spec_.ambient_c)) / spec_.time_constant_s;
  energy_j_ += power * dt;
  work_done_ += busy_fraction * busy.speed * dt;
  busy_time_s_ += busy_fraction * dt;
  time_s_ += dt;
  last_power_w_ = power;
  last_busy_ = busy_fraction;
  last_reasons_ = busy_fraction > 0.0 ? busy.reasons : clock_event::kGpuIdle;
  history_.push_back({time_s_, energy_j_, busy_time_s_});
  // Keep one sample older than the window so the average always spans it.
  while (history_.size() > 2 && history_[1].t <= time_s_ - spec_.power_average_window_s) {
    history_.pop_front();
  }
}

void SimulatedGpu::advance(double seconds, double busy_fraction) {
  require_in_range("seconds", seconds, 0.0, 1e6);
  require_in_range("busy_fraction", busy_fraction, 0.0, 1.0);
  double left = seconds;
  while (left > 1e-12) {
    const double dt = std::min(spec_.step_s, left);
    step(dt, busy_fraction);
    left -= dt;
  }
}

double SimulatedGpu::work(double units) {
  require_in_range("units", units, 0.0, 1e6);
  const double start = time_s_;
  const double target = work_done_ + units;
  while (work_done_ < target - 1e-12) {
    const double speed = busy_demand().speed;
    const double dt = std::min(spec_.step_s, (target - work_done_) / speed);
    step(dt, 1.0);
  }
  return time_s_ - start;
}

double SimulatedGpu::steady_power(double duty) const {
  const double idle = spec_.idle_power_w;
  const double busy =
      std::min(idle + load_ * (spec_.full_load_power_w - idle), spec_.power_limit_w);
  return idle + duty * (busy - idle);
}

double SimulatedGpu::steady_temperature(double duty) const {
  return spec_.ambient_c + steady_power(duty) * spec_.thermal_resistance_c_per_w;
}

ThermalLimits SimulatedGpu::limits() {
  ThermalLimits l;
  l.name = spec_.name;
  l.pci_bus_id = "00000000:00:00.0";
  l.slowdown_c = spec_.slowdown_c;
  l.shutdown_c = spec_.shutdown_c;
  l.enforced_power_limit_w = spec_.power_limit_w;
  return l;
}

ThermalReading SimulatedGpu::read() {
  ThermalReading r;
  r.time_s = time_s_;
  r.temperature_c = spec_.integer_temperature ? std::floor(temperature_c_) : temperature_c_;
  const Sample& oldest = history_.front();
  const double span = time_s_ - oldest.t;
  r.power_w = span > 0.0 ? (energy_j_ - oldest.energy_j) / span : last_power_w_;
  r.utilization = span > 0.0 ? (busy_time_s_ - oldest.busy_s) / span : last_busy_;
  r.power_limit_w = spec_.power_limit_w;
  r.energy_j = std::floor(energy_j_ * 1000.0) / 1000.0;  // a millijoule counter
  r.clock_event_reasons = last_reasons_;
  r.sm_clock_mhz = 1800.0 * busy_demand().speed;
  return r;
}

}  // namespace ltx2eff
