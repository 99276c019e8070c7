#include "ltx2eff/frame_split.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

// Exact pairs of one query frame's grid tokens: its window, the anchor frame, the global keys.
std::vector<double> frame_costs(const WindowPlan& plan) {
  const double hw = static_cast<double>(plan.grid().tokens_per_frame());
  const double g = static_cast<double>(plan.global_tokens());
  std::vector<double> costs;
  costs.reserve(plan.frames().size());
  for (const FramePlan& fp : plan.frames()) {
    costs.push_back(hw * (fp.near.size() * hw + (fp.anchor ? hw : 0.0) + g));
  }
  return costs;
}

// Run boundaries at the prefix-sum targets total * r / ranks; every run keeps at least one frame.
std::vector<int> balanced_boundaries(const std::vector<double>& costs, int ranks) {
  const int frames = static_cast<int>(costs.size());
  std::vector<double> prefix(costs.size() + 1, 0.0);
  std::partial_sum(costs.begin(), costs.end(), prefix.begin() + 1);
  const double total = prefix.back();
  std::vector<int> bounds(static_cast<std::size_t>(ranks) + 1, 0);
  bounds.back() = frames;
  for (int r = 1; r < ranks; ++r) {
    const double target = total * r / ranks;
    // The boundary whose prefix is nearest the target.
    auto it = std::lower_bound(prefix.begin(), prefix.end(), target);
    int b = static_cast<int>(it - prefix.begin());
    if (b > 0 && target - prefix[static_cast<std::size_t>(b - 1)] <
                     prefix[static_cast<std::size_t>(std::min(b, frames))] - target) {
      --b;
    }
    const int lo = bounds[static_cast<std::size_t>(r - 1)] + 1;
    const int hi = frames - (ranks - r);
    bounds[static_cast<std::size_t>(r)] = std::clamp(b, lo, hi);
  }
  return bounds;
}

FrameRange key_range(const WindowPlan& plan, FrameRange owned) {
  FrameRange keys{owned.begin, owned.end};
  for (int f = owned.begin; f < owned.end; ++f) {
    const FrameRange near = plan.frame(f).near;
    keys.begin = std::min(keys.begin, near.begin);
    keys.end = std::max(keys.end, near.end);
  }
  return keys;
}

}  // namespace

int FrameSplit::owner(int frame) const {
  require_in_range("frame", frame, 0, grid.frames - 1);
  for (int r = 0; r < rank_count(); ++r) {
    if (ranks[static_cast<std::size_t>(r)].owned.contains(frame)) return r;
  }
  fail("frame", "frame " + std::to_string(frame) + " is owned by no rank");
}

std::int64_t FrameSplit::halo_tokens() const {
  std::int64_t frames = 0;
  for (const HaloTransfer& t : transfers) frames += t.frames.size();
  if (spec.anchor_frame && spec.window != kWindowOff) {
    for (const RankFrames& r : ranks) frames += r.keys.contains(0) ? 0 : 1;
  }
  return frames * grid.tokens_per_frame();
}

double FrameSplit::imbalance() const {
  double total = 0.0;
  double worst = 0.0;
  for (const RankFrames& r : ranks) {
    total += r.pairs;
    worst = std::max(worst, r.pairs);
  }
  return total > 0.0 ? worst * rank_count() / total : 1.0;
}

FrameSplit make_frame_split(LatentShape grid, std::int64_t global_tokens, WindowSpec spec,
                            int ranks) {
  const WindowPlan plan(grid, global_tokens, spec);
  if (spec.far_field != 0) {
    fail("far_field",
         "frame-parallel attention does not support the far field (set it to 0), got " +
             std::to_string(spec.far_field));
  }
  require_in_range("ranks", ranks, 1, std::min(grid.frames, kMaxRanks));
  const std::vector<double> costs = frame_costs(plan);
  const std::vector<int> bounds = balanced_boundaries(costs, ranks);

  FrameSplit split{grid, global_tokens, spec, {}, {}};
  for (int r = 0; r < ranks; ++r) {
    const FrameRange owned{bounds[static_cast<std::size_t>(r)],
                           bounds[static_cast<std::size_t>(r) + 1]};
    const double pairs =
        std::accumulate(costs.begin() + owned.begin, costs.begin() + owned.end, 0.0);
    split.ranks.push_back({owned, key_range(plan, owned), pairs});
  }
  for (int dst = 0; dst < ranks; ++dst) {
    const FrameRange keys = split.ranks[static_cast<std::size_t>(dst)].keys;
    for (int src = 0; src < ranks; ++src) {
      if (src == dst) continue;
      const FrameRange owned = split.ranks[static_cast<std::size_t>(src)].owned;
      const FrameRange part{std::max(keys.begin, owned.begin), std::min(keys.end, owned.end)};
      if (part.size() > 0) split.transfers.push_back({src, dst, part});
    }
  }
  return split;
}

}  // namespace ltx2eff
