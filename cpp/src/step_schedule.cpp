#include "ltx2eff/step_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ltx2eff/error.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {
namespace {

// "steps 9-29 of 30" (1-based, inclusive, as a user counts them). Strings are built with
// std::to_string rather than streams: no stream locale is involved in a log line.
std::string step_range(int begin, int end, int steps) {
  std::string out = end - begin == 1
                        ? "step " + std::to_string(begin + 1)
                        : "steps " + std::to_string(begin + 1) + "-" + std::to_string(end);
  return out + " of " + std::to_string(steps);
}

}  // namespace

int step_at(double share, int steps) {
  return static_cast<int>(std::lround(share * steps));
}

bool StepSchedule::block_windowed(int block, int blocks) const {
  return block >= dense_first_blocks && block < blocks - dense_last_blocks;
}

int StepSchedule::windowed_blocks(int blocks) const {
  return std::max(0, blocks - dense_first_blocks - dense_last_blocks);
}

std::string StepSchedule::summary(int blocks) const {
  using std::to_string;
  std::string out;
  if (!windowed()) {
    out = "dense attention on every step";
  } else {
    out = windowed_steps() > 0 ? "window on " + step_range(window_begin, window_end, steps)
                               : std::string("window on no main step");
    if (refine_windowed && refine_steps > 0) out += " and the refine steps";
    if (head_recall > 0.0) {
      out += ", on the heads keeping " + to_string(std::lround(head_recall * 100.0)) +
             "% of their mass in it";
    }
    if (dense_first_blocks > 0 || dense_last_blocks > 0) {
      if (blocks <= 0) {
        out += " (first " + to_string(dense_first_blocks) + " and last " +
               to_string(dense_last_blocks) + " blocks dense)";
      } else if (windowed_blocks(blocks) == 0) {
        out += " (on no block: all " + to_string(blocks) + " stay dense)";
      } else {
        out += " (blocks " + to_string(dense_first_blocks + 1) + "-" +
               to_string(blocks - dense_last_blocks) + " of " + to_string(blocks) + ")";
      }
    }
  }
  if (!keyframed()) return out + "; every frame on every step";
  out += "; keyframes on " + step_range(keyframe_begin, keyframe_end, steps) + " (" +
         ltx2eff::to_string(keyframe_mode);
  if (keyframe_mode == KeyframeMode::kRefine && refine_steps > 0) {
    out += ", then " + to_string(refine_steps) + " refine steps";
  }
  return out + ")";
}

StepSchedule make_step_schedule(const Knobs& knobs, int steps) {
  check_sampling("steps", steps);
  validate_knobs(knobs);
  StepSchedule s;
  s.steps = steps;
  s.per_step.resize(static_cast<std::size_t>(steps));
  s.keyframe_mode = knobs.keyframe_mode;
  s.dense_first_blocks = knobs.dense_first_blocks;
  s.dense_last_blocks = knobs.dense_last_blocks;
  s.head_recall = knobs.window_head_recall;

  if (knobs.attention.window != kWindowOff) {
    s.window_begin = step_at(knobs.window_start, steps);
    s.window_end = step_at(knobs.window_end, steps);
  }
  if (knobs.frame_stride > 1) {
    if (knobs.keyframe_mode == KeyframeMode::kRefine) {
      s.keyframe_begin = 0;
      s.keyframe_end = steps;
      s.refine_steps = knobs.refine_steps;
    } else {
      s.keyframe_begin = step_at(knobs.keyframe_start, steps);
      s.keyframe_end = step_at(knobs.keyframe_end, steps);
    }
  }
  // The refine steps run the tail of the schedule: they window when the window reaches the end.
  s.refine_windowed = s.refine_steps > 0 && knobs.attention.window != kWindowOff &&
                      s.window_end == steps && s.window_end > s.window_begin;
  for (int i = 0; i < steps; ++i) {
    StepPlan& step = s.per_step[static_cast<std::size_t>(i)];
    step.window = i >= s.window_begin && i < s.window_end;
    step.keyframes = i >= s.keyframe_begin && i < s.keyframe_end;
  }
  return s;
}

}  // namespace ltx2eff
