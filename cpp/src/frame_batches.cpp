#include "ltx2eff/frame_batches.hpp"

#include <cstddef>
#include <map>
#include <utility>

namespace ltx2eff {
namespace {

struct Run {  // consecutive query frames with one near range
  int q_first;
  int q_frames;
  FrameRange keys;
};

std::vector<Run> runs_of(const WindowPlan& plan) {
  std::vector<Run> runs;
  const auto& frames = plan.frames();
  for (int f = 0; f < static_cast<int>(frames.size()); ++f) {
    const FrameRange near = frames[static_cast<std::size_t>(f)].near;
    if (!runs.empty()) {
      Run& last = runs.back();
      if (last.keys.begin == near.begin && last.keys.end == near.end &&
          last.q_first + last.q_frames == f) {
        ++last.q_frames;
        continue;
      }
    }
    runs.push_back({f, 1, near});
  }
  return runs;
}

}  // namespace

std::vector<FrameBatch> frame_batches(const WindowPlan& plan) {
  // Runs of equal sizes, in frame order; each group splits into arithmetic progressions.
  std::map<std::pair<int, int>, std::vector<std::pair<int, int>>> by_size;
  std::vector<std::pair<int, int>> order;
  for (const Run& run : runs_of(plan)) {
    const std::pair<int, int> size{run.q_frames, run.keys.size()};
    auto [it, inserted] = by_size.try_emplace(size);
    if (inserted) order.push_back(size);
    it->second.emplace_back(run.q_first, run.keys.begin);
  }
  std::vector<FrameBatch> batches;
  for (const auto& size : order) {
    const auto& starts = by_size.at(size);
    std::size_t i = 0;
    while (i < starts.size()) {
      FrameBatch b;
      b.q_first = starts[i].first;
      b.k_first = starts[i].second;
      b.q_frames = size.first;
      b.k_frames = size.second;
      b.q_step = size.first;  // a single window: any step; one past the window
      b.k_step = size.second;
      std::size_t j = i + 1;
      if (j < starts.size()) {
        b.q_step = starts[j].first - starts[i].first;
        b.k_step = starts[j].second - starts[i].second;
        while (j + 1 < starts.size() && starts[j + 1].first - starts[j].first == b.q_step &&
               starts[j + 1].second - starts[j].second == b.k_step) {
          ++j;
        }
        ++j;
      }
      b.count = static_cast<int>(j - i);
      batches.push_back(b);
      i = j;
    }
  }
  return batches;
}

}  // namespace ltx2eff
