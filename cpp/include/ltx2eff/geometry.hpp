// LTX-2 latent geometry: the VAE compresses 32x32 pixels into one latent voxel and 8 pixel frames
// into one latent frame, except latent frame 0, which encodes the first pixel frame alone (causal).
#pragma once

#include <cstdint>

namespace ltx2eff {

inline constexpr int kSpatialFactor = 32;
inline constexpr int kTemporalFactor = 8;
inline constexpr int kLatentChannels = 128;

// Bounds that reject absurd requests early (one 8K frame is 256x256 latents).
inline constexpr int kMaxPixelSide = 8192;
inline constexpr int kMaxPixelFrames = 8 * 256 + 1;
inline constexpr double kMinFps = 1e-3;
inline constexpr double kMaxFps = 240.0;

struct PixelShape {
  int width = 0;
  int height = 0;
  int frames = 0;
  double fps = 24.0;
};

struct LatentShape {
  int frames = 0;  // F
  int height = 0;  // H
  int width = 0;   // W

  [[nodiscard]] std::int64_t tokens_per_frame() const {
    return static_cast<std::int64_t>(height) * width;
  }
  [[nodiscard]] std::int64_t tokens() const { return tokens_per_frame() * frames; }
  friend bool operator==(const LatentShape&, const LatentShape&) = default;
};

// Validates the pixel shape (width/height multiples of 32, frames = 8k+1, fps > 0) and converts.
LatentShape latent_from_pixels(const PixelShape& pixels);

// Inverse mapping: the pixel size a latent grid decodes to.
PixelShape pixels_from_latent(const LatentShape& latent, double fps);

// Pixel frames covered by `latent_frames` latent frames: (F - 1) * 8 + 1.
int pixel_frames_for_latent_frames(int latent_frames);

// Latent frames for a valid pixel frame count: (frames - 1) / 8 + 1.
int latent_frames_for_pixel_frames(int pixel_frames);

void validate_latent_shape(const LatentShape& latent);

}  // namespace ltx2eff
