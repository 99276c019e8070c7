#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ltx2eff/error.hpp"
#include "ltx2eff/frame_split.hpp"

namespace ltx2eff {
namespace {

// Every query frame's exact key frames (window, and frame 0 through the anchor broadcast) must be
// on its rank: owned, received from a neighbour, or the anchor.
void expect_complete(const FrameSplit& split) {
  const WindowPlan plan(split.grid, split.global_tokens, split.spec);
  for (int r = 0; r < split.rank_count(); ++r) {
    const RankFrames& rank = split.ranks[static_cast<std::size_t>(r)];
    std::set<int> have;
    for (int f = rank.owned.begin; f < rank.owned.end; ++f) have.insert(f);
    for (const HaloTransfer& t : split.transfers) {
      if (t.dst != r) continue;
      EXPECT_NE(t.src, r);
      for (int f = t.frames.begin; f < t.frames.end; ++f) {
        EXPECT_TRUE(split.ranks[static_cast<std::size_t>(t.src)].owned.contains(f));
        EXPECT_TRUE(have.insert(f).second) << "frame " << f << " received twice by rank " << r;
      }
    }
    for (int f = rank.owned.begin; f < rank.owned.end; ++f) {
      const FramePlan& fp = plan.frame(f);
      for (int k = fp.near.begin; k < fp.near.end; ++k) {
        EXPECT_TRUE(have.count(k)) << "rank " << r << " query frame " << f << " lacks key " << k;
      }
    }
    EXPECT_EQ(static_cast<int>(have.size()), rank.keys.size());
  }
}

TEST(FrameSplit, CoversEveryFrameContiguouslyForEveryRankCount) {
  for (int frames : {1, 2, 5, 16, 31}) {
    for (int window : {kWindowOff, 0, 1, 2, 4}) {
      for (bool anchor : {false, true}) {
        for (int ranks = 1; ranks <= std::min(frames, 6); ++ranks) {
          const FrameSplit split =
              make_frame_split({frames, 3, 4}, 2, WindowSpec{window, anchor, 0}, ranks);
          ASSERT_EQ(split.rank_count(), ranks);
          int next = 0;
          for (const RankFrames& r : split.ranks) {
            EXPECT_EQ(r.owned.begin, next);
            EXPECT_GT(r.owned.size(), 0);
            next = r.owned.end;
          }
          EXPECT_EQ(next, frames);
          expect_complete(split);
        }
      }
    }
  }
}

TEST(FrameSplit, WindowNeedsOnlyNeighbourHalos) {
  // 16 frames, K = 1, 2 ranks: rank 0 owns 0-7 and needs frame 8, rank 1 owns 8-15 and needs 7.
  const FrameSplit split = make_frame_split({16, 22, 40}, 0, WindowSpec{1, false, 0}, 2);
  EXPECT_EQ(split.ranks[0].owned.end, 8);
  EXPECT_EQ(split.ranks[0].keys.end, 9);
  EXPECT_EQ(split.ranks[1].keys.begin, 7);
  ASSERT_EQ(split.transfers.size(), 2U);
  EXPECT_EQ(split.halo_tokens(), 2 * 22 * 40);
  EXPECT_DOUBLE_EQ(split.imbalance(), 1.0);
  EXPECT_EQ(split.owner(7), 0);
  EXPECT_EQ(split.owner(8), 1);
}

TEST(FrameSplit, BalancesPairsWhenTheAnchorMakesFramesUneven) {
  // With the anchor, frames far from 0 see one more frame, so the first rank takes more frames.
  const FrameSplit split = make_frame_split({16, 8, 8}, 0, WindowSpec{1, true, 0}, 4);
  EXPECT_LT(split.imbalance(), 1.1);
  EXPECT_GE(split.ranks[0].owned.size(), split.ranks[3].owned.size());
  // Ranks 1-3 need frame 0 from the broadcast: counted once each in the halo tokens.
  std::int64_t halo_frames = 0;
  for (const HaloTransfer& t : split.transfers) halo_frames += t.frames.size();
  EXPECT_EQ(split.halo_tokens(), (halo_frames + 3) * 64);
}

TEST(FrameSplit, DenseNeedsEveryFrameOnEveryRank) {
  const FrameSplit split = make_frame_split({9, 2, 2}, 0, WindowSpec{kWindowOff, false, 0}, 3);
  for (const RankFrames& r : split.ranks) {
    EXPECT_EQ(r.keys.begin, 0);
    EXPECT_EQ(r.keys.end, 9);
    EXPECT_EQ(r.owned.size(), 3);
  }
}

TEST(FrameSplit, RejectsBadRanksAndFarField) {
  EXPECT_THROW(make_frame_split({4, 2, 2}, 0, WindowSpec{1, false, 0}, 0), InvalidArgument);
  EXPECT_THROW(make_frame_split({4, 2, 2}, 0, WindowSpec{1, false, 0}, 5), InvalidArgument);
  EXPECT_THROW(make_frame_split({4, 2, 2}, 0, WindowSpec{1, false, 2}, 2), InvalidArgument);
  try {
    make_frame_split({4, 2, 2}, 0, WindowSpec{1, false, 0}, 9);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), "ranks");
  }
}

}  // namespace
}  // namespace ltx2eff
