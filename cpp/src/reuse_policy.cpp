#include "ltx2eff/reuse_policy.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ltx2eff/error.hpp"
#include "ltx2eff/presets.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {

ReusePolicy::ReusePolicy(const ReusePolicyConfig& config) : config_(config) {
  check_sampling("steps", config.steps);
  check_knob("reuse_start", config.reuse_start);
  check_knob("reuse_threshold", config.threshold);
  check_knob("max_consecutive_reuse", config.max_consecutive_reuse);
  const double share = std::max(config.reuse_start, kMinComputedStartShare);
  first_reusable_ = static_cast<int>(std::ceil(share * config.steps));
}

bool ReusePolicy::enabled() const {
  return config_.reuse_start < 1.0 && config_.max_consecutive_reuse > 0 && config_.threshold > 0.0;
}

ReuseDecision ReusePolicy::decide(int step, double input_change) {
  if (step <= last_step_ || step >= config_.steps) {
    std::ostringstream os;
    os << "must be in [" << last_step_ + 1 << ", " << config_.steps - 1
       << "] (steps are decided once each, in order), got " << step;
    fail("step", os.str());
  }
  last_step_ = step;
  last_reused_ = false;

  ReuseDecision d;
  auto compute = [&](ReuseReason reason) {
    d.reuse = false;
    d.reason = reason;
    accumulated_ = 0.0;
    consecutive_ = 0;
    ++stats_.computed;
    ++stats_.by_reason[static_cast<std::size_t>(reason)];
    return d;
  };

  if (!enabled()) return compute(ReuseReason::kDisabled);
  if (step < first_reusable_) return compute(ReuseReason::kWarmup);
  if (step == config_.steps - 1) return compute(ReuseReason::kLastStep);
  if (!(input_change >= 0.0) || !std::isfinite(input_change)) {
    std::ostringstream os;
    os << "must be a finite value >= 0, got " << input_change;
    fail("input_change", os.str());
  }
  if (rate_ < 0.0) return compute(ReuseReason::kNotCalibrated);
  if (consecutive_ >= config_.max_consecutive_reuse) return compute(ReuseReason::kConsecutiveCap);

  d.predicted_change = rate_ * input_change;
  d.accumulated = accumulated_ + d.predicted_change;
  if (!(d.accumulated < config_.threshold)) {
    const double predicted = d.predicted_change;
    const double accumulated = d.accumulated;
    compute(ReuseReason::kThreshold);
    d.predicted_change = predicted;
    d.accumulated = accumulated;
    return d;
  }
  accumulated_ = d.accumulated;
  ++consecutive_;
  last_reused_ = true;
  longest_before_ = stats_.longest_reuse_run;
  d.reuse = true;
  d.reason = ReuseReason::kReused;
  ++stats_.reused;
  ++stats_.by_reason[static_cast<std::size_t>(ReuseReason::kReused)];
  stats_.longest_reuse_run = std::max(stats_.longest_reuse_run, consecutive_);
  return d;
}

void ReusePolicy::record_computed(double input_change_since_computed,
                                  double output_change_since_computed) {
  if (!(input_change_since_computed >= 0.0) || !std::isfinite(input_change_since_computed)) {
    std::ostringstream os;
    os << "must be a finite value >= 0, got " << input_change_since_computed;
    fail("input_change", os.str());
  }
  if (!(output_change_since_computed >= 0.0) || !std::isfinite(output_change_since_computed)) {
    std::ostringstream os;
    os << "must be a finite value >= 0, got " << output_change_since_computed;
    fail("output_change", os.str());
  }
  // Identical inputs say nothing about the rate (e.g. a repeated first call).
  if (input_change_since_computed <= 0.0) return;
  rate_ = output_change_since_computed / input_change_since_computed;
}

void ReusePolicy::computed_instead() {
  if (!last_reused_) {
    std::ostringstream os;
    os << "only right after a step decided as reused; step " << last_step_ << " was not";
    fail("computed_instead", os.str());
  }
  last_reused_ = false;
  --stats_.reused;
  --stats_.by_reason[static_cast<std::size_t>(ReuseReason::kReused)];
  ++stats_.computed;
  ++stats_.by_reason[static_cast<std::size_t>(ReuseReason::kNoCachedOutput)];
  stats_.longest_reuse_run = longest_before_;
  accumulated_ = 0.0;
  consecutive_ = 0;
}

void ReusePolicy::reset() {
  last_step_ = -1;
  last_reused_ = false;
  longest_before_ = 0;
  consecutive_ = 0;
  accumulated_ = 0.0;
  rate_ = -1.0;
  stats_ = ReuseStats{};
}

std::string to_string(ReuseReason reason) {
  switch (reason) {
    case ReuseReason::kReused:
      return "reused";
    case ReuseReason::kDisabled:
      return "disabled";
    case ReuseReason::kWarmup:
      return "warmup";
    case ReuseReason::kLastStep:
      return "last_step";
    case ReuseReason::kNotCalibrated:
      return "not_calibrated";
    case ReuseReason::kThreshold:
      return "threshold";
    case ReuseReason::kConsecutiveCap:
      return "consecutive_cap";
    case ReuseReason::kNoCachedOutput:
      return "no_cached_output";
  }
  return "unknown";
}

}  // namespace ltx2eff
