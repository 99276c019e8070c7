// Temporal interpolation of latent frames: rebuilds a full-length latent [B, C, F, H, W] from the
// keyframes [B, C, F', H, W] a KeyframePlan diffused. Diffused frames are copied exactly; every
// other frame f blends the keyframes plan.map[f].left and .right at weight t = plan.map[f].t.
//
// Methods (CPU; float32, float16 and bfloat16 in and out, computed in float32):
// - lerp:   (1 - t) a + t b.
// - slerp:  per token, over the channels: the direction moves along the great circle from a/|a|
//           to b/|b| and the norm is interpolated linearly, so |out| = (1 - t)|a| + t|b|.
//           Falls back to lerp when the directions are nearly parallel or opposite (the arc is
//           then ill-conditioned) or when a norm is zero.
// - motion: motion-compensated warp in latent space.
//   1. Block matching: every block x block tile of the left keyframe A is matched against the
//      right keyframe B at integer displacements within +-search_radius (mean squared difference
//      over all channels and the tile's in-bounds tokens, plus a small penalty on the squared
//      displacement so flat regions stay still), then refined to sub-token precision by a
//      parabola through the cost at d-1, d, d+1 on each axis. The same gives the backward field
//      B -> A. Each field is cleaned by a 3x3 component-wise median over blocks and sampled
//      bilinearly at every token.
//   2. Warping to time t: with the forward field D_ab and backward field D_ba at token p, the
//      flow from the intermediate frame back to each keyframe is approximated by
//        F_ta = -(1 - t) t D_ab + t^2 D_ba,   F_tb = (1 - t)^2 D_ab - t (1 - t) D_ba,
//      and the warped keyframes are A(p + F_ta) and B(p + F_tb) (bilinear, clamped at borders).
//   3. Occlusion-aware blend: a warped sample is trusted by the forward-backward consistency of
//      its source, v = 1 / (1 + (|D_ab(q) + D_ba(q + D_ab(q))| / tau)^2), and not at all when its
//      source fell outside the frame. out = ((1-t) v_a A' + t v_b B') / ((1-t) v_a + t v_b);
//      where neither side is trusted it falls back to (1-t) A' + t B'.
//   At t = 0 the flows vanish and the output equals A; at t = 1 it equals B.
#pragma once

#include <vector>

#include "ltx2eff/keyframe_plan.hpp"
#include "ltx2eff/presets.hpp"
#include "ltx2eff/tensor_view.hpp"

namespace ltx2eff {

struct MotionOptions {
  int block = 2;                  // tile side in tokens, [1, 16]
  int search_radius = 3;          // integer search range in tokens, [0, 16]
  bool subtoken = true;           // parabolic sub-token refinement
  double motion_penalty = 0.02;   // cost += penalty * |d|^2 * mean token energy, [0, 10]
  double consistency_tau = 0.75;  // tokens of forward-backward mismatch halving the trust, > 0
};

struct InterpolationOptions {
  Interpolation method = Interpolation::kLerp;  // kUpsampler is a host-side method: rejected
  double slerp_parallel_cos = 0.9995;           // |cos| above which slerp falls back to lerp
  MotionOptions motion{};
};

// keyframes: [B, C, F', H, W] with F' == plan.diffused_frames(); out: [B, C, F, H, W] with
// F == plan.full_frames, on the CPU, any strides, not overlapping keyframes. Throws
// InvalidArgument naming the parameter for bad shapes, dtypes, devices or options.
void interpolate_frames(const TensorView& keyframes, const KeyframePlan& plan,
                        const TensorView& out, const InterpolationOptions& options = {});

// A displacement field at token resolution: B(p + d(p)) ~ A(p), d in tokens (dy, dx).
struct MotionField {
  int height = 0;
  int width = 0;
  std::vector<float> dy;  // [height * width]
  std::vector<float> dx;
};

// Estimates the field from frame a to frame b, both [C, H, W] float32 contiguous (exposed for
// tests and diagnostics; interpolate_frames uses the same estimator).
MotionField estimate_motion(const float* a, const float* b, int channels, int height, int width,
                            const MotionOptions& options = {});

void validate_motion_options(const MotionOptions& options);

}  // namespace ltx2eff
