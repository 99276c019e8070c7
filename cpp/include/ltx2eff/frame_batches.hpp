// The window plan as batches of query frames whose key spans advance evenly. With shifted windows
// every interior query frame attends to 2K + 1 frames starting one frame after its predecessor's,
// so a host can run all of them as one batched call of a dense attention kernel whose K and V
// are overlapping strided views of the input (batch stride one frame): no gathered copies and
// no per-frame launches. The borders (the first and last K + 1 frames share one span each) form
// a second batch. Only the near ranges are batched; the anchor frame, the global tokens and the
// far field are extra partials the host merges by log-sum-exp.
#pragma once

#include <vector>

#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

// `count` windows; window i has `q_frames` query frames from q_first + i * q_step and `k_frames`
// key frames from k_first + i * k_step (latent frames).
struct FrameBatch {
  int count = 0;
  int q_first = 0;
  int q_step = 0;
  int q_frames = 0;
  int k_first = 0;
  int k_step = 0;
  int k_frames = 0;
};

// Every query frame of the plan in exactly one window, each window with the frame's near range;
// consecutive frames with one near range share a window, and windows of equal sizes whose starts
// advance evenly share a batch (at most two batches for any grid and K).
std::vector<FrameBatch> frame_batches(const WindowPlan& plan);

}  // namespace ltx2eff
