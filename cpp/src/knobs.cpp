#include "ltx2eff/knobs.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

// Reads and writes one Knobs member as a double (enums as their index), for the table's rows.
template <class T>
double to_number(T v) {
  if constexpr (std::is_enum_v<T>) {
    return static_cast<double>(static_cast<int>(v));
  } else {
    return static_cast<double>(v);
  }
}
template <class T>
void from_number(T& field, double v) {
  if constexpr (std::is_same_v<T, bool>) {
    field = v != 0.0;
  } else if constexpr (std::is_enum_v<T>) {
    field = static_cast<T>(static_cast<int>(v));
  } else {
    field = static_cast<T>(v);
  }
}

// Each row names only the members it sets; the rest keep their defaults on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define LTX2EFF_KNOB_FIELD(member)                           \
  .get = [](const Knobs& k) { return to_number(k.member); }, \
  .set = [](Knobs& k, double v) { from_number(k.member, v); }

// The knob table's data: one row per knob (a long function, but data rather than steps).
std::vector<KnobRow> make_table() {
  return {
      {.name = "frame_stride",
       .type = KnobType::kInt,
       .min = 1,
       .max = kMaxFrameStride,
       .unit = "latent frames",
       .help = "Keyframe diffusion: diffuse every s-th latent frame (8 video frames each) at "
               "fps/s, interpolate the frames between, then refine. 1 = every frame (off).",
       .fallback = 1,
       LTX2EFF_KNOB_FIELD(frame_stride)},
      {.name = "window",
       .type = KnobType::kInt,
       .min = kWindowOff,
       .max = kMaxWindow,
       .unit = "latent frames",
       .help = "Temporal attention window K: video tokens attend to the latent frames within +-K "
               "(plus the anchor frame and the global tokens). -1 = dense attention (off).",
       .fallback = kWindowOff,
       .aliases = {"attention_window"},
       LTX2EFF_KNOB_FIELD(attention.window)},
      {.name = "anchor_frame",
       .type = KnobType::kBool,
       .help = "Keep latent frame 0 visible to every frame in windowed attention.",
       .fallback = false,
       LTX2EFF_KNOB_FIELD(attention.anchor_frame)},
      {.name = "far_field",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxFarFieldPool,
       .unit = "pool factor",
       .help = "Frames outside the window are seen through keys and values average-pooled p x p "
               "(a low-rank far field). 0 = off.",
       .fallback = 0,
       LTX2EFF_KNOB_FIELD(attention.far_field)},
      {.name = "reuse_start",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.01,
       .unit = "share of steps",
       .help = "Share of the steps always computed before step reuse may start (at least 15% "
               "whatever this says). 1 = reuse off.",
       .fallback = 1.0,
       .presets = {{"quality", 0.5}, {"balanced", 0.3}, {"fast", 0.2}, {"laptop", 0.3}},
       .aliases = {"freeze_ratio"},
       LTX2EFF_KNOB_FIELD(reuse_start)},
      {.name = "reuse_threshold",
       .type = KnobType::kFloat,
       .min = 0,
       .max = kMaxReuseThreshold,
       .step = 0.01,
       .unit = "relative change",
       .help = "Accumulated predicted relative change of the model output allowed before a step "
               "is computed again; higher reuses more. 0 = reuse off.",
       .fallback = 0.0,
       .presets = {{"quality", 0.1},
                   {"balanced", 0.1},
                   {"fast", 0.1},
                   {"laptop", 0.1},
                   {"fast/distilled", 0.2}},
       LTX2EFF_KNOB_FIELD(reuse_threshold)},
      {.name = "max_consecutive_reuse",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxConsecutiveReuse,
       .unit = "steps",
       .help = "Most steps reused in a row. 0 = reuse off.",
       .fallback = 0,
       .presets = {{"quality", 1},
                   {"balanced", 2},
                   {"fast", 2},
                   {"laptop", 2},
                   {"balanced/distilled", 1},
                   {"fast/distilled", 3},
                   {"laptop/distilled", 1}},
       LTX2EFF_KNOB_FIELD(max_consecutive_reuse)},
      {.name = "precision",
       .type = KnobType::kChoice,
       .choices = {"auto", "bf16", "fp16", "fp32", "fp8-far-field"},
       .help = "Precision of the windowed attention kernels: auto = the model's dtype; "
               "fp8-far-field quantises the pooled far field only; fp32 is slow (for checks). "
               "Dense attention keeps the host's own precision.",
       .fallback = "auto",
       LTX2EFF_KNOB_FIELD(precision)},
      {.name = "interpolation",
       .type = KnobType::kChoice,
       .choices = {"lerp", "slerp", "motion", "upsampler"},
       .help = "How the frames between keyframes are rebuilt: lerp, slerp, motion "
               "(motion-compensated warp in latent space) or upsampler (an LTX temporal latent "
               "upsampler).",
       .fallback = "lerp",
       .presets = {{"quality", "motion"},
                   {"balanced", "motion"},
                   {"fast", "motion"},
                   {"laptop", "motion"}},
       LTX2EFF_KNOB_FIELD(interpolation)},
      {.name = "refine_steps",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxRefineSteps,
       .unit = "steps",
       .help = "Full-length steps that refine the interpolated video (frame_stride > 1 only). "
               "0 = no refinement.",
       .fallback = 0,
       .presets = {{"quality", 3}, {"balanced", 3}, {"fast", 2}, {"laptop", 3}},
       LTX2EFF_KNOB_FIELD(refine_steps)},
      {.name = "refine_strength",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.01,
       .unit = "sigma",
       .help = "Sigma the interpolated video is re-noised to before refining; higher changes "
               "more. Must be above 0 when refine_steps > 0 and frame_stride > 1.",
       .fallback = 0.0,
       .presets = {{"quality", 0.35}, {"balanced", 0.35}, {"fast", 0.3}, {"laptop", 0.35}},
       LTX2EFF_KNOB_FIELD(refine_strength)},
      {.name = "activation_budget_mb",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxActivationBudgetMb,
       .unit = "MB",
       .help = "Activation memory budget: the feed-forward and dense attention run over token "
               "chunks sized by the cost model to stay under it. 0 = unbounded.",
       .fallback = 0,
       .presets = {{"laptop", 2048}},
       LTX2EFF_KNOB_FIELD(activation_budget_mb)},
      {.name = "thermal_guard",
       .type = KnobType::kBool,
       .help = "Pace the steps to hold the GPU at the default thermal target.",
       .fallback = false,
       .presets = {{"laptop", true}},
       LTX2EFF_KNOB_FIELD(thermal_guard)},
      {.name = "window_start",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.05,
       .unit = "share of steps",
       .help = "Window attention starts at this share of the steps; the steps before it attend "
               "densely (they lay out the motion). 0 = from the first step.",
       .fallback = 0.0,
       LTX2EFF_KNOB_FIELD(window_start)},
      {.name = "window_end",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.05,
       .unit = "share of steps",
       .help = "Window attention ends at this share of the steps (dense after it). 1 = to the "
               "last step, refine steps included.",
       .fallback = 1.0,
       LTX2EFF_KNOB_FIELD(window_end)},
      {.name = "dense_first_blocks",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxDenseBlocks,
       .unit = "blocks",
       .help = "The first N transformer blocks always attend densely, also on windowed steps.",
       .fallback = 0,
       LTX2EFF_KNOB_FIELD(dense_first_blocks)},
      {.name = "dense_last_blocks",
       .type = KnobType::kInt,
       .min = 0,
       .max = kMaxDenseBlocks,
       .unit = "blocks",
       .help = "The last N transformer blocks always attend densely, also on windowed steps.",
       .fallback = 0,
       LTX2EFF_KNOB_FIELD(dense_last_blocks)},
      {.name = "window_head_recall",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.05,
       .unit = "share of attention mass",
       .help = "Window only the heads whose attention keeps at least this share of its mass "
               "inside the window (measured on every windowed call from a few sampled queries per "
               "frame); the other heads attend densely. 0 = every head windowed.",
       .fallback = 0.0,
       LTX2EFF_KNOB_FIELD(window_head_recall)},
      {.name = "keyframe_mode",
       .type = KnobType::kChoice,
       .choices = {"refine", "bottleneck"},
       .help = "How keyframe diffusion (frame_stride > 1) runs: refine = keyframes from the first "
               "step, then interpolate and refine; bottleneck = every frame first, the keyframes "
               "in the middle of the steps (the trajectory continues), every frame again at the "
               "end (the frames between re-noised from the keyframes' estimate).",
       .fallback = "refine",
       LTX2EFF_KNOB_FIELD(keyframe_mode)},
      {.name = "keyframe_start",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.05,
       .unit = "share of steps",
       .help = "Bottleneck: the steps before this share run on every frame, then on the "
               "keyframes only.",
       .fallback = 0.25,
       LTX2EFF_KNOB_FIELD(keyframe_start)},
      {.name = "keyframe_end",
       .type = KnobType::kFloat,
       .min = 0,
       .max = 1,
       .step = 0.05,
       .unit = "share of steps",
       .help = "Bottleneck: from this share of the steps on every frame runs again. 1 = the "
               "keyframes to the end, then interpolation.",
       .fallback = 0.75,
       LTX2EFF_KNOB_FIELD(keyframe_end)},
  };
}

#undef LTX2EFF_KNOB_FIELD
#pragma GCC diagnostic pop

std::string format_number(double v) {
  char buf[32];
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // The shortest spelling that reads back the same value (0.3, not 0.29999999999999999).
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A caller's text in a message: quoted, and cut short so a huge value never floods it.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  const bool cut = text.size() > kMaxShown;
  std::string out(1, '\'');
  out.append(cut ? text.substr(0, kMaxShown - 1) : text);
  out.append(cut ? "..." : "'");
  return out;
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += " ";
    out += n;
  }
  return out;
}

}  // namespace

std::string_view to_string(KnobType type) {
  switch (type) {
    case KnobType::kInt:
      return "int";
    case KnobType::kFloat:
      return "float";
    case KnobType::kBool:
      return "bool";
    case KnobType::kChoice:
      return "choice";
  }
  return "int";
}

std::string KnobRow::allowed() const {
  switch (type) {
    case KnobType::kInt:
      return "an integer in [" + format_number(min) + ", " + format_number(max) + "]";
    case KnobType::kFloat:
      return "a number in [" + format_number(min) + ", " + format_number(max) + "]";
    case KnobType::kBool:
      return "true or false";
    case KnobType::kChoice:
      return "one of " + join_names(choices);
  }
  return {};
}

std::string KnobRow::format(double value) const {
  switch (type) {
    case KnobType::kBool:
      return value != 0.0 ? "true" : "false";
    case KnobType::kChoice: {
      const auto i = static_cast<std::size_t>(value);
      return value >= 0 && i < choices.size() ? std::string(choices[i]) : format_number(value);
    }
    default:
      return format_number(value);
  }
}

void KnobRow::reject(const std::string& got) const {
  fail(name, "must be " + allowed() + ", got " + got);
}

void KnobRow::check(double value) const {
  bool ok = false;
  switch (type) {
    case KnobType::kInt:
      ok = value >= min && value <= max && std::floor(value) == value;
      break;
    case KnobType::kFloat:
      ok = value >= min && value <= max;  // written so that NaN fails
      break;
    case KnobType::kBool:
      ok = value == 0.0 || value == 1.0;
      break;
    case KnobType::kChoice:
      ok = value >= 0 && value < static_cast<double>(choices.size()) && std::floor(value) == value;
      break;
  }
  if (!ok) reject(format_number(value));
}

int KnobRow::choice_index(std::string_view choice) const {
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == choice) return static_cast<int>(i);
  }
  reject(quoted(choice));
}

const KnobValue& KnobRow::preset_value(std::string_view preset) const {
  for (const PresetSetting& s : presets) {
    if (s.preset == preset) return s.value;
  }
  return fallback;
}

bool KnobRow::sets_preset(std::string_view preset) const {
  for (const PresetSetting& s : presets) {
    if (s.preset == preset) return true;
  }
  return false;
}

const std::vector<KnobRow>& knob_table() {
  static const std::vector<KnobRow> table = make_table();
  return table;
}

const KnobRow& find_knob(std::string_view name_or_alias) {
  for (const KnobRow& row : knob_table()) {
    if (row.name == name_or_alias) return row;
    for (std::string_view alias : row.aliases) {
      if (alias == name_or_alias) return row;
    }
  }
  std::ostringstream os;
  os << quoted(name_or_alias) << " is not a knob; known:";
  for (const KnobRow& row : knob_table()) {
    os << " " << row.name;
    for (std::string_view alias : row.aliases) os << " " << alias;
  }
  fail("knob", os.str());
}

void check_knob(std::string_view name, double value) {
  find_knob(name).check(value);
}

void set_knob(Knobs& knobs, std::string_view name, double number) {
  const KnobRow& row = find_knob(name);
  if (row.type == KnobType::kChoice) row.reject(format_number(number));
  row.check(number);
  row.set(knobs, number);
}

void set_knob_choice(Knobs& knobs, std::string_view name, std::string_view choice) {
  const KnobRow& row = find_knob(name);
  if (row.type != KnobType::kChoice) row.reject(quoted(choice));
  row.set(knobs, row.choice_index(choice));
}

void validate_knobs(const Knobs& knobs) {
  for (const KnobRow& row : knob_table()) row.check(row.get(knobs));
  if (knobs.frame_stride > 1 && knobs.refine_steps > 0 && knobs.refine_strength <= 0.0) {
    fail("refine_strength", "must be in (0, 1] when refine_steps > 0, got 0");
  }
  if (knobs.window_end < knobs.window_start) {
    fail("window_end", "must be >= window_start (" + format_number(knobs.window_start) + "), got " +
                           format_number(knobs.window_end));
  }
  if (knobs.keyframe_end < knobs.keyframe_start) {
    fail("keyframe_end", "must be >= keyframe_start (" + format_number(knobs.keyframe_start) +
                             "), got " + format_number(knobs.keyframe_end));
  }
}

std::string to_string(Interpolation value) {
  return find_knob("interpolation").format(static_cast<double>(value));
}

std::string to_string(Precision value) {
  return find_knob("precision").format(static_cast<double>(value));
}

std::string to_string(KeyframeMode value) {
  return find_knob("keyframe_mode").format(static_cast<double>(value));
}

KeyframeMode parse_keyframe_mode(std::string_view name) {
  return static_cast<KeyframeMode>(find_knob("keyframe_mode").choice_index(name));
}

Interpolation parse_interpolation(std::string_view name) {
  return static_cast<Interpolation>(find_knob("interpolation").choice_index(name));
}

Precision parse_precision(std::string_view name) {
  return static_cast<Precision>(find_knob("precision").choice_index(name));
}

}  // namespace ltx2eff
