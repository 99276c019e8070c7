// Token order of the LTX-2 video stream: frame-major, then height, then width, one token per latent
// voxel (patch size 1). Conditioning tokens (keyframe guides) may be appended after the grid; they
// are "global": they attend to every token and every token attends to them.
#pragma once

#include <cstdint>

#include "ltx2eff/geometry.hpp"

namespace ltx2eff {

struct GridPosition {
  int frame = 0;
  int h = 0;
  int w = 0;
};

class TokenLayout {
 public:
  TokenLayout(LatentShape grid, std::int64_t global_tokens);

  [[nodiscard]] const LatentShape& grid() const { return grid_; }
  [[nodiscard]] std::int64_t grid_tokens() const { return grid_.tokens(); }
  [[nodiscard]] std::int64_t global_tokens() const { return global_tokens_; }
  [[nodiscard]] std::int64_t total_tokens() const { return grid_.tokens() + global_tokens_; }
  [[nodiscard]] std::int64_t tokens_per_frame() const { return grid_.tokens_per_frame(); }

  // First token of latent frame f; frame_begin(F) is the first global token.
  [[nodiscard]] std::int64_t frame_begin(int frame) const;
  [[nodiscard]] std::int64_t token_index(int frame, int h, int w) const;
  [[nodiscard]] bool is_global(std::int64_t token) const;
  // Grid position of a grid token; throws for global tokens.
  [[nodiscard]] GridPosition position(std::int64_t token) const;

 private:
  LatentShape grid_;
  std::int64_t global_tokens_;
};

}  // namespace ltx2eff
