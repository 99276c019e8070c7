// Temporal-window attention plan. Each query frame f attends exactly to the frames of a window
// of min(F, 2K+1) frames centred on f and shifted inward at the borders (NATTEN style), plus frame
// 0 when the anchor is on, plus every global token. Frames outside that set may be seen through
// p x p average-pooled keys/values (the low-rank far field). K >= F - 1 is dense attention.
#pragma once

#include <cstdint>
#include <vector>

#include "ltx2eff/geometry.hpp"

namespace ltx2eff {

inline constexpr int kWindowOff = -1;  // dense attention
inline constexpr int kMaxWindow = 256;
inline constexpr int kMaxFarFieldPool = 16;

struct WindowSpec {
  int window = kWindowOff;    // K in latent frames; kWindowOff (-1) = dense
  bool anchor_frame = false;  // frame 0 visible to every query frame
  int far_field = 0;          // pool factor p for frames outside the window; 0 = off
};

struct FrameRange {
  int begin = 0;  // inclusive
  int end = 0;    // exclusive
  [[nodiscard]] int size() const { return end - begin; }
  [[nodiscard]] bool contains(int f) const { return f >= begin && f < end; }
};

struct FramePlan {
  FrameRange near;       // exact key frames
  bool anchor = false;   // frame 0 added on top of `near` (only when not already inside)
  std::vector<int> far;  // frames seen through pooled keys (empty without far field)
};

struct PairCounts {
  double exact = 0;   // query-key pairs computed exactly (grid + global tokens)
  double pooled = 0;  // query-pooled-key pairs of the far field
  double dense = 0;   // T^2
  [[nodiscard]] double exact_fraction() const { return dense > 0 ? exact / dense : 0.0; }
  [[nodiscard]] double total_fraction() const { return dense > 0 ? (exact + pooled) / dense : 0.0; }
};

class WindowPlan {
 public:
  WindowPlan(LatentShape grid, std::int64_t global_tokens, WindowSpec spec);

  [[nodiscard]] const LatentShape& grid() const { return grid_; }
  [[nodiscard]] std::int64_t global_tokens() const { return global_tokens_; }
  [[nodiscard]] const WindowSpec& spec() const { return spec_; }
  [[nodiscard]] bool is_dense() const { return dense_; }
  [[nodiscard]] const FramePlan& frame(int f) const {
    return frames_.at(static_cast<std::size_t>(f));
  }
  [[nodiscard]] const std::vector<FramePlan>& frames() const { return frames_; }
  // Pooled tokens per far frame: ceil(H / p) * ceil(W / p).
  [[nodiscard]] std::int64_t pooled_tokens_per_frame() const;
  [[nodiscard]] PairCounts pairs() const;

 private:
  LatentShape grid_;
  std::int64_t global_tokens_;
  WindowSpec spec_;
  bool dense_;
  std::vector<FramePlan> frames_;
};

// The exact key frame range of query frame f for window K over F frames (shifted inward).
FrameRange window_range(int frame, int frames, int window);

void validate_window_spec(const WindowSpec& spec);

}  // namespace ltx2eff
