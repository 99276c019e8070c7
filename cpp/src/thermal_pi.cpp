#include "ltx2eff/thermal_pi.hpp"

#include <algorithm>
#include <cmath>

#include "ltx2eff/error.hpp"

namespace ltx2eff {

void PiGains::validate() const {
  require_in_range("kp", kp, 0.0, 100.0);
  require_in_range("ki", ki, 0.0, 100.0);
  require_in_range("deadband", deadband, 0.0, 100.0);
  require_in_range("release", release, 0.0, 1000.0);
}

PiDutyLoop::PiDutyLoop(const PiGains& gains, double min_duty, double max_duty)
    : gains_(gains), min_duty_(min_duty), max_duty_(max_duty) {
  gains_.validate();
  require_in_range("min_duty", min_duty, 0.0, 1.0);
  require_in_range("max_duty", max_duty, min_duty, 1.0);
  reset();
}

double PiDutyLoop::clamp(double d) const {
  return std::clamp(d, min_duty_, max_duty_);
}

void PiDutyLoop::reset() {
  integral_ = max_duty_;
  duty_ = max_duty_;
  engaged_ = false;
}

double PiDutyLoop::update(double error, double dt) {
  if (!std::isfinite(error) || !(dt >= 0.0)) return duty_;
  if (!engaged_) {
    if (error >= 0.0) return duty_ = max_duty_;  // under the target: nothing to hold yet
    engaged_ = true;
    integral_ = max_duty_;
  }
  // Deadband, shifted so the response stays continuous at its edge.
  const double band = gains_.deadband;
  const double e = std::fabs(error) <= band ? 0.0 : error - std::copysign(band, error);
  const double proportional = gains_.kp * e;
  // One update never moves the integrator by more than half the duty range per unit of error:
  // a slow measurement (one per long work unit) must not turn into a large jump.
  constexpr double kMaxIntegralGainPerUpdate = 0.5;
  const double gain = std::min(gains_.ki * dt, kMaxIntegralGainPerUpdate);
  // Conditional integration: an output already saturated is not pushed further.
  const bool pushing_up = e > 0.0 && duty_ >= max_duty_;
  const bool pushing_down = e < 0.0 && duty_ <= min_duty_;
  if (!pushing_up && !pushing_down) integral_ = clamp(integral_ + gain * e);
  duty_ = clamp(proportional + integral_);
  if (duty_ >= max_duty_ && error > gains_.release) {
    engaged_ = false;  // well under the target at full duty: stop pacing
    integral_ = max_duty_;
  }
  return duty_;
}

void PiDutyLoop::track(double applied_duty) {
  // A small margin above the applied duty, so the loop can take over smoothly.
  constexpr double kMargin = 0.02;
  if (integral_ > applied_duty + kMargin) integral_ = clamp(applied_duty + kMargin);
}

void PiDutyLoop::force(double duty) {
  engaged_ = true;
  integral_ = clamp(duty);
  duty_ = integral_;
}

}  // namespace ltx2eff
