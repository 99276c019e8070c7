// The CUDA kernels' block-sparse schedule (ltx2eff/cuda/window_tiles.hpp) against WindowPlan:
// every query row is owned by exactly one tile, and the key ranges a tile visits are exactly the
// keys (and pooled far-field frames) that WindowPlan assigns to each of its rows, without overlap,
// also for the own-frame / other-frames key subsets of spatial freeze.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "ltx2eff/cuda/window_tiles.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {
namespace {

struct Case {
  int frames, height, width;
  std::int64_t global_tokens;
  int window;
  bool anchor;
  int pool;
  int rows_per_tile;
  int subset = cuda::kKeysAll;
};

// Expected exact keys (0/1 per token) and pooled keys (0/1 per pooled index) of query `row`.
void expected_keys(const WindowPlan& plan, int subset, std::int64_t row, std::vector<int>& exact,
                   std::vector<int>& pooled) {
  const LatentShape& g = plan.grid();
  const std::int64_t hw = g.tokens_per_frame();
  const std::int64_t grid_tokens = g.tokens();
  const std::int64_t tokens = grid_tokens + plan.global_tokens();
  const std::int64_t p = plan.pooled_tokens_per_frame();
  exact.assign(static_cast<std::size_t>(tokens), 0);
  pooled.assign(static_cast<std::size_t>(g.frames * p), 0);
  if (row >= grid_tokens) {  // global queries: every key, or none for the own-frame subset
    if (subset != cuda::kKeysOwnFrame) {
      for (auto& e : exact) e = 1;
    }
    return;
  }
  const int own = static_cast<int>(row / hw);
  if (plan.is_dense()) {
    for (auto& e : exact) e = 1;
  } else {
    const FramePlan& fp = plan.frame(own);
    for (int f = fp.near.begin; f < fp.near.end; ++f) {
      for (std::int64_t i = 0; i < hw; ++i) exact[static_cast<std::size_t>(f * hw + i)] = 1;
    }
    if (fp.anchor) {
      for (std::int64_t i = 0; i < hw; ++i) exact[static_cast<std::size_t>(i)] = 1;
    }
    for (std::int64_t t = grid_tokens; t < tokens; ++t) exact[static_cast<std::size_t>(t)] = 1;
    for (int f : fp.far) {
      for (std::int64_t i = 0; i < p; ++i) pooled[static_cast<std::size_t>(f * p + i)] = 1;
    }
  }
  if (subset == cuda::kKeysAll) return;
  for (std::int64_t k = 0; k < tokens; ++k) {
    const bool in_own = k >= own * hw && k < (own + 1) * hw;
    if (subset == cuda::kKeysOwnFrame) {
      exact[static_cast<std::size_t>(k)] = in_own ? 1 : 0;
    } else if (in_own) {
      exact[static_cast<std::size_t>(k)] = 0;
    }
  }
  if (subset == cuda::kKeysOwnFrame) {
    for (auto& e : pooled) e = 0;
  }
}

void check_case(const Case& c) {
  SCOPED_TRACE(testing::Message() << "F=" << c.frames << " H=" << c.height << " W=" << c.width
                                  << " G=" << c.global_tokens << " K=" << c.window
                                  << " anchor=" << c.anchor << " p=" << c.pool
                                  << " rows=" << c.rows_per_tile << " subset=" << c.subset);
  const WindowPlan plan({c.frames, c.height, c.width}, c.global_tokens,
                        {c.window, c.anchor, c.pool});
  const cuda::WindowTiles w =
      cuda::make_window_tiles(c.frames, c.height, c.width, c.global_tokens, c.window, c.anchor,
                              c.pool, c.rows_per_tile, c.subset);
  ASSERT_EQ(w.dense, plan.is_dense());
  const std::int64_t tokens = plan.grid().tokens() + c.global_tokens;
  ASSERT_EQ(w.tokens, tokens);
  if (!w.dense) {
    ASSERT_EQ(w.pooled_per_frame, plan.pooled_tokens_per_frame());
  }
  std::vector<int> owner(static_cast<std::size_t>(tokens), 0);
  std::vector<int> want_exact, want_pooled;
  for (std::int64_t tile = 0; tile < w.total_tiles; ++tile) {
    const cuda::TileWork t = cuda::tile_work(w, tile);
    ASSERT_LT(t.row_begin, t.row_end) << "tile " << tile;
    ASSERT_LE(t.row_end - t.row_begin, c.rows_per_tile) << "tile " << tile;
    std::vector<int> got_exact(static_cast<std::size_t>(tokens), 0);
    std::vector<int> got_pooled(static_cast<std::size_t>(c.frames * plan.pooled_tokens_per_frame()),
                                0);
    for (const cuda::KeyRange& r : t.ranges) {
      ASSERT_LE(r.begin, r.end);
      std::vector<int>& got = r.pooled ? got_pooled : got_exact;
      for (std::int64_t k = r.begin; k < r.end; ++k) {
        ASSERT_LT(k, static_cast<std::int64_t>(got.size()));
        ASSERT_EQ(got[static_cast<std::size_t>(k)], 0) << "key " << k << " visited twice";
        got[static_cast<std::size_t>(k)] = 1;
      }
    }
    for (std::int64_t row = t.row_begin; row < t.row_end; ++row) {
      ++owner[static_cast<std::size_t>(row)];
      expected_keys(plan, c.subset, row, want_exact, want_pooled);
      ASSERT_EQ(got_exact, want_exact) << "row " << row;
      ASSERT_EQ(got_pooled, want_pooled) << "row " << row;
    }
  }
  for (std::int64_t row = 0; row < tokens; ++row) {
    ASSERT_EQ(owner[static_cast<std::size_t>(row)], 1) << "row " << row;
  }
}

TEST(AttentionTiles, MatchWindowPlanOnSmallGrids) {
  for (int frames : {1, 2, 3, 4, 5, 7, 9}) {
    for (int window : {kWindowOff, 0, 1, 2, 4}) {
      for (std::int64_t global_tokens : {0, 1, 5}) {
        for (bool anchor : {false, true}) {
          for (int pool : {0, 1, 2, 3}) {
            for (int rows : {1, 4, 7, 64}) {
              for (int subset : {cuda::kKeysAll, cuda::kKeysOwnFrame, cuda::kKeysOtherFrames}) {
                check_case({frames, 3, 5, global_tokens, window, anchor, pool, rows, subset});
                if (HasFatalFailure()) return;
              }
            }
          }
        }
      }
    }
  }
}

TEST(AttentionTiles, ReferenceGridsGroupSharedWindows) {
  // 16x22x40, K=1, 128-row tiles: frames {0,1} and {14,15} share one window each, so each edge
  // group holds 1,760 rows (14 tiles) and each of the 12 middle frames 880 rows (7 tiles).
  const cuda::WindowTiles w = cuda::make_window_tiles(16, 22, 40, 0, 1, false, 0, 128);
  EXPECT_FALSE(w.dense);
  EXPECT_EQ(w.tiles_edge, 14);
  EXPECT_EQ(w.tiles_mid, 7);
  EXPECT_EQ(w.mid_frames, 12);
  EXPECT_EQ(w.total_tiles, 2 * 14 + 12 * 7);
  const cuda::TileWork mid = cuda::tile_work(w, 14 + 7 * 3);  // first tile of frame 5
  EXPECT_EQ(mid.row_begin, 5 * 880);
  EXPECT_EQ(mid.ranges[1].begin, 4 * 880);
  EXPECT_EQ(mid.ranges[1].end, 7 * 880);
  check_case({16, 22, 40, 0, 1, false, 0, 128});
  check_case({13, 16, 28, 448, 2, true, 4, 128});
  check_case({16, 22, 40, 7, 1, true, 4, 128});
  check_case({16, 22, 40, 7, 1, true, 4, 128, cuda::kKeysOtherFrames});
  check_case({13, 16, 28, 448, 2, true, 4, 128, cuda::kKeysOwnFrame});
}

}  // namespace
}  // namespace ltx2eff
