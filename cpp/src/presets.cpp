#include "ltx2eff/presets.hpp"

#include <array>
#include <sstream>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

struct Tuned {
  std::string_view description;
  Knobs knobs;
};

struct PresetEntry {
  std::string_view name;
  Tuned dev;
  Tuned distilled;

  [[nodiscard]] const Tuned& in(Regime regime) const {
    return regime == Regime::kDistilled ? distilled : dev;
  }
};

Knobs make_knobs(int stride, int window, bool anchor, int far, double reuse_start, double threshold,
                 int max_reuse, Interpolation interp, int refine, double strength) {
  Knobs k;
  k.frame_stride = stride;
  k.attention = WindowSpec{window, anchor, far};
  k.reuse_start = reuse_start;
  k.reuse_threshold = threshold;
  k.max_consecutive_reuse = max_reuse;
  k.interpolation = interp;
  k.refine_steps = refine;
  k.refine_strength = strength;
  return k;
}

// The single place where presets become numbers (see docs/PRESETS.md for how they were chosen).
const std::array<PresetEntry, 5>& presets() {
  static const std::array<PresetEntry, 5> table = [] {
    Knobs laptop =
        make_knobs(1, kWindowOff, false, 0, 0.3, 0.1, 2, Interpolation::kMotion, 3, 0.35);
    laptop.activation_budget_mb = 2048;
    laptop.thermal_guard = true;
    const Tuned off{"dense baseline: every frame, every step, full attention", Knobs{}};
    const Tuned quality{
        "every frame, full attention, late step reuse (from 50%, never twice in a row)",
        make_knobs(1, kWindowOff, false, 0, 0.5, 0.1, 1, Interpolation::kMotion, 3, 0.35)};
    const Tuned balanced{
        "every frame, full attention, step reuse from 30% (up to 2 in a row)",
        make_knobs(1, kWindowOff, false, 0, 0.3, 0.1, 2, Interpolation::kMotion, 3, 0.35)};
    const Tuned fast{
        "every frame, full attention, step reuse from 20% (up to 2 in a row)",
        make_knobs(1, kWindowOff, false, 0, 0.2, 0.1, 2, Interpolation::kMotion, 2, 0.3)};
    const Tuned laptop_tuned{"balanced, plus bounded activation memory and the thermal guard",
                             laptop};
    return std::array<PresetEntry, 5>{{
        {"off", off, off},
        {"quality", quality, quality},
        {"balanced", balanced, balanced},
        {"fast", fast, fast},
        {"laptop", laptop_tuned, laptop_tuned},
    }};
  }();
  return table;
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

const PresetEntry& find_preset(std::string_view name) {
  for (const PresetEntry& entry : presets()) {
    if (entry.name == name) return entry;
  }
  std::ostringstream os;
  os << "must be one of";
  for (const PresetEntry& entry : presets()) os << " " << entry.name;
  os << ", got '" << name << "'";
  fail("preset", os.str());
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const PresetEntry& entry : presets()) names.emplace_back(entry.name);
  return names;
}

Regime regime_for(int steps, int calls_per_step) {
  require_in_range("steps", steps, 1, 10000);
  require_in_range("calls_per_step", calls_per_step, 1, 8);
  return steps <= kDistilledMaxSteps && calls_per_step == 1 ? Regime::kDistilled : Regime::kDev;
}

std::string to_string(Regime value) {
  return value == Regime::kDistilled ? "distilled" : "dev";
}

Regime parse_regime(std::string_view name) {
  for (Regime v : {Regime::kDev, Regime::kDistilled}) {
    if (to_string(v) == name) return v;
  }
  fail("regime", "must be one of dev distilled, got '" + std::string(name) + "'");
}

Knobs resolve_preset(std::string_view name, Regime regime) {
  return find_preset(name).in(regime).knobs;
}

std::string describe_preset(std::string_view name, Regime regime) {
  return std::string(find_preset(name).in(regime).description);
}

void validate_knobs(const Knobs& knobs) {
  require_in_range("frame_stride", knobs.frame_stride, 1, kMaxFrameStride);
  validate_window_spec(knobs.attention);
  require_in_range("reuse_start", knobs.reuse_start, 0.0, 1.0);
  require_in_range("reuse_threshold", knobs.reuse_threshold, 0.0, 10.0);
  require_in_range("max_consecutive_reuse", knobs.max_consecutive_reuse, 0, kMaxConsecutiveReuse);
  require_in_range("refine_steps", knobs.refine_steps, 0, kMaxRefineSteps);
  require_in_range("refine_strength", knobs.refine_strength, 0.0, 1.0);
  require_in_range("activation_budget_mb", knobs.activation_budget_mb, 0, kMaxActivationBudgetMb);
  require_in_range("window_start", knobs.window_start, 0.0, 1.0);
  require_in_range("window_end", knobs.window_end, 0.0, 1.0);
  if (knobs.window_end < knobs.window_start) {
    fail("window_end", "must be >= window_start (" + number(knobs.window_start) + "), got " +
                           number(knobs.window_end));
  }
  require_in_range("dense_first_blocks", knobs.dense_first_blocks, 0, kMaxDenseBlocks);
  require_in_range("dense_last_blocks", knobs.dense_last_blocks, 0, kMaxDenseBlocks);
  require_in_range("keyframe_start", knobs.keyframe_start, 0.0, 1.0);
  require_in_range("keyframe_end", knobs.keyframe_end, 0.0, 1.0);
  if (knobs.keyframe_end < knobs.keyframe_start) {
    fail("keyframe_end", "must be >= keyframe_start (" + number(knobs.keyframe_start) + "), got " +
                             number(knobs.keyframe_end));
  }
  if (knobs.frame_stride > 1 && knobs.refine_steps > 0 && knobs.refine_strength <= 0.0) {
    fail("refine_strength", "must be in (0, 1] when refine_steps > 0, got 0");
  }
}

std::string to_string(Interpolation value) {
  switch (value) {
    case Interpolation::kLerp:
      return "lerp";
    case Interpolation::kSlerp:
      return "slerp";
    case Interpolation::kMotion:
      return "motion";
    case Interpolation::kUpsampler:
      return "upsampler";
  }
  return "lerp";
}

std::string to_string(Precision value) {
  switch (value) {
    case Precision::kAuto:
      return "auto";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kFp32:
      return "fp32";
    case Precision::kFp8FarField:
      return "fp8-far-field";
  }
  return "auto";
}

std::string to_string(KeyframeMode value) {
  return value == KeyframeMode::kBottleneck ? "bottleneck" : "refine";
}

KeyframeMode parse_keyframe_mode(std::string_view name) {
  for (KeyframeMode v : {KeyframeMode::kRefine, KeyframeMode::kBottleneck}) {
    if (to_string(v) == name) return v;
  }
  fail("keyframe_mode", "must be one of refine bottleneck, got '" + std::string(name) + "'");
}

Interpolation parse_interpolation(std::string_view name) {
  for (Interpolation v : {Interpolation::kLerp, Interpolation::kSlerp, Interpolation::kMotion,
                          Interpolation::kUpsampler}) {
    if (to_string(v) == name) return v;
  }
  fail("interpolation",
       "must be one of lerp slerp motion upsampler, got '" + std::string(name) + "'");
}

Precision parse_precision(std::string_view name) {
  for (Precision v : {Precision::kAuto, Precision::kBf16, Precision::kFp16, Precision::kFp32,
                      Precision::kFp8FarField}) {
    if (to_string(v) == name) return v;
  }
  fail("precision",
       "must be one of auto bf16 fp16 fp32 fp8-far-field, got '" + std::string(name) + "'");
}

}  // namespace ltx2eff
