#include "ltx2eff/thermal_governor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <utility>

#include "ltx2eff/error.hpp"

namespace ltx2eff {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// The safety loop holds just under the emergency point so that a loose target (or none that
// covers temperature) settles instead of bouncing in and out of emergency pauses.
constexpr PiGains kSafetyGains{0.08, 0.006, 0.0, 2.0};

// What a GPU can physically report; anything else is a sensor fault (NVML gives 4294967295 for
// some failures), never a value to act on.
constexpr double kMinPlausibleC = -60.0;
constexpr double kMaxPlausibleC = 200.0;
constexpr double kMaxPlausiblePowerW = 20000.0;

bool plausible_temperature(double c) {
  return c >= kMinPlausibleC && c <= kMaxPlausibleC;
}

// A power limit of 0 W (or an impossible one) means the GPU has none to hold against.
std::optional<double> usable_power_limit(std::optional<double> watts) {
  if (watts && *watts > 0.0 && *watts <= kMaxPlausiblePowerW) return watts;
  return std::nullopt;
}

// Why a reading cannot be trusted, or empty.
std::string impossible_reading(const ThermalReading& r) {
  if (r.temperature_c && !plausible_temperature(*r.temperature_c)) {
    return "temperature " + fixed(*r.temperature_c, 0) + " C";
  }
  if (r.power_w && !(*r.power_w >= 0.0 && *r.power_w <= kMaxPlausiblePowerW)) {
    return "power " + fixed(*r.power_w, 1) + " W";
  }
  if (r.energy_j && !(*r.energy_j >= 0.0 && std::isfinite(*r.energy_j))) return "energy counter";
  return {};
}

}  // namespace

void GovernorConfig::validate() const {
  if (target_temperature_c) {
    require_in_range("target_temperature_c", *target_temperature_c, 30.0, 100.0);
  }
  if (target_power_fraction) {
    require_in_range("target_power_fraction", *target_power_fraction, 0.1, 1.0);
  }
  require_in_range("emergency_margin_c", emergency_margin_c, 1.0, 30.0);
  require_in_range("emergency_release_c", emergency_release_c, 0.5, 20.0);
  require_in_range("min_duty", min_duty, 0.01, 1.0);
  require_in_range("sample_interval_s", sample_interval_s, 0.0, 10.0);
  require_in_range("control_interval_s", control_interval_s, 0.01, 60.0);
  require_in_range("power_window_s", power_window_s, 0.05, 60.0);
  require_in_range("max_wait_s", max_wait_s, 0.01, 3600.0);
  require_in_range("min_wait_s", min_wait_s, 0.0, 1.0);
  require_in_range("emergency_pause_s", emergency_pause_s, 0.01, 60.0);
  require_in_range("max_emergency_pause_s", max_emergency_pause_s, 0.0, 86400.0);
  temperature_gains.validate();
  power_gains.validate();
}

std::string GovernorConfig::describe() const {
  std::string s;
  if (target_temperature_c) s = "temperature " + fixed(*target_temperature_c, 0) + " C";
  if (target_power_fraction) {
    if (!s.empty()) s += ", ";
    s += "power " + fixed(100.0 * *target_power_fraction, 0) + "% of the limit";
  }
  return s.empty() ? std::string("watch only") : s;
}

ThermalGovernor::ThermalGovernor(std::shared_ptr<Sensor> sensor, const GovernorConfig& config)
    : sensor_(std::move(sensor)),
      config_(config),
      temperature_loop_(config.temperature_gains, config.min_duty),
      power_loop_(config.power_gains, config.min_duty),
      safety_loop_(kSafetyGains, config.min_duty) {
  config_.validate();
  if (!sensor_) {
    reason_ = "no sensor";
  } else if (!sensor_->available()) {
    reason_ = sensor_->unavailable_reason();
    if (reason_.empty()) reason_ = "the GPU sensor is unavailable";
  } else {
    device_ = sensor_->description();
  }
}

void ThermalGovernor::mark_unavailable(const std::string& why) {
  if (reason_.empty()) reason_ = why;
  state_.duty = 1.0;
  state_.pacing = false;
  state_.emergency = false;
}

void ThermalGovernor::note(const std::string& text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
}

bool ThermalGovernor::governing() const {
  return available() && (temperature_on_ || power_on_ || safety_on_);
}

std::string ThermalGovernor::target_description() const {
  std::string s;
  if (temperature_on_ && state_.temperature_target_c) {
    s = "temperature " + fixed(*state_.temperature_target_c, 0) + " C";
  }
  if (power_on_ && config_.target_power_fraction) {
    if (!s.empty()) s += ", ";
    s += "power " + fixed(100.0 * *config_.target_power_fraction, 0) + "%";
    if (state_.power_limit_w) {
      s += " of " + fixed(*state_.power_limit_w, 0) + " W (" +
           fixed(*config_.target_power_fraction * *state_.power_limit_w, 0) + " W)";
    } else {
      s += " of the power limit";
    }
  }
  if (s.empty()) s = config_.has_target() ? "no holdable target" : "watch only";
  return "thermal guard [" + s + "]";
}

void ThermalGovernor::start(double now) {
  started_ = true;
  sampled_ = false;
  cycle_mode_ = false;
  power_fresh_ = false;
  stats_.start(now);
  notes_.clear();
  temperature_loop_.reset();
  power_loop_.reset();
  safety_loop_.reset();
  energy_.clear();
  temperature_sum_ = 0.0;
  temperature_count_ = 0;
  last_power_w_.reset();
  resume_s_ = now;
  last_control_s_ = now;
  last_power_control_s_ = now;
  last_boundary_s_ = now;
  pending_ = false;
  debt_s_ = 0.0;
  emergency_since_s_ = -1.0;
  emergency_timed_out_ = false;
  state_ = GovernorState{};
  state_.time_s = now;
  temperature_on_ = power_on_ = safety_on_ = false;
  if (!available()) return;
  try {
    limits_ = sensor_->limits();
  } catch (const std::exception& e) {
    mark_unavailable(std::string("cannot read the GPU's limits: ") + e.what());
    return;
  }
  limits_.enforced_power_limit_w = usable_power_limit(limits_.enforced_power_limit_w);
  for (std::optional<double>* t :
       {&limits_.slowdown_c, &limits_.shutdown_c, &limits_.max_operating_c}) {
    if (*t && !(plausible_temperature(**t) && **t > 0.0)) t->reset();
  }
  // The emergency point: the slowdown threshold less the margin (the max operating temperature
  // stands in where the slowdown threshold is not reported).
  const std::optional<double> slowdown =
      limits_.slowdown_c ? limits_.slowdown_c : limits_.max_operating_c;
  if (slowdown) {
    state_.emergency_threshold_c = *slowdown - config_.emergency_margin_c;
    safety_on_ = true;
  } else {
    note("no slowdown threshold reported: no emergency pause");
  }
  if (config_.target_temperature_c) {
    double target = *config_.target_temperature_c;
    if (state_.emergency_threshold_c) {
      const double ceiling = *state_.emergency_threshold_c - config_.emergency_release_c;
      if (target > ceiling) {
        note("temperature target " + fixed(target, 0) + " C lowered to " + fixed(ceiling, 0) +
             " C (" + fixed(config_.emergency_margin_c + config_.emergency_release_c, 0) +
             " C under the slowdown threshold)");
        target = ceiling;
      }
    }
    state_.temperature_target_c = target;
    temperature_on_ = true;
  }
  if (config_.target_power_fraction) {
    if (limits_.enforced_power_limit_w) {
      power_on_ = true;
      state_.power_limit_w = limits_.enforced_power_limit_w;
      state_.power_target_w = *config_.target_power_fraction * *limits_.enforced_power_limit_w;
    } else {
      note("this GPU reports no power limit: power target not held");
    }
  }
  last_boundary_s_ = now - 1e9;  // the first boundary is never rate-limited
  sample(now, true);
  mark_boundary(now);
}

std::optional<double> ThermalGovernor::window_power() const {
  if (energy_.size() >= 2) {
    // The newest sample at or before the window start (or the oldest one kept).
    const EnergySample& to = energy_.back();
    const EnergySample* from = &energy_.front();
    for (const EnergySample& s : energy_) {
      if (s.t <= to.t - config_.power_window_s) from = &s;
    }
    const double span = to.t - from->t;
    // A counter that updates coarsely needs a long enough span to mean anything.
    if (span >= 0.5 * config_.power_window_s && to.energy_j >= from->energy_j) {
      return (to.energy_j - from->energy_j) / span;
    }
  }
  return last_power_w_;
}

void ThermalGovernor::sample(double now, bool force) {
  if (!available()) return;
  if (!force && sampled_ && now - last_sample_s_ < config_.sample_interval_s) return;
  ThermalReading r;
  try {
    r = sensor_->read();
  } catch (const std::exception& e) {
    mark_unavailable(std::string("GPU sensor read failed: ") + e.what());
    return;
  }
  if (const std::string bad = impossible_reading(r); !bad.empty()) {
    mark_unavailable("GPU sensor error: an impossible reading (" + bad + ")");
    return;
  }
  r.power_limit_w = usable_power_limit(r.power_limit_w);
  sampled_ = true;
  last_sample_s_ = now;
  last_energy_j_ = r.energy_j;
  last_reported_power_w_ = r.power_w;
  stats_.add(now, r);
  state_.time_s = now;
  state_.temperature_c = r.temperature_c;
  state_.power_w = r.power_w;
  state_.utilization = r.utilization;
  state_.sm_clock_mhz = r.sm_clock_mhz;
  state_.clock_event_reasons = r.clock_event_reasons;
  if (r.power_limit_w) {
    state_.power_limit_w = r.power_limit_w;
    if (config_.target_power_fraction) {
      state_.power_target_w = *config_.target_power_fraction * *r.power_limit_w;
    }
  }
  if (!cycle_mode_) push_power_sample(now);
  if (r.temperature_c) {
    temperature_sum_ += *r.temperature_c;
    ++temperature_count_;
  }
  check_emergency(now);
}

void ThermalGovernor::push_power_sample(double now) {
  if (last_reported_power_w_) last_power_w_ = last_reported_power_w_;
  if (last_energy_j_) {
    energy_.push_back({now, *last_energy_j_});
    while (energy_.size() > 2 && energy_[1].t <= now - config_.power_window_s) {
      energy_.pop_front();
    }
  }
  power_fresh_ = true;
  state_.measured_power_w = window_power();
}

void ThermalGovernor::mark_boundary(double now) {
  if (!available() || now - last_boundary_s_ < config_.sample_interval_s) return;
  if (!sampled_ || last_sample_s_ != now) sample(now, true);
  if (!available()) return;
  last_boundary_s_ = now;
  push_power_sample(now);
}

void ThermalGovernor::check_emergency(double now) {
  if (!state_.emergency_threshold_c || !state_.temperature_c) return;
  const double t = *state_.temperature_c;
  const double threshold = *state_.emergency_threshold_c;
  if (!state_.emergency && t >= threshold) {
    state_.emergency = true;
    emergency_since_s_ = now;
    emergency_timed_out_ = false;
    stats_.count_emergency_pause();
    debt_s_ = 0.0;  // the pause cools more than any regular wait would have
    // Resume at half the duty that got us here, from every loop that is holding a target.
    const double resume = std::max(config_.min_duty, 0.5 * state_.duty);
    const std::pair<PiDutyLoop*, bool> loops[] = {
        {&temperature_loop_, temperature_on_}, {&power_loop_, power_on_}, {&safety_loop_, true}};
    for (const auto& [loop, on] : loops) {
      if (on) loop->force(std::min(loop->duty(), resume));
    }
    state_.duty = resume;
  } else if (state_.emergency && t <= threshold - config_.emergency_release_c) {
    state_.emergency = false;
    emergency_since_s_ = -1.0;
  }
}

void ThermalGovernor::control(double now) {
  // Temperature loops: on the mean of the readings since their last update.
  if (const double dt = now - last_control_s_; dt >= config_.control_interval_s) {
    last_control_s_ = now;
    if (temperature_count_ > 0) {
      const double temperature = temperature_sum_ / temperature_count_;
      temperature_sum_ = 0.0;
      temperature_count_ = 0;
      if (temperature_on_ && state_.temperature_target_c) {
        temperature_loop_.update(*state_.temperature_target_c - temperature, dt);
      }
      if (safety_on_ && state_.emergency_threshold_c) {
        const double hold = *state_.emergency_threshold_c - config_.emergency_release_c;
        safety_loop_.update(hold - temperature, dt);
      }
    }
  }
  // Power loop: once per new measurement (a measurement covers whole work/wait cycles, which
  // may be long; integrating one stale error many times would overshoot).
  if (const double dt = now - last_power_control_s_;
      power_on_ && power_fresh_ && dt >= config_.control_interval_s) {
    last_power_control_s_ = now;
    power_fresh_ = false;
    if (state_.measured_power_w && state_.power_target_w && state_.power_limit_w) {
      const double error =
          (*state_.power_target_w - *state_.measured_power_w) / *state_.power_limit_w;
      power_loop_.update(error, dt);
    }
  }
  double duty = 1.0;
  std::string limiting;
  const std::pair<const PiDutyLoop*, const char*> loops[] = {
      {&temperature_loop_, "temperature"}, {&power_loop_, "power"}, {&safety_loop_, "safety"}};
  for (const auto& [loop, name] : loops) {
    if (loop->engaged() && loop->duty() <= duty) {
      duty = loop->duty();
      limiting = name;
    }
  }
  // Loops that are not in control must not wind up while another one holds the duty down.
  for (PiDutyLoop* loop : {&temperature_loop_, &power_loop_, &safety_loop_}) loop->track(duty);
  state_.duty = duty;
  state_.pacing = !limiting.empty();
  state_.limiting = limiting;
}

const GovernorState& ThermalGovernor::update(double now) {
  if (!started_) start(now);
  if (!available()) return state_;
  sample(now, false);
  if (!available()) return state_;
  control(now);
  if (state_.emergency && emergency_since_s_ >= 0.0 &&
      now - emergency_since_s_ > config_.max_emergency_pause_s && !emergency_timed_out_) {
    emergency_timed_out_ = true;
    note("the GPU stayed within the emergency margin for over " +
         fixed(config_.max_emergency_pause_s, 0) + " s of pausing: resumed at minimum duty");
  }
  return state_;
}

void ThermalGovernor::settle_pending(double now) {
  if (!pending_) return;
  // The caller did not say when its wait ended: assume it waited as asked (or until now).
  const double end = std::min(pending_at_s_ + pending_wait_s_, now);
  resumed(std::max(end, pending_at_s_));
}

PaceDecision ThermalGovernor::decide(double now, double work_s) {
  PaceDecision d;
  d.work_s = work_s;
  update(now);
  if (!governing()) return d;
  d.duty = state_.duty;
  if (state_.emergency && !emergency_timed_out_) {
    d.emergency = true;
    d.wait_s = config_.emergency_pause_s;
  } else {
    if (d.duty < 1.0)
      debt_s_ += work_s * (1.0 - d.duty) / d.duty;
    else
      debt_s_ = 0.0;
    if (debt_s_ >= config_.min_wait_s) {
      d.wait_s = std::min(debt_s_, config_.max_wait_s);
      debt_s_ = 0.0;  // what exceeds the longest wait is dropped, not carried for ever
    }
  }
  // A cycle ends where a wait begins (or at every unit when not pacing): power is measured
  // between such points, so that each window holds whole cycles of work and wait.
  if (d.wait_s > 0.0 || d.duty >= 1.0) {
    mark_boundary(now);
    control(now);
  }
  if (d.wait_s > 0.0) {
    pending_ = true;
    pending_at_s_ = now;
    pending_wait_s_ = d.wait_s;
    pending_emergency_ = d.emergency;
  } else {
    resume_s_ = now;
  }
  return d;
}

PaceDecision ThermalGovernor::pace(double now) {
  if (!started_) start(now);
  settle_pending(now);
  const double work = std::max(0.0, now - resume_s_);
  stats_.count_work_unit();
  cycle_mode_ = true;
  return decide(now, work);
}

PaceDecision ThermalGovernor::recheck(double now) {
  if (!started_) start(now);
  settle_pending(now);
  return decide(now, 0.0);
}

void ThermalGovernor::resumed(double now) {
  if (!pending_) return;
  pending_ = false;
  stats_.add_paced(std::max(0.0, now - pending_at_s_), pending_emergency_);
  resume_s_ = now;
  update(now);
}

void ThermalGovernor::record_pause(double seconds, bool emergency) {
  stats_.add_paced(seconds, emergency);
}

ThermalReport ThermalGovernor::report(double now) {
  ThermalReport r;
  if (!started_) start(now);
  if (available()) sample(now, true);
  r.device = device_;
  r.notes = notes_;
  r.available = available();
  r.unavailable_reason = reason_;
  r.target = target_description();
  stats_.fill(now, r);
  return r;
}

}  // namespace ltx2eff
