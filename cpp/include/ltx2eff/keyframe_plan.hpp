// Keyframe (frame-stride) diffusion plan. With stride s the sampler diffuses
// F' = ceil((F - 1) / s) + 1 latent frames (0, s, 2s, ..., always the last one), at frame_rate / s
// with contiguous positions, then fills the frames between them by interpolation and refines.
// Conditioning frames (image-to-video first frame, guide frames) are always diffused.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ltx2eff {

struct KeyframeSource {
  int left = 0;    // index into KeyframePlan::diffused (slot) of the keyframe before
  int right = 0;   // slot of the keyframe after (== left for a diffused frame)
  double t = 0.0;  // interpolation weight of `right`, in [0, 1]
};

struct KeyframePlan {
  int full_frames = 0;
  int stride = 1;
  double fps = 24.0;
  double effective_fps = 24.0;      // fps of the diffused clip: fps / stride
  std::vector<int> diffused;        // full-clip latent frame indices diffused, ascending
  std::vector<int> pinned;          // conditioning frames (subset of diffused)
  std::vector<KeyframeSource> map;  // per full frame: how it is rebuilt from the diffused frames

  [[nodiscard]] int diffused_frames() const { return static_cast<int>(diffused.size()); }
  [[nodiscard]] bool is_identity() const { return diffused_frames() == full_frames; }
  // Share of latent frames that are actually diffused.
  [[nodiscard]] double frame_fraction() const;
};

// latent_frames >= 1, stride in [1, 16], pinned frames in [0, latent_frames).
KeyframePlan make_keyframe_plan(int latent_frames, int stride, double fps,
                                std::span<const int> pinned_frames = {});

}  // namespace ltx2eff
