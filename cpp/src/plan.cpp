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

// A windowed call where only `share` of the heads window (the rest attend densely): the
// attention core blends between the two; share < 0 means every head.
CallCost with_head_share(CallCost windowed, const CallCost& dense, double share) {
  if (share < 0.0 || share >= 1.0) return windowed;
  const PartCost w = windowed.self_attention_core;
  const PartCost& d = dense.self_attention_core;
  windowed.self_attention_core = {w.flops * share + d.flops * (1.0 - share),
                                  w.bytes * share + d.bytes * (1.0 - share)};
  windowed.windowed_core_share =
      windowed.self_attention_core.flops > 0
          ? windowed.windowed_core_share * w.flops * share / windowed.self_attention_core.flops
          : 0.0;
  return windowed;
}

// The four calls a schedule can make: (all frames | keyframes) x (dense | windowed).
struct CallVariants {
  CallCost call[2][2];
  double seconds[2][2] = {};
};

CallVariants call_variants(const GenerationPlan& p, const ModelDims& dims,
                           const DeviceProfile& device) {
  CallVariants v;
  const int budget = p.knobs.activation_budget_mb;
  const int batch = p.sampling.batch;
  const auto global = p.sampling.global_tokens;
  for (int key = 0; key < 2; ++key) {
    const LatentShape grid = key ? p.keyframe_latent : p.latent;
    const WindowPlan dense(grid, global, WindowSpec{});
    const WindowPlan window(grid, global, p.knobs.attention);
    v.call[key][0] = model_call_cost(dims, dense, batch, budget);
    v.call[key][1] =
        with_head_share(blended_call_cost(dims, window, dense, p.knobs.dense_first_blocks,
                                          p.knobs.dense_last_blocks, batch, budget),
                        v.call[key][0], p.sampling.windowed_head_share);
    for (int w = 0; w < 2; ++w) {
      v.seconds[key][w] = predict_call_seconds(v.call[key][w], dims, device, w == 1);
    }
  }
  return v;
}

// Places a measured reuse count on the steps: the forecast's slots first, then the latest other
// steps that may reuse (never the first or last step, nor a step where the length changes).
std::vector<bool> place_reuse(std::vector<bool> forecast, int count,
                              const std::vector<int>& must_compute) {
  const int steps = static_cast<int>(forecast.size());
  std::vector<bool> out(forecast.size(), false);
  int left = count;
  for (int i = 0; i < steps && left > 0; ++i) {
    if (forecast[static_cast<std::size_t>(i)]) {
      out[static_cast<std::size_t>(i)] = true;
      --left;
    }
  }
  for (int i = steps - 2; i >= 1 && left > 0; --i) {
    const bool fixed = std::find(must_compute.begin(), must_compute.end(), i) != must_compute.end();
    if (!out[static_cast<std::size_t>(i)] && !fixed) {
      out[static_cast<std::size_t>(i)] = true;
      --left;
    }
  }
  return out;
}

void cost_main_phase(GenerationPlan& p, const CallVariants& v) {
  const int steps = p.sampling.steps;
  std::vector<int> must_compute;
  if (p.schedule.keyframed()) {
    must_compute.push_back(p.schedule.keyframe_begin);
    if (p.schedule.keyframe_end < steps) must_compute.push_back(p.schedule.keyframe_end);
  }
  const std::vector<bool> forecast =
      reuse_forecast(steps, p.knobs.reuse_start, p.knobs.max_consecutive_reuse, must_compute);
  p.max_reused_steps = static_cast<int>(std::count(forecast.begin(), forecast.end(), true));
  const std::vector<bool> reused =
      p.sampling.reused_steps >= 0 ? place_reuse(forecast, p.sampling.reused_steps, must_compute)
                                   : forecast;
  p.reused_steps = static_cast<int>(std::count(reused.begin(), reused.end(), true));

  PhaseCost& main = p.keyframe_phase;
  main = PhaseCost{};
  main.steps = steps;
  double cheapest = -1;
  p.step_costs.assign(static_cast<std::size_t>(steps), StepCost{});
  for (int i = 0; i < steps; ++i) {
    const StepPlan& plan = p.schedule.at(i);
    StepCost& c = p.step_costs[static_cast<std::size_t>(i)];
    c.keyframes = plan.keyframes;
    c.windowed = plan.window;
    c.reused = reused[static_cast<std::size_t>(i)];
    const int key = plan.keyframes ? 1 : 0;
    const int w = plan.window ? 1 : 0;
    const CallCost& call = v.call[key][w];
    if (cheapest < 0 || v.seconds[key][w] < cheapest) {
      cheapest = v.seconds[key][w];
      main.call = call;
    }
    p.peak_activation = std::max(p.peak_activation, call.peak_activation_bytes);
    if (c.reused) continue;
    c.calls = p.sampling.calls_per_step;
    c.flops = call.total_flops() * c.calls;
    c.seconds = v.seconds[key][w] * c.calls;
    main.computed_steps += 1;
    main.calls += c.calls;
    main.flops += c.flops;
    main.seconds += c.seconds;
  }
}

}  // namespace

int max_reusable_steps(int steps, double reuse_start, int max_consecutive_reuse) {
  check_sampling("steps", steps);
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

std::vector<bool> reuse_forecast(int steps, double reuse_start, int max_consecutive_reuse,
                                 const std::vector<int>& must_compute) {
  check_sampling("steps", steps);
  check_knob("reuse_start", reuse_start);
  check_knob("max_consecutive_reuse", max_consecutive_reuse);
  std::vector<bool> out(static_cast<std::size_t>(steps), false);
  if (reuse_start >= 1.0 || max_consecutive_reuse == 0) return out;
  const int first =
      static_cast<int>(std::ceil(std::max(reuse_start, kMinComputedStartShare) * steps));
  int run = 0;
  // Steps [first, steps - 1) are eligible; the last step is always computed, and a reuse needs
  // a computed step of the same length before it.
  for (int i = first; i < steps - 1; ++i) {
    const bool fixed = std::find(must_compute.begin(), must_compute.end(), i) != must_compute.end();
    if (!fixed && run < max_consecutive_reuse) {
      out[static_cast<std::size_t>(i)] = true;
      ++run;
    } else {
      run = 0;
    }
  }
  return out;
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
  if (sampling.windowed_head_share >= 0.0 && knobs.attention.window != kWindowOff) {
    os.precision(0);
    os << "; " << sampling.windowed_head_share * 100.0 << "% of the heads windowed";
  }
  if (sampling.reused_steps >= 0) {
    os << "; " << reused_steps << "/" << sampling.steps << " steps reused";
  } else {
    os << "; up to " << max_reused_steps << "/" << sampling.steps << " steps reused";
  }
  os << "; " << keyframes.diffused_frames() << " of " << latent.frames << " latent frames diffused";
  if (refine_phase.steps > 0) os << ", " << refine_phase.steps << " refine steps";
  os << "; " << schedule.summary(blocks);
  return os.str();
}

void validate_sampling(const SamplingSpec& sampling) {
  check_sampling("steps", sampling.steps);
  check_sampling("calls_per_step", sampling.calls_per_step);
  check_sampling("batch", sampling.batch);
  check_sampling("global_tokens", sampling.global_tokens);
  require_in_range("reused_steps", sampling.reused_steps, -1, sampling.steps - 1);
  // -1 is every head (the forecast); anything else is a measured share.
  if (sampling.windowed_head_share != -1.0) {
    require_in_range("windowed_head_share", sampling.windowed_head_share, 0.0, 1.0);
  }
}

GenerationPlan make_plan(const PixelShape& pixels, const Knobs& knobs, const SamplingSpec& sampling,
                         const ModelDims& dims, const DeviceProfile& device) {
  validate_sampling(sampling);
  validate_knobs(knobs);

  GenerationPlan p;
  p.pixels = pixels;
  p.latent = latent_from_pixels(pixels);
  p.knobs = knobs;
  p.sampling = sampling;
  p.keyframes = make_keyframe_plan(p.latent.frames, knobs.frame_stride, pixels.fps);
  p.keyframe_latent = LatentShape{p.keyframes.diffused_frames(), p.latent.height, p.latent.width};

  p.regime = regime_for(sampling.steps, sampling.calls_per_step);
  p.blocks = dims.blocks;
  p.schedule = make_step_schedule(knobs, sampling.steps);
  if (p.keyframes.is_identity()) {
    // Nothing to stride (one latent frame): every step runs on every frame.
    p.schedule.keyframe_begin = p.schedule.keyframe_end = 0;
    p.schedule.refine_steps = 0;
    p.schedule.refine_windowed = false;
    for (StepPlan& step : p.schedule.per_step) step.keyframes = false;
  }

  const WindowPlan dense_plan(p.latent, sampling.global_tokens, WindowSpec{});
  const WindowPlan key_plan(p.keyframe_latent, sampling.global_tokens, knobs.attention);
  const WindowPlan refine_plan(p.latent, sampling.global_tokens, knobs.attention);
  p.keyframe_pairs = key_plan.pairs();
  p.refine_pairs = refine_plan.pairs();

  p.dense = phase_cost(sampling.steps, sampling.steps, sampling, dims, device, dense_plan, 0);
  const CallVariants variants = call_variants(p, dims, device);
  cost_main_phase(p, variants);
  const int refine = p.schedule.refine_steps;
  const WindowPlan& refine_attention = p.schedule.refine_windowed ? refine_plan : dense_plan;
  p.refine_phase = phase_cost(refine, refine, sampling, dims, device, refine_attention,
                              knobs.activation_budget_mb);
  if (refine > 0) {
    p.refine_phase.call = p.schedule.refine_windowed ? variants.call[0][1] : variants.call[0][0];
    const double per_call = variants.seconds[0][p.schedule.refine_windowed ? 1 : 0];
    p.refine_phase.flops = p.refine_phase.call.total_flops() * p.refine_phase.calls;
    p.refine_phase.seconds = per_call * p.refine_phase.calls;
    p.peak_activation = std::max(p.peak_activation, p.refine_phase.call.peak_activation_bytes);
  }
  return p;
}

}  // namespace ltx2eff
