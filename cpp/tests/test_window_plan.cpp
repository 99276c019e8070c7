#include <gtest/gtest.h>

#include "ltx2eff/error.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {
namespace {

TEST(WindowRange, ShiftedInwardAtBorders) {
  EXPECT_EQ(window_range(0, 16, 1).begin, 0);
  EXPECT_EQ(window_range(0, 16, 1).end, 3);
  EXPECT_EQ(window_range(1, 16, 1).begin, 0);
  EXPECT_EQ(window_range(7, 16, 1).begin, 6);
  EXPECT_EQ(window_range(7, 16, 1).end, 9);
  EXPECT_EQ(window_range(15, 16, 1).begin, 13);
  EXPECT_EQ(window_range(15, 16, 1).end, 16);
  // Every query sees exactly min(F, 2K+1) frames and always its own frame.
  for (int frames = 1; frames <= 20; ++frames) {
    for (int k = 0; k <= 10; ++k) {
      for (int f = 0; f < frames; ++f) {
        const FrameRange r = window_range(f, frames, k);
        EXPECT_EQ(r.size(), std::min(frames, 2 * k + 1));
        EXPECT_TRUE(r.contains(f));
        EXPECT_GE(r.begin, 0);
        EXPECT_LE(r.end, frames);
      }
    }
  }
}

TEST(WindowPlan, PairFractionOfReferenceGrid) {
  const LatentShape grid{16, 22, 40};
  EXPECT_DOUBLE_EQ(WindowPlan(grid, 0, {1, false, 0}).pairs().total_fraction(), 3.0 / 16.0);
  EXPECT_DOUBLE_EQ(WindowPlan(grid, 0, {2, false, 0}).pairs().total_fraction(), 5.0 / 16.0);
  // Anchor: frames 0 and 1 already see frame 0; the other 14 add one frame.
  EXPECT_DOUBLE_EQ(WindowPlan(grid, 0, {1, true, 0}).pairs().total_fraction(), 62.0 / 256.0);
}

TEST(WindowPlan, LargeWindowIsDense) {
  const LatentShape grid{13, 16, 28};
  for (int k : {6, 12, 100}) {
    const WindowPlan plan(grid, 5, {k, true, 4});
    EXPECT_TRUE(plan.is_dense()) << k;
    EXPECT_DOUBLE_EQ(plan.pairs().total_fraction(), 1.0);
    EXPECT_DOUBLE_EQ(plan.pairs().pooled, 0.0);
  }
  EXPECT_FALSE(WindowPlan(grid, 0, {5, false, 0}).is_dense());
  EXPECT_TRUE(WindowPlan(grid, 0, {kWindowOff, false, 0}).is_dense());
}

TEST(WindowPlan, GlobalTokensSeeAndAreSeenByAll) {
  const LatentShape grid{8, 2, 3};  // 6 tokens per frame, 48 grid tokens
  const WindowPlan plan(grid, 4, {0, false, 0});
  const PairCounts p = plan.pairs();
  // Grid queries: own frame (6) + 4 globals; global queries: all 52.
  EXPECT_DOUBLE_EQ(p.exact, 48.0 * (6 + 4) + 4.0 * 52);
  EXPECT_DOUBLE_EQ(p.dense, 52.0 * 52);
}

TEST(WindowPlan, FarFieldCoversTheRest) {
  const LatentShape grid{10, 7, 9};
  const WindowPlan plan(grid, 0, {1, true, 2});
  EXPECT_EQ(plan.pooled_tokens_per_frame(), 4 * 5);  // ceil(7/2) * ceil(9/2)
  for (int f = 0; f < grid.frames; ++f) {
    const FramePlan& fp = plan.frame(f);
    int covered = fp.near.size() + (fp.anchor ? 1 : 0) + static_cast<int>(fp.far.size());
    EXPECT_EQ(covered, grid.frames) << f;
    for (int g : fp.far) {
      EXPECT_FALSE(fp.near.contains(g));
      EXPECT_FALSE(fp.anchor && g == 0);
    }
  }
  const PairCounts p = plan.pairs();
  EXPECT_GT(p.pooled, 0.0);
  EXPECT_LT(p.total_fraction(), 1.0);
  EXPECT_GT(p.total_fraction(), p.exact_fraction());
}

TEST(WindowPlan, RejectsBadKnobs) {
  EXPECT_THROW(WindowPlan({4, 4, 4}, 0, {-2, false, 0}), InvalidArgument);
  EXPECT_THROW(WindowPlan({4, 4, 4}, 0, {1, false, -1}), InvalidArgument);
  EXPECT_THROW(WindowPlan({4, 4, 4}, 0, {1, false, 17}), InvalidArgument);
  EXPECT_THROW(WindowPlan({0, 4, 4}, 0, {1, false, 0}), InvalidArgument);
  EXPECT_THROW(WindowPlan({4, 4, 4}, -3, {1, false, 0}), InvalidArgument);
}

}  // namespace
}  // namespace ltx2eff
