// The knobs of the efficient sampler and the one table that describes them: name, type, range,
// choices, unit, help text and the value each preset gives it. Validation, presets, error
// messages, the Python settings, the ComfyUI inputs and the frontend panel all read this table;
// adding a knob is one row in knobs.cpp plus its field in `Knobs`. Append new rows at the end:
// the ComfyUI nodes' widgets follow the table's order, and saved workflows keep widget values by
// position.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

enum class Interpolation {
  kLerp,       // linear blend of the neighbouring keyframes
  kSlerp,      // spherical blend per token (keeps the latent norm)
  kMotion,     // motion-compensated warp estimated in latent space
  kUpsampler,  // a user-supplied LTX temporal latent upsampler (x2)
};

enum class Precision {
  kAuto,         // the input dtype everywhere
  kBf16,         // bf16 attention inputs
  kFp16,         // fp16 attention inputs
  kFp32,         // fp32 attention (slow; for checks)
  kFp8FarField,  // input dtype near, 8-bit quantised QK for the pooled far field
};

// How keyframe (frame-stride) diffusion sits in the schedule.
enum class KeyframeMode {
  kRefine,      // keyframes from step 0, then interpolate + refine_steps full-length steps
  kBottleneck,  // all frames, then keyframes (the trajectory continues), then all frames again
};

// Concrete knob values; the meaning and range of every field is its row in knob_table().
struct Knobs {
  int frame_stride = 1;
  WindowSpec attention{};  // window, anchor_frame, far_field
  double reuse_start = 1.0;
  double reuse_threshold = 0.0;
  int max_consecutive_reuse = 0;
  Precision precision = Precision::kAuto;
  Interpolation interpolation = Interpolation::kLerp;
  int refine_steps = 0;
  double refine_strength = 0.0;
  int activation_budget_mb = 0;
  bool thermal_guard = false;
  // Step ranges: fractions of the steps; step i of N is inside when
  // round(start * N) <= i < round(end * N) (step_schedule.hpp).
  double window_start = 0.0;
  double window_end = 1.0;
  int dense_first_blocks = 0;
  int dense_last_blocks = 0;
  // 0: every head windowed; else only heads whose sampled in-window mass reaches it.
  double window_head_recall = 0.0;
  KeyframeMode keyframe_mode = KeyframeMode::kRefine;
  double keyframe_start = 0.25;
  double keyframe_end = 0.75;

  [[nodiscard]] bool reuse_enabled() const {
    return reuse_start < 1.0 && max_consecutive_reuse > 0;
  }
};

// Always computed share of steps at the start of a run, whatever reuse_start says.
inline constexpr double kMinComputedStartShare = 0.15;
inline constexpr int kMaxFrameStride = 16;
inline constexpr int kMaxRefineSteps = 50;
inline constexpr int kMaxConsecutiveReuse = 8;
inline constexpr double kMaxReuseThreshold = 10.0;
inline constexpr int kMaxActivationBudgetMb = 1 << 20;
inline constexpr int kMaxDenseBlocks = 1024;
// Queries sampled per latent frame to measure each head's in-window attention mass: up to 8, but
// at most one in 16 of a frame's tokens (at least one), so that the measurement stays a small
// share of a dense head's work on small frames too.
inline constexpr int kHeadRecallSamplesPerFrame = 8;
inline constexpr int kHeadRecallTokensPerSample = 16;
constexpr int head_recall_samples(std::int64_t frame_tokens) {
  return static_cast<int>(std::clamp<std::int64_t>(frame_tokens / kHeadRecallTokensPerSample, 1,
                                                   kHeadRecallSamplesPerFrame));
}

enum class KnobType { kInt, kFloat, kBool, kChoice };
std::string_view to_string(KnobType type);  // "int", "float", "bool", "choice"

// A value as the table spells it: a number (ints, floats; bools as 0 or 1) or a choice's name.
struct KnobValue {
  double number = 0;
  std::string_view choice;  // set for choice knobs only
  KnobValue() = default;
  KnobValue(int v) : number(v) {}                // NOLINT(google-explicit-constructor)
  KnobValue(double v) : number(v) {}             // NOLINT(google-explicit-constructor)
  KnobValue(bool v) : number(v ? 1 : 0) {}       // NOLINT(google-explicit-constructor)
  KnobValue(const char* name) : choice(name) {}  // NOLINT(google-explicit-constructor)
};

struct PresetSetting {
  std::string_view preset;
  KnobValue value;
};

struct KnobRow {
  std::string_view name;
  KnobType type = KnobType::kInt;
  double min = 0;  // int and float knobs: the allowed range, inclusive
  double max = 0;
  double step = 1;                        // the natural increment of a widget
  std::vector<std::string_view> choices;  // choice knobs, in the enum's order
  std::string_view unit;                  // "latent frames", "MB", "share of steps", ...
  std::string_view help;                  // one or two sentences for tooltips and docs
  KnobValue fallback;                     // the value of presets that do not name the knob
  std::vector<PresetSetting> presets;     // presets that set it to something else
  std::vector<std::string_view> aliases;  // other names accepted for it ("freeze_ratio")
  double (*get)(const Knobs&) = nullptr;  // choice knobs: the index into `choices`
  void (*set)(Knobs&, double) = nullptr;

  // "an integer in [1, 16]", "a number in [0, 1]", "true or false", "one of lerp slerp ...".
  [[nodiscard]] std::string allowed() const;
  // The value `preset` gives this knob (the fallback unless the preset sets it).
  [[nodiscard]] const KnobValue& preset_value(std::string_view preset) const;
  // Whether the row names `preset` itself (rather than falling back).
  [[nodiscard]] bool sets_preset(std::string_view preset) const;
  // Throws InvalidArgument "<name> must be <allowed()>, got <value>" unless `value` is allowed.
  void check(double value) const;
  [[noreturn]] void reject(const std::string& got) const;
  [[nodiscard]] std::string format(double value) const;  // a value in the table's own spelling
  // The index of `choice` in `choices`; throws InvalidArgument naming the choices otherwise.
  [[nodiscard]] int choice_index(std::string_view choice) const;
};

const std::vector<KnobRow>& knob_table();
// The row of a knob by name or alias; throws InvalidArgument naming the known knobs otherwise.
const KnobRow& find_knob(std::string_view name_or_alias);

// find_knob(name).check(value): for code that takes one knob's value outside a Knobs.
void check_knob(std::string_view name, double value);

// Setters that check the value against the row first (the same message everywhere).
void set_knob(Knobs& knobs, std::string_view name, double number);
void set_knob_choice(Knobs& knobs, std::string_view name, std::string_view choice);

// Every row's range plus the rules that tie knobs together.
void validate_knobs(const Knobs& knobs);

std::string to_string(Interpolation value);
std::string to_string(Precision value);
std::string to_string(KeyframeMode value);
KeyframeMode parse_keyframe_mode(std::string_view name);
Interpolation parse_interpolation(std::string_view name);
Precision parse_precision(std::string_view name);

}  // namespace ltx2eff
