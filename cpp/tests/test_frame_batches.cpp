#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "ltx2eff/frame_batches.hpp"

namespace ltx2eff {
namespace {

WindowPlan plan_of(int frames, int window, bool anchor = false) {
  return WindowPlan(LatentShape{frames, 2, 3}, 0, WindowSpec{window, anchor, 0});
}

TEST(FrameBatches, CoverEveryQueryFrameOnceWithItsWindowInAtMostTwoBatches) {
  for (int frames = 1; frames <= 24; ++frames) {
    for (int window = -1; window <= 12; ++window) {
      const WindowPlan plan = plan_of(frames, window, window % 2 == 0);
      const std::vector<FrameBatch> batches = frame_batches(plan);
      std::vector<int> seen(static_cast<std::size_t>(frames), 0);
      for (const FrameBatch& b : batches) {
        ASSERT_GE(b.count, 1);
        for (int i = 0; i < b.count; ++i) {
          const int k0 = b.k_first + i * b.k_step;
          for (int f = b.q_first + i * b.q_step; f < b.q_first + i * b.q_step + b.q_frames; ++f) {
            ASSERT_GE(f, 0);
            ASSERT_LT(f, frames);
            ++seen[static_cast<std::size_t>(f)];
            const FrameRange want = plan.frame(f).near;
            EXPECT_EQ(k0, want.begin) << frames << " frames, K=" << window << ", frame " << f;
            EXPECT_EQ(k0 + b.k_frames, want.end)
                << frames << " frames, K=" << window << ", frame " << f;
          }
        }
      }
      EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }))
          << frames << " frames, K=" << window;
      EXPECT_LE(batches.size(), 2U) << frames << " frames, K=" << window;
    }
  }
}

TEST(FrameBatches, InteriorFramesAreOneBatchOfOverlappingWindows) {
  // 13 frames, K = 1: frames 2..10 attend f-1..f+1 (one batch, windows one frame apart); frames
  // 0-1 share keys 0-2 and 11-12 share keys 10-12 (a batch of two, 11 and 10 frames apart).
  const std::vector<FrameBatch> batches = frame_batches(plan_of(13, 1));
  ASSERT_EQ(batches.size(), 2U);
  const FrameBatch& borders = batches[0];
  const FrameBatch& interior = batches[1];
  EXPECT_EQ(borders.count, 2);
  EXPECT_EQ(borders.q_first, 0);
  EXPECT_EQ(borders.q_frames, 2);
  EXPECT_EQ(borders.q_step, 11);
  EXPECT_EQ(borders.k_first, 0);
  EXPECT_EQ(borders.k_frames, 3);
  EXPECT_EQ(borders.k_step, 10);
  EXPECT_EQ(interior.count, 9);
  EXPECT_EQ(interior.q_first, 2);
  EXPECT_EQ(interior.q_frames, 1);
  EXPECT_EQ(interior.q_step, 1);
  EXPECT_EQ(interior.k_first, 1);
  EXPECT_EQ(interior.k_frames, 3);
  EXPECT_EQ(interior.k_step, 1);
}

TEST(FrameBatches, DenseIsOneWindowOverEveryFrame) {
  const std::vector<FrameBatch> batches = frame_batches(plan_of(7, kWindowOff));
  ASSERT_EQ(batches.size(), 1U);
  EXPECT_EQ(batches[0].count, 1);
  EXPECT_EQ(batches[0].q_frames, 7);
  EXPECT_EQ(batches[0].k_frames, 7);
}

}  // namespace
}  // namespace ltx2eff
