#include "ltx2eff/keyframe_plan.hpp"

#include <algorithm>

#include "ltx2eff/error.hpp"
#include "ltx2eff/geometry.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff {

double KeyframePlan::frame_fraction() const {
  return full_frames > 0 ? static_cast<double>(diffused.size()) / full_frames : 0.0;
}

KeyframePlan make_keyframe_plan(int latent_frames, int stride, double fps,
                                std::span<const int> pinned_frames) {
  require_in_range("latent_frames", latent_frames, 1, kMaxPixelFrames / kTemporalFactor + 1);
  check_knob("frame_stride", stride);
  require_in_range("fps", fps, kMinFps, kMaxFps);

  KeyframePlan plan;
  plan.full_frames = latent_frames;
  plan.stride = stride;
  plan.fps = fps;
  plan.effective_fps = fps / stride;

  for (int f = 0; f < latent_frames; f += stride) plan.diffused.push_back(f);
  if (plan.diffused.back() != latent_frames - 1) plan.diffused.push_back(latent_frames - 1);
  for (int f : pinned_frames) {
    require_in_range("pinned_frame", f, 0, latent_frames - 1);
    plan.pinned.push_back(f);
    plan.diffused.push_back(f);
  }
  std::sort(plan.diffused.begin(), plan.diffused.end());
  plan.diffused.erase(std::unique(plan.diffused.begin(), plan.diffused.end()), plan.diffused.end());
  std::sort(plan.pinned.begin(), plan.pinned.end());
  plan.pinned.erase(std::unique(plan.pinned.begin(), plan.pinned.end()), plan.pinned.end());

  plan.map.resize(static_cast<std::size_t>(latent_frames));
  int slot = 0;
  for (int f = 0; f < latent_frames; ++f) {
    while (slot + 1 < plan.diffused_frames() &&
           plan.diffused[static_cast<std::size_t>(slot + 1)] <= f) {
      ++slot;
    }
    const int left_frame = plan.diffused[static_cast<std::size_t>(slot)];
    KeyframeSource& src = plan.map[static_cast<std::size_t>(f)];
    if (left_frame == f) {
      src = {slot, slot, 0.0};
    } else {
      const int right_frame = plan.diffused[static_cast<std::size_t>(slot + 1)];
      src = {slot, slot + 1, static_cast<double>(f - left_frame) / (right_frame - left_frame)};
    }
  }
  return plan;
}

}  // namespace ltx2eff
