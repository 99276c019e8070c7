// `ltx2eff plan`: what a preset and knobs do to one LTX-2 request, and what it should cost.
#include <iostream>
#include <limits>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/plan_report.hpp"

namespace ltx2eff::cli {
namespace {

constexpr const char* kHelp = R"(usage: ltx2eff plan [options]

Shows what the efficient sampler would do for one LTX-2 request and what it should cost
against the dense baseline (latent grid, tokens, frames diffused, attention window and pair
fraction, FLOPs, predicted speedup, activation memory).

request:
  --width N             pixel width, multiple of 32 (default 1280)
  --height N            pixel height, multiple of 32 (default 704)
  --frames N            pixel frames, 8k+1 (default 121)
  --fps X               frame rate (default 24)
  --steps N             denoising steps (default 30)
  --calls-per-step N    model calls per step: 1 distilled, 2 CFG, 3 CFG+STG (default 2)
  --batch N             videos per call (default 1)
  --global-tokens N     appended conditioning tokens (default 0)
  --text-tokens N       prompt tokens seen by cross-attention (default 1024)

knobs (a preset first, then any override):
  --preset NAME         off | quality | balanced | fast | laptop (default balanced)
  --stride S            latent-frame stride of keyframe diffusion (1 = off)
  --window K            temporal attention window in latent frames (-1 = dense)
  --anchor/--no-anchor  frame 0 visible to every frame
  --far-field P         pooled far field factor (0 = off)
  --reuse-start X       share of steps always computed before reuse may start (1 = off)
  --reuse-threshold X   accumulated change allowed before recomputing
  --max-reuse N         reused steps in a row at most
  --refine-steps N      full-length refine steps after interpolation
  --refine-strength X   sigma the interpolated latent is re-noised to
  --interpolation NAME  lerp | slerp | motion | upsampler
  --precision NAME      auto | bf16 | fp16 | fp32 | fp8-far-field
  --budget-mb N         activation memory budget in MiB (0 = unbounded)

output:
  --json                machine-readable JSON instead of the table
  --help                this text
)";

}  // namespace

int run_plan(const std::vector<std::string>& argv) {
  const Args args(argv, {"width",        "height",          "frames",          "fps",
                         "steps",        "calls-per-step",  "batch",           "global-tokens",
                         "text-tokens",  "preset",          "stride",          "window",
                         "far-field",    "reuse-start",     "reuse-threshold", "max-reuse",
                         "refine-steps", "refine-strength", "interpolation",   "precision",
                         "budget-mb"},
                  {"json", "help", "anchor"});
  if (args.flag("help").value_or(false)) {
    std::cout << kHelp;
    return 0;
  }
  auto as_int = [&](const char* name, long long fallback) {
    // The int range here; each value's own range is checked where the plan is made.
    return static_cast<int>(
        args.integer(name, std::numeric_limits<int>::min(), std::numeric_limits<int>::max())
            .value_or(fallback));
  };

  PixelShape pixels{as_int("width", 1280), as_int("height", 704), as_int("frames", 121),
                    args.number("fps").value_or(24.0)};
  const std::string preset = args.str("preset").value_or("balanced");
  Knobs knobs = resolve_preset(preset);
  if (args.has("stride")) knobs.frame_stride = as_int("stride", 1);
  if (args.has("window")) knobs.attention.window = as_int("window", -1);
  if (auto a = args.flag("anchor")) knobs.attention.anchor_frame = *a;
  if (args.has("far-field")) knobs.attention.far_field = as_int("far-field", 0);
  if (auto v = args.number("reuse-start")) knobs.reuse_start = *v;
  if (auto v = args.number("reuse-threshold")) knobs.reuse_threshold = *v;
  if (args.has("max-reuse")) knobs.max_consecutive_reuse = as_int("max-reuse", 0);
  if (args.has("refine-steps")) knobs.refine_steps = as_int("refine-steps", 0);
  if (auto v = args.number("refine-strength")) knobs.refine_strength = *v;
  if (auto v = args.str("interpolation")) knobs.interpolation = parse_interpolation(*v);
  if (auto v = args.str("precision")) knobs.precision = parse_precision(*v);
  if (args.has("budget-mb")) knobs.activation_budget_mb = as_int("budget-mb", 0);

  SamplingSpec sampling;
  sampling.steps = as_int("steps", 30);
  sampling.calls_per_step = as_int("calls-per-step", 2);
  sampling.batch = as_int("batch", 1);
  sampling.global_tokens = as_int("global-tokens", 0);
  ModelDims dims;
  dims.text_tokens = as_int("text-tokens", dims.text_tokens);

  const GenerationPlan plan = make_plan(pixels, knobs, sampling, dims);
  if (args.flag("json").value_or(false)) {
    std::cout << plan_to_json(plan, preset) << "\n";
  } else {
    std::cout << plan_to_text(plan, preset);
  }
  return 0;
}

}  // namespace ltx2eff::cli
