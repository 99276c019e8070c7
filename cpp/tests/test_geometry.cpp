#include <gtest/gtest.h>

#include "ltx2eff/error.hpp"
#include "ltx2eff/geometry.hpp"
#include "ltx2eff/token_layout.hpp"

namespace ltx2eff {
namespace {

TEST(Geometry, ReferenceSizes) {
  EXPECT_EQ(latent_from_pixels({896, 512, 97, 24}), (LatentShape{13, 16, 28}));
  EXPECT_EQ(latent_from_pixels({896, 512, 97, 24}).tokens(), 5824);
  EXPECT_EQ(latent_from_pixels({1280, 704, 121, 24}), (LatentShape{16, 22, 40}));
  EXPECT_EQ(latent_from_pixels({1280, 704, 121, 24}).tokens(), 14080);
  EXPECT_EQ(latent_from_pixels({1920, 1088, 121, 25}), (LatentShape{16, 34, 60}));
  EXPECT_EQ(latent_from_pixels({1920, 1088, 121, 25}).tokens(), 32640);
}

TEST(Geometry, CausalFirstFrame) {
  EXPECT_EQ(latent_frames_for_pixel_frames(1), 1);
  EXPECT_EQ(latent_frames_for_pixel_frames(9), 2);
  EXPECT_EQ(pixel_frames_for_latent_frames(1), 1);
  EXPECT_EQ(pixel_frames_for_latent_frames(16), 121);
  for (int f = 1; f <= 40; ++f) {
    EXPECT_EQ(latent_frames_for_pixel_frames(pixel_frames_for_latent_frames(f)), f);
  }
}

TEST(Geometry, RoundTrip) {
  const PixelShape p = pixels_from_latent({16, 22, 40}, 24.0);
  EXPECT_EQ(p.width, 1280);
  EXPECT_EQ(p.height, 704);
  EXPECT_EQ(p.frames, 121);
}

std::string error_of(const PixelShape& p) {
  try {
    (void)latent_from_pixels(p);
  } catch (const InvalidArgument& e) {
    return std::string(e.parameter()) + "|" + e.what();
  }
  return "";
}

TEST(Geometry, RejectsBadInputWithNamedParameter) {
  EXPECT_EQ(error_of({1000, 704, 121, 24}).rfind("width|width must be a multiple of 32", 0), 0u);
  EXPECT_EQ(error_of({1280, 700, 121, 24}).rfind("height|", 0), 0u);
  EXPECT_NE(error_of({1280, 704, 120, 24}).find("frames must be 8k+1"), std::string::npos);
  EXPECT_NE(error_of({1280, 704, 120, 24}).find("113 or 121"), std::string::npos);
  EXPECT_EQ(error_of({0, 704, 121, 24}).rfind("width|", 0), 0u);
  EXPECT_EQ(error_of({1280, 704, 0, 24}).rfind("frames|", 0), 0u);
  EXPECT_EQ(error_of({1280, 704, 121, 0}).rfind("fps|", 0), 0u);
  EXPECT_EQ(error_of({1280, 704, 121, -5}).rfind("fps|", 0), 0u);
  EXPECT_EQ(error_of({16384, 704, 121, 24}).rfind("width|", 0), 0u);  // absurd
  EXPECT_EQ(error_of({1280, 704, 100001, 24}).rfind("frames|", 0), 0u);
  EXPECT_EQ(error_of({-32, 704, 121, 24}).rfind("width|", 0), 0u);
}

TEST(TokenLayout, FrameMajorOrder) {
  const TokenLayout layout({3, 4, 5}, 7);
  EXPECT_EQ(layout.grid_tokens(), 60);
  EXPECT_EQ(layout.total_tokens(), 67);
  EXPECT_EQ(layout.token_index(0, 0, 0), 0);
  EXPECT_EQ(layout.token_index(0, 0, 1), 1);
  EXPECT_EQ(layout.token_index(0, 1, 0), 5);
  EXPECT_EQ(layout.token_index(1, 0, 0), 20);
  EXPECT_EQ(layout.token_index(2, 3, 4), 59);
  EXPECT_EQ(layout.frame_begin(3), 60);
  EXPECT_FALSE(layout.is_global(59));
  EXPECT_TRUE(layout.is_global(60));
  EXPECT_TRUE(layout.is_global(66));
  for (std::int64_t t = 0; t < layout.grid_tokens(); ++t) {
    const GridPosition p = layout.position(t);
    EXPECT_EQ(layout.token_index(p.frame, p.h, p.w), t);
  }
  EXPECT_THROW((void)layout.position(60), InvalidArgument);
  EXPECT_THROW((void)layout.is_global(67), InvalidArgument);
  EXPECT_THROW(TokenLayout({3, 4, 5}, -1), InvalidArgument);
}

}  // namespace
}  // namespace ltx2eff
