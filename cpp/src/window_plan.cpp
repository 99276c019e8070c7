#include "ltx2eff/window_plan.hpp"

#include <algorithm>

#include "ltx2eff/error.hpp"
#include "ltx2eff/knobs.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {

FrameRange window_range(int frame, int frames, int window) {
  require_in_range("frames", frames, 1, 1 << 20);
  require_in_range("frame", frame, 0, frames - 1);
  if (window == kWindowOff) return {0, frames};
  check_knob("window", window);
  const int size = std::min(frames, 2 * window + 1);
  const int begin = std::clamp(frame - window, 0, frames - size);
  return {begin, begin + size};
}

void validate_window_spec(const WindowSpec& spec) {
  check_knob("window", spec.window);
  check_knob("far_field", spec.far_field);
}

WindowPlan::WindowPlan(LatentShape grid, std::int64_t global_tokens, WindowSpec spec)
    : grid_(grid), global_tokens_(global_tokens), spec_(spec), dense_(true) {
  validate_latent_shape(grid_);
  check_sampling("global_tokens", global_tokens);
  validate_window_spec(spec_);
  frames_.resize(static_cast<std::size_t>(grid_.frames));
  for (int f = 0; f < grid_.frames; ++f) {
    FramePlan& fp = frames_[static_cast<std::size_t>(f)];
    fp.near = window_range(f, grid_.frames, spec_.window);
    fp.anchor = spec_.anchor_frame && !fp.near.contains(0);
    if (spec_.far_field > 0) {
      for (int g = 0; g < grid_.frames; ++g) {
        if (!fp.near.contains(g) && !(fp.anchor && g == 0)) fp.far.push_back(g);
      }
    }
    if (fp.near.size() != grid_.frames) dense_ = false;
  }
}

std::int64_t WindowPlan::pooled_tokens_per_frame() const {
  if (spec_.far_field <= 0) return 0;
  const int p = spec_.far_field;
  return static_cast<std::int64_t>((grid_.height + p - 1) / p) * ((grid_.width + p - 1) / p);
}

PairCounts WindowPlan::pairs() const {
  const double hw = static_cast<double>(grid_.tokens_per_frame());
  const double grid_tokens = static_cast<double>(grid_.tokens());
  const double g = static_cast<double>(global_tokens_);
  const double pooled = static_cast<double>(pooled_tokens_per_frame());
  PairCounts counts;
  for (const FramePlan& fp : frames_) {
    const double exact_keys = fp.near.size() * hw + (fp.anchor ? hw : 0.0) + g;
    counts.exact += hw * exact_keys;
    counts.pooled += hw * static_cast<double>(fp.far.size()) * pooled;
  }
  counts.exact += g * (grid_tokens + g);  // global queries see everything
  counts.dense = (grid_tokens + g) * (grid_tokens + g);
  return counts;
}

}  // namespace ltx2eff
