// Named presets resolved to concrete knob values in one place. The values were chosen with
// `ltx2eff eval` on the demo model (docs/PRESETS.md says why each value is what it is).
#pragma once

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

// How keyframe (frame-stride) diffusion sits in the schedule.
enum class KeyframeMode {
  kRefine,      // keyframes from step 0, then interpolate + refine_steps full-length steps
  kBottleneck,  // all frames, then keyframes (the trajectory continues), then all frames again
};

enum class Precision {
  kAuto,         // the input dtype everywhere
  kBf16,         // bf16 attention inputs
  kFp16,         // fp16 attention inputs
  kFp32,         // fp32 attention (slow; for checks)
  kFp8FarField,  // input dtype near, 8-bit quantised QK for the pooled far field
};

struct Knobs {
  int frame_stride = 1;          // latent-frame stride of keyframe diffusion; 1 = off
  WindowSpec attention{};        // temporal window, anchor frame, far field
  double reuse_start = 1.0;      // share of steps always computed before reuse may start; 1 = off
  double reuse_threshold = 0.0;  // accumulated relative change allowed before recomputing
  int max_consecutive_reuse = 0;
  Precision precision = Precision::kAuto;
  Interpolation interpolation = Interpolation::kLerp;
  int refine_steps = 0;          // full-length steps after interpolation (stride > 1 only)
  double refine_strength = 0.0;  // sigma the interpolated latent is re-noised to, in [0, 1]
  int activation_budget_mb = 0;  // 0 = unbounded; else chunk attention/FF over tokens
  bool thermal_guard = false;    // pace steps to hold the default thermal target
  // Step ranges (fractions of the steps; step i is inside when round(start*N) <= i < round(end*N)).
  double window_start = 0.0;   // window attention from here (dense attention before)
  double window_end = 1.0;     // ... up to here (dense attention after)
  int dense_first_blocks = 0;  // the first N transformer blocks always attend densely
  int dense_last_blocks = 0;   // the last N transformer blocks always attend densely
  KeyframeMode keyframe_mode = KeyframeMode::kRefine;
  double keyframe_start = 0.25;  // bottleneck: keyframes only from here ...
  double keyframe_end = 0.75;    // ... up to here (all frames before and after)

  [[nodiscard]] bool reuse_enabled() const {
    return reuse_start < 1.0 && max_consecutive_reuse > 0;
  }
};

// Always computed share of steps at the start of a run, whatever reuse_start says.
inline constexpr double kMinComputedStartShare = 0.15;
inline constexpr int kMaxFrameStride = 16;
inline constexpr int kMaxRefineSteps = 50;
inline constexpr int kMaxConsecutiveReuse = 8;
inline constexpr int kMaxActivationBudgetMb = 1 << 20;
inline constexpr int kMaxDenseBlocks = 1024;

// The sampling regime a preset is tuned for: the dev model's long guided schedules, or the
// distilled model's few unguided steps (where step reuse has little to skip).
enum class Regime {
  kDev,        // 20-30 steps with CFG
  kDistilled,  // <= kDistilledMaxSteps steps without guidance (8 + a short low-sigma refine)
};
inline constexpr int kDistilledMaxSteps = 12;

// kDistilled for at most kDistilledMaxSteps steps with one call per step, else kDev.
Regime regime_for(int steps, int calls_per_step);
std::string to_string(Regime value);
Regime parse_regime(std::string_view name);

// "off", "quality", "balanced", "fast", "laptop".
std::vector<std::string> preset_names();
Knobs resolve_preset(std::string_view name, Regime regime = Regime::kDev);
// One-line human description of a preset in a regime.
std::string describe_preset(std::string_view name, Regime regime = Regime::kDev);

void validate_knobs(const Knobs& knobs);

std::string to_string(Interpolation value);
std::string to_string(Precision value);
std::string to_string(KeyframeMode value);
KeyframeMode parse_keyframe_mode(std::string_view name);
Interpolation parse_interpolation(std::string_view name);
Precision parse_precision(std::string_view name);

}  // namespace ltx2eff
