#include "ltx2eff/plan.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

PhaseCost phase_cost(int steps, int computed, const SamplingSpec& s, const ModelDims& dims,
                     const DeviceProfile& device, const WindowPlan& plan, int budget_mb) {
  PhaseCost phase;
  phase.steps = steps;
  phase.computed_steps = computed;
  phase.calls = computed * s.calls_per_step;
  // Guidance runs the conditional and unconditional passes as one batch in ComfyUI.
  phase.call = model_call_cost(dims, plan, s.batch, budget_mb);
  phase.flops = phase.call.total_flops() * phase.calls;
  phase.seconds = predict_call_seconds(phase.call, dims, device, !plan.is_dense()) * phase.calls;
  return phase;
}

}  // namespace

int max_reusable_steps(int steps, double reuse_start, int max_consecutive_reuse) {
  require_in_range("steps", steps, 1, 10000);
  check_knob("reuse_start", reuse_start);
  check_knob("max_consecutive_reuse", max_consecutive_reuse);
  if (reuse_start >= 1.0 || max_consecutive_reuse == 0) return 0;
  const double start_share = std::max(reuse_start, kMinComputedStartShare);
  const int first = static_cast<int>(std::ceil(start_share * steps));
  // Steps [first, steps - 1) are eligible; the last step is always computed. A reuse needs a
  // computed step before it, so runs of `max` reuses alternate with one computed step.
  const int eligible = std::max(0, steps - 1 - first);
  const int period = max_consecutive_reuse + 1;
  return eligible / period * max_consecutive_reuse +
         std::min(eligible % period, max_consecutive_reuse);
}

double GenerationPlan::predicted_speedup() const {
  const double s = plan_seconds();
  return s > 0 ? dense.seconds / s : 1.0;
}

double GenerationPlan::flops_ratio() const {
  const double f = plan_flops();
  return f > 0 ? dense.flops / f : 1.0;
}

double GenerationPlan::peak_activation_bytes() const {
  return std::max(keyframe_phase.call.peak_activation_bytes,
                  refine_phase.calls > 0 ? refine_phase.call.peak_activation_bytes : 0.0);
}

std::string GenerationPlan::summary() const {
  std::ostringstream os;
  if (knobs.attention.window == kWindowOff) {
    os << "dense attention";
  } else {
    os << "window K=" << knobs.attention.window;
    if (knobs.attention.anchor_frame) os << " +anchor";
    if (knobs.attention.far_field > 0) os << " +far field p=" << knobs.attention.far_field;
  }
  os << " (pair fraction " << std::fixed;
  os.precision(3);
  os << keyframe_pairs.total_fraction() << ")";
  if (sampling.reused_steps >= 0) {
    os << "; " << reused_steps << "/" << sampling.steps << " steps reused";
  } else {
    os << "; up to " << max_reused_steps << "/" << sampling.steps << " steps reused";
  }
  os << "; " << keyframes.diffused_frames() << " of " << latent.frames << " latent frames diffused";
  if (refine_phase.steps > 0) os << ", " << refine_phase.steps << " refine steps";
  return os.str();
}

GenerationPlan make_plan(const PixelShape& pixels, const Knobs& knobs, const SamplingSpec& sampling,
                         const ModelDims& dims, const DeviceProfile& device) {
  require_in_range("steps", sampling.steps, 1, 10000);
  require_in_range("calls_per_step", sampling.calls_per_step, 1, 8);
  require_in_range("batch", sampling.batch, 1, 4096);
  require_in_range("global_tokens", sampling.global_tokens, 0, 1 << 20);
  require_in_range("reused_steps", sampling.reused_steps, -1, sampling.steps - 1);
  validate_knobs(knobs);

  GenerationPlan p;
  p.pixels = pixels;
  p.latent = latent_from_pixels(pixels);
  p.knobs = knobs;
  p.sampling = sampling;
  p.keyframes = make_keyframe_plan(p.latent.frames, knobs.frame_stride, pixels.fps);
  p.keyframe_latent = LatentShape{p.keyframes.diffused_frames(), p.latent.height, p.latent.width};

  const WindowPlan dense_plan(p.latent, sampling.global_tokens, WindowSpec{});
  const WindowPlan key_plan(p.keyframe_latent, sampling.global_tokens, knobs.attention);
  const WindowPlan refine_plan(p.latent, sampling.global_tokens, knobs.attention);
  p.keyframe_pairs = key_plan.pairs();
  p.refine_pairs = refine_plan.pairs();

  p.max_reused_steps =
      max_reusable_steps(sampling.steps, knobs.reuse_start, knobs.max_consecutive_reuse);
  p.dense = phase_cost(sampling.steps, sampling.steps, sampling, dims, device, dense_plan, 0);
  p.reused_steps = sampling.reused_steps >= 0 ? sampling.reused_steps : p.max_reused_steps;
  p.keyframe_phase = phase_cost(sampling.steps, sampling.steps - p.reused_steps, sampling, dims,
                                device, key_plan, knobs.activation_budget_mb);
  const int refine = p.keyframes.is_identity() ? 0 : knobs.refine_steps;
  p.refine_phase =
      phase_cost(refine, refine, sampling, dims, device, refine_plan, knobs.activation_budget_mb);
  return p;
}

}  // namespace ltx2eff
