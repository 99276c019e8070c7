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

// "off", "quality", "balanced", "fast", "laptop".
std::vector<std::string> preset_names();
Knobs resolve_preset(std::string_view name);
// One-line human description of a preset.
std::string describe_preset(std::string_view name);

void validate_knobs(const Knobs& knobs);

std::string to_string(Interpolation value);
std::string to_string(Precision value);
Interpolation parse_interpolation(std::string_view name);
Precision parse_precision(std::string_view name);

}  // namespace ltx2eff
