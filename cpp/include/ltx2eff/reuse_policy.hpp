// Online, calibration-free step reuse (EasyCache-style), one instance per modality.
//
// After every computed step the host reports how much the model output moved relative to how
// much its input moved since the previous computed step: the transformation rate
//   k = (||o_i - o_j|| / ||o_j||) / (||x_i - x_j|| / ||x_j||).
// On a later step the host reports the relative input change since the previous step; the
// policy predicts the output change as k times it and accumulates the predictions. While the sum
// stays under the threshold the step reuses the last output; once it would reach it, the step
// is computed and the sum restarts. The first max(reuse_start, 15%) of the steps and the last
// step are always computed, and at most `max_consecutive_reuse` steps are reused in a row.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace ltx2eff {

struct ReusePolicyConfig {
  int steps = 0;                  // denoising steps of the run, >= 1
  double reuse_start = 1.0;       // share of steps always computed first; 1 = reuse off
  double threshold = 0.0;         // accumulated predicted relative output change allowed
  int max_consecutive_reuse = 0;  // 0 = reuse off
};

// Why a step was computed or reused; the order is the binding's and the stats array's.
enum class ReuseReason : int {
  kReused = 0,      // accumulated prediction under the threshold
  kDisabled,        // reuse switched off by the configuration
  kWarmup,          // inside the always-computed start of the run
  kLastStep,        // the last step is always computed
  kNotCalibrated,   // no transformation rate measured yet (needs two computed steps)
  kThreshold,       // the accumulated prediction reached the threshold
  kConsecutiveCap,  // max_consecutive_reuse reused steps in a row already
  kNoCachedOutput,  // allowed to reuse, but the host had no cached output that fits
};
inline constexpr int kReuseReasonCount = 8;

struct ReuseDecision {
  bool reuse = false;
  ReuseReason reason = ReuseReason::kDisabled;
  double predicted_change = 0.0;  // k * input_change of this step (0 when not predicted)
  double accumulated = 0.0;       // accumulated prediction including this step
};

struct ReuseStats {
  int computed = 0;
  int reused = 0;
  std::array<int, kReuseReasonCount> by_reason{};  // indexed by ReuseReason
  int longest_reuse_run = 0;
};

class ReusePolicy {
 public:
  // Validates the configuration (InvalidArgument naming the field).
  explicit ReusePolicy(const ReusePolicyConfig& config);

  [[nodiscard]] const ReusePolicyConfig& config() const { return config_; }
  [[nodiscard]] bool enabled() const;
  // First step index at which reuse may happen: ceil(max(reuse_start, 15%) * steps).
  [[nodiscard]] int first_reusable_step() const { return first_reusable_; }

  // Decide step `step`; steps must be decided once each, in increasing order. `input_change`
  // is ||x_step - x_prev|| / ||x_prev|| for the previous step's input (>= 0, finite; ignored
  // outside the reuse window).
  ReuseDecision decide(int step, double input_change);

  // After a computed step: the relative output and input change since the previous computed
  // step. The first computed step has nothing to compare with; call it with zeros or skip it.
  // A non-positive input change leaves the rate unchanged.
  void record_computed(double input_change_since_computed, double output_change_since_computed);

  // The host computed the step just decided as reused (no cached output fits it, e.g. after
  // the host re-batched its calls): counts it as computed for kNoCachedOutput and starts a new
  // run, so the cap and the accumulated prediction follow what ran. Only right after such a
  // decision (InvalidArgument otherwise).
  void computed_instead();

  // The last measured transformation rate k; < 0 until one is known.
  [[nodiscard]] double transformation_rate() const { return rate_; }
  [[nodiscard]] const ReuseStats& stats() const { return stats_; }
  [[nodiscard]] int last_step() const { return last_step_; }
  void reset();

 private:
  ReusePolicyConfig config_;
  int first_reusable_ = 0;
  int last_step_ = -1;
  int consecutive_ = 0;
  bool last_reused_ = false;  // the last decision was a reuse (computed_instead may undo it)
  int longest_before_ = 0;    // longest_reuse_run before that reuse
  double accumulated_ = 0.0;
  double rate_ = -1.0;
  ReuseStats stats_;
};

std::string to_string(ReuseReason reason);

}  // namespace ltx2eff
