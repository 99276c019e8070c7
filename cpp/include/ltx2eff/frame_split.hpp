// Frame-parallel split of the latent grid over ranks (GPUs). Each rank owns a contiguous run of
// latent frames; with temporal-window attention it needs, besides its own frames, only the key
// frames inside its queries' windows (the halo), which come from its neighbours point to point.
// The anchor frame (frame 0) is broadcast once per call by its owner; global tokens (appended
// conditioning) are held by every rank.
#pragma once

#include <cstdint>
#include <vector>

#include "ltx2eff/geometry.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

inline constexpr int kMaxRanks = 1024;

// Key frames of `frames` that rank `dst` needs from rank `src`.
struct HaloTransfer {
  int src = 0;
  int dst = 0;
  FrameRange frames;
};

struct RankFrames {
  FrameRange owned;    // query frames this rank computes (and the tokens it holds)
  FrameRange keys;     // exact key frames its queries need: owned plus the halo on either side
  double pairs = 0.0;  // exact query-key pairs of its grid queries (the balancing cost)
};

struct FrameSplit {
  LatentShape grid;
  std::int64_t global_tokens = 0;
  WindowSpec spec;
  std::vector<RankFrames> ranks;
  std::vector<HaloTransfer> transfers;  // ordered by (dst, src)

  [[nodiscard]] int rank_count() const { return static_cast<int>(ranks.size()); }
  // The rank whose owned frames hold `frame`.
  [[nodiscard]] int owner(int frame) const;
  // Key tokens each rank receives per call (halo frames + the broadcast anchor frame), summed.
  [[nodiscard]] std::int64_t halo_tokens() const;
  // Largest rank cost over the mean rank cost (1 = perfectly balanced).
  [[nodiscard]] double imbalance() const;
};

// Splits grid.frames over `ranks` contiguous runs that balance the exact attention pairs of the
// window plan (border frames, whose windows are shifted inward, and the anchor frame included).
// Window off (dense) balances tokens; every rank then needs every frame. Throws InvalidArgument
// for ranks outside [1, min(frames, kMaxRanks)], a far field (not supported across ranks) or an
// invalid grid/spec.
FrameSplit make_frame_split(LatentShape grid, std::int64_t global_tokens, WindowSpec spec,
                            int ranks);

}  // namespace ltx2eff
