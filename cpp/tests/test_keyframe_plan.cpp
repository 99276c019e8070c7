#include <gtest/gtest.h>

#include <vector>

#include "ltx2eff/error.hpp"
#include "ltx2eff/keyframe_plan.hpp"

namespace ltx2eff {
namespace {

TEST(KeyframePlan, StrideOneIsIdentity) {
  const KeyframePlan plan = make_keyframe_plan(16, 1, 24.0);
  EXPECT_TRUE(plan.is_identity());
  EXPECT_EQ(plan.diffused_frames(), 16);
  EXPECT_DOUBLE_EQ(plan.effective_fps, 24.0);
  for (int f = 0; f < 16; ++f) {
    EXPECT_EQ(plan.diffused[f], f);
    EXPECT_EQ(plan.map[f].left, f);
    EXPECT_EQ(plan.map[f].right, f);
    EXPECT_EQ(plan.map[f].t, 0.0);
  }
}

TEST(KeyframePlan, CountMatchesFormula) {
  for (int frames = 1; frames <= 40; ++frames) {
    for (int s = 1; s <= 8; ++s) {
      const KeyframePlan plan = make_keyframe_plan(frames, s, 24.0);
      const int expected = frames == 1 ? 1 : (frames - 1 + s - 1) / s + 1;
      EXPECT_EQ(plan.diffused_frames(), expected) << "F=" << frames << " s=" << s;
      EXPECT_EQ(plan.diffused.front(), 0);
      EXPECT_EQ(plan.diffused.back(), frames - 1);
    }
  }
}

TEST(KeyframePlan, StrideFourOnSixteenFrames) {
  const KeyframePlan plan = make_keyframe_plan(16, 4, 24.0);
  EXPECT_EQ(plan.diffused, (std::vector<int>{0, 4, 8, 12, 15}));
  EXPECT_DOUBLE_EQ(plan.effective_fps, 6.0);
  EXPECT_DOUBLE_EQ(plan.frame_fraction(), 5.0 / 16.0);
  // Frame 2 sits halfway between slot 0 (frame 0) and slot 1 (frame 4).
  EXPECT_EQ(plan.map[2].left, 0);
  EXPECT_EQ(plan.map[2].right, 1);
  EXPECT_DOUBLE_EQ(plan.map[2].t, 0.5);
  // Frame 14 sits between frame 12 (slot 3) and 15 (slot 4): t = 2/3.
  EXPECT_EQ(plan.map[14].left, 3);
  EXPECT_EQ(plan.map[14].right, 4);
  EXPECT_NEAR(plan.map[14].t, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(plan.map[15].left, 4);
  EXPECT_EQ(plan.map[15].right, 4);
}

TEST(KeyframePlan, PinnedFramesAreAlwaysDiffused) {
  const std::vector<int> pinned = {0, 5, 9};
  const KeyframePlan plan = make_keyframe_plan(16, 4, 24.0, pinned);
  EXPECT_EQ(plan.diffused, (std::vector<int>{0, 4, 5, 8, 9, 12, 15}));
  EXPECT_EQ(plan.pinned, pinned);
  EXPECT_EQ(plan.map[5].left, plan.map[5].right);
  EXPECT_DOUBLE_EQ(plan.map[5].t, 0.0);
  EXPECT_NEAR(plan.map[6].t, 1.0 / 3.0, 1e-12);  // between 5 and 8
}

TEST(KeyframePlan, RejectsBadInput) {
  EXPECT_THROW((void)make_keyframe_plan(0, 2, 24.0), InvalidArgument);
  EXPECT_THROW((void)make_keyframe_plan(16, 0, 24.0), InvalidArgument);
  EXPECT_THROW((void)make_keyframe_plan(16, 17, 24.0), InvalidArgument);
  EXPECT_THROW((void)make_keyframe_plan(16, 2, 0.0), InvalidArgument);
  const std::vector<int> bad = {16};
  EXPECT_THROW((void)make_keyframe_plan(16, 2, 24.0, bad), InvalidArgument);
  try {
    (void)make_keyframe_plan(16, 40, 24.0);
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "frame_stride must be an integer in [1, 16], got 40");
  }
}

}  // namespace
}  // namespace ltx2eff
