// The block-sparse schedule of the CUDA window-attention kernels: which query rows each CTA owns
// and which key ranges it visits. Plain C++17 shared by host and device code, so the schedule the
// kernels run is the one the host tests check against WindowPlan.
//
// Query rows are cut into groups whose rows all see the same keys: with shifted windows the
// first K+1 frames share one window and so do the last K+1 frames; every middle frame is its
// own group; the appended global tokens form the first group (they see every key exactly, the
// longest tiles, so they start first). Each group is split into tiles of `rows_per_tile` rows
// (one CTA each), so a tile never mixes key sets. A tile visits at most kMaxKeyRanges contiguous
// key ranges: the anchor frame, the near frames (in two parts when its own frame is left out),
// the global tokens (all read in place from K/V) and up to two runs of pooled far-field frames
// (read from the pooled K/V buffer, frame-major, `pooled_per_frame` rows per frame).
//
// Key subsets (spatial freeze) split each query's keys into its own frame and everything else;
// then every frame is its own group.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define LTX2EFF_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LTX2EFF_HOST_DEVICE inline
#endif

namespace ltx2eff::cuda {

inline constexpr int kMaxKeyRanges = 6;
inline constexpr int kFirstPooledRange = 4;  // slots 4 and 5 are pooled

// Which of each query's keys a call attends to (the order of ltx2eff::KeySubset).
inline constexpr int kKeysAll = 0;
inline constexpr int kKeysOwnFrame = 1;     // grid queries: own frame; global queries: none
inline constexpr int kKeysOtherFrames = 2;  // grid queries: all but the own frame; global: all

struct KeyRange {
  std::int64_t begin = 0;  // token index, or pooled index when `pooled`
  std::int64_t end = 0;    // exclusive
  bool pooled = false;
};

struct TileWork {
  std::int64_t row_begin = 0;  // query tokens [row_begin, row_end)
  std::int64_t row_end = 0;
  KeyRange ranges[kMaxKeyRanges];  // see add_window_ranges for the slots; empty when unused
};

struct WindowTiles {
  int frames = 1;
  int hw = 1;                    // tokens per latent frame (H * W)
  std::int64_t grid_tokens = 0;  // F * H * W
  std::int64_t tokens = 0;       // grid + global
  int window = -1;               // K; only meaningful when !dense
  bool dense = true;             // every grid frame is near every other
  bool anchor = false;           // frame 0 visible to all (only when not already near)
  int pool = 0;                  // far-field pool factor p; 0 = off (always 0 when dense)
  int subset = kKeysAll;
  std::int64_t pooled_per_frame = 0;
  int rows_per_tile = 128;
  std::int64_t tiles_global = 0;  // tiles of the global-token group
  std::int64_t tiles_edge = 0;    // tiles of the first (and of the last) K+1 frames
  std::int64_t tiles_mid = 0;     // tiles of one single-frame group
  int first_mid_frame = 0;        // frames [first_mid_frame, + mid_frames) are single groups
  int mid_frames = 0;
  std::int64_t total_tiles = 0;
};

LTX2EFF_HOST_DEVICE std::int64_t ceil_div_i64(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

LTX2EFF_HOST_DEVICE std::int64_t min_i64(std::int64_t a, std::int64_t b) {
  return a < b ? a : b;
}

// window < 0 means dense. pool is ignored for dense plans (nothing lies outside the window).
LTX2EFF_HOST_DEVICE WindowTiles make_window_tiles(int frames, int height, int width,
                                                  std::int64_t global_tokens, int window,
                                                  bool anchor, int pool, int rows_per_tile,
                                                  int subset = kKeysAll) {
  WindowTiles w;
  w.frames = frames;
  w.hw = height * width;
  w.grid_tokens = static_cast<std::int64_t>(frames) * w.hw;
  w.tokens = w.grid_tokens + global_tokens;
  w.window = window;
  w.rows_per_tile = rows_per_tile;
  w.subset = subset;
  w.dense = window < 0 || 2 * static_cast<std::int64_t>(window) + 1 >= frames;
  if (w.dense && subset == kKeysAll) {
    w.total_tiles = ceil_div_i64(w.tokens, rows_per_tile);
    return w;
  }
  if (!w.dense) {
    w.anchor = anchor;
    w.pool = pool;
    if (pool > 0) {
      w.pooled_per_frame = static_cast<std::int64_t>((height + pool - 1) / pool) *
                           static_cast<std::int64_t>((width + pool - 1) / pool);
    }
  }
  w.tiles_global = ceil_div_i64(global_tokens, rows_per_tile);
  w.tiles_mid = ceil_div_i64(w.hw, rows_per_tile);
  if (subset == kKeysAll) {
    w.tiles_edge = ceil_div_i64(static_cast<std::int64_t>(window + 1) * w.hw, rows_per_tile);
    w.first_mid_frame = window + 1;
    w.mid_frames = frames - 2 * (window + 1);
  } else {
    w.first_mid_frame = 0;
    w.mid_frames = frames;
  }
  w.total_tiles = w.tiles_global + 2 * w.tiles_edge + w.mid_frames * w.tiles_mid;
  return w;
}

// Key ranges of a grid group whose near window is frames [b, e); `own` is the group's frame
// (single-frame groups of the key subsets). Fixed slots, so that compile-time indices keep the
// kernels' copies in registers: 0 anchor, 1 and 2 the near window before and after the own
// frame (1 holds the whole window when the own frame is not left out), 3 global tokens, 4 and 5
// the pooled far field before and after the window. Unused slots stay empty. An anchor right
// before the window, and global tokens right after it, join the adjacent range.
LTX2EFF_HOST_DEVICE void add_window_ranges(const WindowTiles& w, int b, int e, int own,
                                           TileWork& t) {
  const std::int64_t hw = w.hw;
  t.ranges[4].pooled = true;
  t.ranges[5].pooled = true;
  if (w.subset == kKeysOwnFrame) {
    t.ranges[1] = KeyRange{own * hw, (own + 1) * hw, false};
    return;
  }
  const bool other = w.subset == kKeysOtherFrames;
  if (w.anchor && b > 1) t.ranges[0] = KeyRange{0, hw, false};
  t.ranges[1] = KeyRange{w.anchor && b == 1 ? 0 : b * hw, (other ? own : e) * hw, false};
  if (other) t.ranges[2] = KeyRange{(own + 1) * hw, e * hw, false};
  if (w.tokens > w.grid_tokens) {
    if (other && e == w.frames && own + 1 < e) {
      t.ranges[2].end = w.tokens;
    } else if (!other && e == w.frames) {
      t.ranges[1].end = w.tokens;
    } else {
      t.ranges[3] = KeyRange{w.grid_tokens, w.tokens, false};
    }
  }
  if (w.pool > 0) {
    const std::int64_t p = w.pooled_per_frame;
    const int first_far = w.anchor ? 1 : 0;
    if (b > first_far) t.ranges[4] = KeyRange{first_far * p, b * p, true};
    if (e < w.frames) t.ranges[5] = KeyRange{e * p, w.frames * p, true};
  }
}

// The near window [b, e) of a frame: min(F, 2K+1) frames centred on it, shifted inward.
LTX2EFF_HOST_DEVICE void near_window(const WindowTiles& w, int frame, int& b, int& e) {
  if (w.dense) {
    b = 0;
    e = w.frames;
    return;
  }
  const int size = 2 * w.window + 1;
  b = frame - w.window;
  b = b < 0 ? 0 : (b > w.frames - size ? w.frames - size : b);
  e = b + size;
}

// The rows and key ranges of tile `tile` (0 <= tile < w.total_tiles).
LTX2EFF_HOST_DEVICE TileWork tile_work(const WindowTiles& w, std::int64_t tile) {
  TileWork t;
  t.ranges[4].pooled = true;
  t.ranges[5].pooled = true;
  const std::int64_t rows = w.rows_per_tile;
  if (w.dense && w.subset == kKeysAll) {
    t.row_begin = tile * rows;
    t.row_end = min_i64(w.tokens, t.row_begin + rows);
    t.ranges[1] = KeyRange{0, w.tokens, false};
    return t;
  }
  if (tile < w.tiles_global) {
    t.row_begin = w.grid_tokens + tile * rows;
    t.row_end = min_i64(w.tokens, t.row_begin + rows);
    if (w.subset != kKeysOwnFrame) t.ranges[1] = KeyRange{0, w.tokens, false};
    return t;
  }
  tile -= w.tiles_global;
  const int k = w.window;
  const std::int64_t hw = w.hw;
  int b = 0;
  int e = 0;
  if (tile < w.tiles_edge) {
    t.row_begin = tile * rows;
    t.row_end = min_i64(static_cast<std::int64_t>(k + 1) * hw, t.row_begin + rows);
    add_window_ranges(w, 0, 2 * k + 1, -1, t);
    return t;
  }
  tile -= w.tiles_edge;
  const std::int64_t mid_tiles = static_cast<std::int64_t>(w.mid_frames) * w.tiles_mid;
  if (tile < mid_tiles) {
    const int frame = w.first_mid_frame + static_cast<int>(tile / w.tiles_mid);
    const std::int64_t frame_begin = frame * hw;
    t.row_begin = frame_begin + (tile % w.tiles_mid) * rows;
    t.row_end = min_i64(frame_begin + hw, t.row_begin + rows);
    near_window(w, frame, b, e);
    add_window_ranges(w, b, e, frame, t);
    return t;
  }
  tile -= mid_tiles;
  const std::int64_t last_begin = static_cast<std::int64_t>(w.frames - k - 1) * hw;
  t.row_begin = last_begin + tile * rows;
  t.row_end = min_i64(w.grid_tokens, t.row_begin + rows);
  add_window_ranges(w, w.frames - 2 * k - 1, w.frames, -1, t);
  return t;
}

}  // namespace ltx2eff::cuda
