#include "ltx2eff/geometry.hpp"

#include <string>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

void validate_side(std::string_view name, int value) {
  require_in_range(name, value, kSpatialFactor, kMaxPixelSide);
  if (value % kSpatialFactor != 0) {
    fail(name, "must be a multiple of 32 in [32, " + std::to_string(kMaxPixelSide) + "], got " +
                   std::to_string(value) + " (nearest valid: " +
                   std::to_string((value + kSpatialFactor / 2) / kSpatialFactor * kSpatialFactor) +
                   ")");
  }
}

}  // namespace

LatentShape latent_from_pixels(const PixelShape& pixels) {
  validate_side("width", pixels.width);
  validate_side("height", pixels.height);
  require_in_range("frames", pixels.frames, 1, kMaxPixelFrames);
  if ((pixels.frames - 1) % kTemporalFactor != 0) {
    const int lower = (pixels.frames - 1) / kTemporalFactor * kTemporalFactor + 1;
    fail("frames", "must be 8k+1 (1, 9, 17, ..., " + std::to_string(kMaxPixelFrames) + "), got " +
                       std::to_string(pixels.frames) + " (nearest valid: " + std::to_string(lower) +
                       " or " + std::to_string(lower + kTemporalFactor) + ")");
  }
  require_in_range("fps", pixels.fps, kMinFps, kMaxFps);
  return LatentShape{latent_frames_for_pixel_frames(pixels.frames), pixels.height / kSpatialFactor,
                     pixels.width / kSpatialFactor};
}

PixelShape pixels_from_latent(const LatentShape& latent, double fps) {
  validate_latent_shape(latent);
  require_in_range("fps", fps, kMinFps, kMaxFps);
  return PixelShape{latent.width * kSpatialFactor, latent.height * kSpatialFactor,
                    pixel_frames_for_latent_frames(latent.frames), fps};
}

int pixel_frames_for_latent_frames(int latent_frames) {
  require_in_range("latent_frames", latent_frames, 1, kMaxPixelFrames / kTemporalFactor + 1);
  return (latent_frames - 1) * kTemporalFactor + 1;
}

int latent_frames_for_pixel_frames(int pixel_frames) {
  require_in_range("frames", pixel_frames, 1, kMaxPixelFrames);
  return (pixel_frames - 1) / kTemporalFactor + 1;
}

void validate_latent_shape(const LatentShape& latent) {
  require_in_range("latent_frames", latent.frames, 1, kMaxPixelFrames / kTemporalFactor + 1);
  require_in_range("latent_height", latent.height, 1, kMaxPixelSide / kSpatialFactor);
  require_in_range("latent_width", latent.width, 1, kMaxPixelSide / kSpatialFactor);
}

}  // namespace ltx2eff
