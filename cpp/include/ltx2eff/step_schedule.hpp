// Per-step schedule of the techniques that have a step range: for every denoising step, whether
// window attention applies and whether the step runs on every latent frame or on the keyframes
// only, plus which transformer blocks always attend densely. Hosts follow it step by step and
// the cost model sums per-step costs from it.
//
// Step i of N is inside a range [start, end) of fractions when round(start*N) <= i < round(end*N).
// Keyframes run on steps [keyframe_begin, keyframe_end): the host restricts the current latent to
// the keyframes before step keyframe_begin and expands back to every frame before step
// keyframe_end (interpolating the keyframes' denoised estimate and re-noising to that step's
// sigma), or after the last step when keyframe_end == N (refine mode: then refine_steps more
// full-length steps).
#pragma once

#include <string>
#include <vector>

#include "ltx2eff/knobs.hpp"

namespace ltx2eff {

struct StepPlan {
  bool window = false;     // window attention on the windowed blocks at this step
  bool keyframes = false;  // the step runs on the keyframes only
};

struct StepSchedule {
  int steps = 0;
  std::vector<StepPlan> per_step;
  KeyframeMode keyframe_mode = KeyframeMode::kRefine;
  int window_begin = 0;  // windowed steps [window_begin, window_end); empty when the window is off
  int window_end = 0;
  int keyframe_begin = 0;  // keyframe steps [keyframe_begin, keyframe_end); empty at stride 1
  int keyframe_end = 0;
  int refine_steps = 0;          // full-length steps after the last one (refine mode only)
  bool refine_windowed = false;  // the refine steps window too (the window reaches the end)
  int dense_first_blocks = 0;
  int dense_last_blocks = 0;
  double head_recall = 0.0;  // > 0: only heads keeping this share of their mass window

  [[nodiscard]] const StepPlan& at(int step) const {
    return per_step.at(static_cast<std::size_t>(step));
  }
  [[nodiscard]] bool keyframed() const { return keyframe_end > keyframe_begin; }
  [[nodiscard]] bool windowed() const { return window_end > window_begin || refine_windowed; }
  // The step before which the current latent is restricted to the keyframes (-1 = never).
  [[nodiscard]] int restrict_before() const { return keyframed() ? keyframe_begin : -1; }
  // The step before which the keyframes expand back to every frame (-1 = never; steps = after
  // the last step).
  [[nodiscard]] int expand_before() const { return keyframed() ? keyframe_end : -1; }
  [[nodiscard]] int windowed_steps() const { return window_end - window_begin; }
  [[nodiscard]] int keyframe_steps() const { return keyframe_end - keyframe_begin; }
  // Whether block `block` of `blocks` windows (on a windowed step).
  [[nodiscard]] bool block_windowed(int block, int blocks) const;
  [[nodiscard]] int windowed_blocks(int blocks) const;
  // "window on steps 9-29 of 30 (blocks 2-47 of 48); keyframes on steps 6-23 of 30 (bottleneck)".
  [[nodiscard]] std::string summary(int blocks = 0) const;
};

// The step index of fraction `share` of `steps` (round(share * steps)).
int step_at(double share, int steps);

// steps in [1, kMaxSteps] (sampling_limits.hpp); the knobs are validated first.
StepSchedule make_step_schedule(const Knobs& knobs, int steps);

}  // namespace ltx2eff
