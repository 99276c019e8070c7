// A generation plan: what the sampler will do for a pixel request and a set of knobs, and what
// the cost model says it will cost compared with the dense baseline. Shared by the CLI, the
// ComfyUI nodes, the frontend estimate and the auto-tuner.
#pragma once

#include <string>
#include <vector>

#include "ltx2eff/cost_model.hpp"
#include "ltx2eff/geometry.hpp"
#include "ltx2eff/keyframe_plan.hpp"
#include "ltx2eff/presets.hpp"
#include "ltx2eff/sampling_limits.hpp"
#include "ltx2eff/step_schedule.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

// Each field's range is its row of kSamplingLimits (sampling_limits.hpp).
struct SamplingSpec {
  int steps = 30;
  int calls_per_step = 2;  // 1 = no guidance (distilled), 2 = CFG, 3 = CFG + STG
  int batch = 1;
  int global_tokens = 0;  // appended conditioning tokens
  // Steps whose model calls are reused: -1 = the reuse policy's upper bound (a forecast);
  // >= 0 = exactly this many (a run's measured count, to check the model against it).
  int reused_steps = -1;
  // Share of the heads that window on windowed calls (head-wise windows): -1 = every head (the
  // forecast's bound), else a run's measured share.
  double windowed_head_share = -1.0;
};

struct PhaseCost {
  int steps = 0;           // denoising steps in the phase
  int computed_steps = 0;  // steps whose model call runs (the rest are reused)
  int calls = 0;           // model calls = computed_steps * calls_per_step
  CallCost call;           // one call
  double flops = 0;        // all calls
  double seconds = 0;      // predicted on the profile
};

// One denoising step of the main phase as the cost model sees it.
struct StepCost {
  bool keyframes = false;  // on the keyframes only
  bool windowed = false;   // window attention on the windowed blocks
  bool reused = false;     // its model calls are reused (forecast, or a measured count placed)
  int calls = 0;           // model calls that run (0 when reused)
  double flops = 0;
  double seconds = 0;
};

struct GenerationPlan {
  PixelShape pixels;
  LatentShape latent;           // full-length latent grid
  LatentShape keyframe_latent;  // the grid diffused in the keyframe phase
  Knobs knobs;
  SamplingSpec sampling;
  KeyframePlan keyframes;
  PairCounts keyframe_pairs;     // attention pairs per call in the keyframe phase
  PairCounts refine_pairs;       // attention pairs per call in the refine phase
  int max_reused_steps = 0;      // upper bound the reuse policy allows
  int reused_steps = 0;          // what the costs below assume (the bound, or SamplingSpec's count)
  Regime regime = Regime::kDev;  // what the step count and guidance make of the request
  StepSchedule schedule;         // per step: window, keyframes; dense blocks
  int blocks = 0;                // transformer blocks of the model
  std::vector<StepCost> step_costs;  // the main phase, step by step
  PhaseCost dense;                   // the baseline run
  PhaseCost keyframe_phase;    // the main phase: every step of the schedule (sum of step_costs;
                               // `call` is its cheapest call)
  PhaseCost refine_phase;      // refine mode's full-length steps after interpolation
  double peak_activation = 0;  // the largest call's peak activation

  [[nodiscard]] double plan_flops() const { return keyframe_phase.flops + refine_phase.flops; }
  [[nodiscard]] double plan_seconds() const {
    return keyframe_phase.seconds + refine_phase.seconds;
  }
  [[nodiscard]] double predicted_speedup() const;
  [[nodiscard]] double flops_ratio() const;
  [[nodiscard]] double peak_activation_bytes() const { return peak_activation; }
  // One line: "window K=2 on 48 blocks; up to 9/30 steps reused; 5 of 16 latent frames diffused".
  [[nodiscard]] std::string summary() const;
};

// Reuse upper bound: steps after max(reuse_start, 15%) and before the last step, with at most
// `max_consecutive_reuse` reused steps in a row.
int max_reusable_steps(int steps, double reuse_start, int max_consecutive_reuse);

// Which steps the reuse bound reuses: the same rule, and the steps in `must_compute` (where the
// latent changes length, so no earlier output fits) always computed.
std::vector<bool> reuse_forecast(int steps, double reuse_start, int max_consecutive_reuse,
                                 const std::vector<int>& must_compute = {});

// Every field against kSamplingLimits; reused_steps in [-1, steps - 1].
void validate_sampling(const SamplingSpec& sampling);

GenerationPlan make_plan(const PixelShape& pixels, const Knobs& knobs,
                         const SamplingSpec& sampling = {}, const ModelDims& dims = {},
                         const DeviceProfile& device = {});

}  // namespace ltx2eff
