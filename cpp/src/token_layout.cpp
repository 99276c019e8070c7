#include "ltx2eff/token_layout.hpp"

#include "ltx2eff/error.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {

TokenLayout::TokenLayout(LatentShape grid, std::int64_t global_tokens)
    : grid_(grid), global_tokens_(global_tokens) {
  validate_latent_shape(grid_);
  check_sampling("global_tokens", global_tokens);
}

std::int64_t TokenLayout::frame_begin(int frame) const {
  require_in_range("frame", frame, 0, grid_.frames);
  return static_cast<std::int64_t>(frame) * grid_.tokens_per_frame();
}

std::int64_t TokenLayout::token_index(int frame, int h, int w) const {
  require_in_range("frame", frame, 0, grid_.frames - 1);
  require_in_range("h", h, 0, grid_.height - 1);
  require_in_range("w", w, 0, grid_.width - 1);
  return (static_cast<std::int64_t>(frame) * grid_.height + h) * grid_.width + w;
}

bool TokenLayout::is_global(std::int64_t token) const {
  require_in_range("token", token, std::int64_t{0}, total_tokens() - 1);
  return token >= grid_tokens();
}

GridPosition TokenLayout::position(std::int64_t token) const {
  require_in_range("token", token, std::int64_t{0}, grid_tokens() - 1);
  const std::int64_t per_frame = grid_.tokens_per_frame();
  const auto in_frame = token % per_frame;
  return GridPosition{static_cast<int>(token / per_frame), static_cast<int>(in_frame / grid_.width),
                      static_cast<int>(in_frame % grid_.width)};
}

}  // namespace ltx2eff
