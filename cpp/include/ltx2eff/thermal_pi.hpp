// The duty-cycle loop of the thermal governor: a PI controller whose output is the share of time
// the GPU may work, with
//  - a deadband: errors smaller than it count as zero, so whole-degree sensor steps and power
//    noise do not make the duty jitter once the target is held;
//  - anti-windup: the integrator stops where the output saturates and never leaves the output
//    range, and track() keeps a loop that is not in control (another target is tighter) from
//    winding up while it waits;
//  - engage/release hysteresis: pacing starts only when the measurement passes the target and
//    stops only when the loop sits at full duty with the measurement a whole release band below
//    the target, so a GPU hovering near the target does not toggle pacing on and off.
#pragma once

namespace ltx2eff {

struct PiGains {
  double kp = 0.0;        // duty per unit of error
  double ki = 0.0;        // duty per unit of error and second
  double deadband = 0.0;  // |error| below this is treated as zero (the rest is shifted by it)
  double release = 0.0;   // error above which a loop at full duty stops pacing
  void validate() const;
};

class PiDutyLoop {
 public:
  PiDutyLoop(const PiGains& gains, double min_duty, double max_duty = 1.0);

  // `error` > 0 means room to spare (measurement below the target). `dt` is the time since the
  // last update. Returns the new duty in [min_duty, max_duty].
  double update(double error, double dt);
  // Another loop chose a lower duty: keep this one's integrator close to what is applied.
  void track(double applied_duty);
  // Cut the duty now (an emergency pause): the loop restarts from `duty`, engaged.
  void force(double duty);
  void reset();

  [[nodiscard]] double duty() const { return duty_; }
  [[nodiscard]] bool engaged() const { return engaged_; }
  [[nodiscard]] const PiGains& gains() const { return gains_; }

 private:
  [[nodiscard]] double clamp(double d) const;

  PiGains gains_;
  double min_duty_;
  double max_duty_;
  double integral_;  // the integrator's share of the output (already in duty units)
  double duty_;
  bool engaged_ = false;
};

}  // namespace ltx2eff
