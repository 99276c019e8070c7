// Temporal-window attention over tensor views: the public entry point of the attention engine.
//
// Semantics (the contract every backend, CPU, CUDA and the Python paths, is tested against with
// a float64 reference; README "Window attention" states it for users). The first F*H*W tokens
// form the latent grid in frame-major order; the remaining `global_tokens` tokens are global. A
// grid query in frame f attends exactly to the keys of the frames in window_range(f, F, K), to
// frame 0 when the anchor is on, and to every global key. With far_field = p > 0 it also attends
// to the p x p average-pooled keys of every other frame; a pooled key stands for the c tokens of
// its cell, so its logit gets + log(c) (p = 1 reproduces dense attention over those frames).
// Global queries attend to all keys exactly. K >= F - 1 (or window = kWindowOff) is dense
// attention.
//
// Layout: q, k, v, out are [B, heads, T, D] with a unit stride on D (any other strides);
// lse, when given, is float32 [B, heads, T] (natural log of the softmax denominator, including
// the 1/sqrt(D) scale), so partial attentions can be merged with merge_attention().
#pragma once

#include <cstdint>

#include "ltx2eff/geometry.hpp"
#include "ltx2eff/presets.hpp"
#include "ltx2eff/tensor_view.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

// The softmax scales a call may ask for (besides 0, which means 1 / sqrt(D)): larger ones overflow
// the float32 logits of ordinary inputs (1e308 gives NaN everywhere); smaller ones round to 0 in
// float32 and make every key weigh the same.
inline constexpr double kMinAttentionScale = 1e-12;
inline constexpr double kMaxAttentionScale = 1e3;

struct AttentionOptions {
  LatentShape grid;                        // (F, H, W) of the first F*H*W tokens
  std::int64_t global_tokens = 0;          // appended tokens after the grid
  WindowSpec window{};                     // K, anchor frame, far-field pool factor
  Precision precision = Precision::kAuto;  // kFp8FarField: 8-bit QK for pooled keys
  double scale = 0.0;                      // softmax scale; 0 means 1 / sqrt(D)
};

// Which implementation ran, for logs ("cuda", "cpu").
enum class AttentionBackend { kCpu, kCuda };

// Computes out (and lse when non-null). Validates shapes, dtypes (float32, float16, bfloat16;
// q, k, v and out alike), devices (all CPU or all on one CUDA device) and knobs; throws
// InvalidArgument naming the parameter, or Unavailable for CUDA views in a build without CUDA.
AttentionBackend window_attention(const TensorView& q, const TensorView& k, const TensorView& v,
                                  const TensorView& out, const TensorView* lse,
                                  const AttentionOptions& options);

// out = merge of two partial attentions over disjoint key sets, by log-sum-exp:
//   lse = log(exp(lse_a) + exp(lse_b)), out = out_a * exp(lse_a - lse) + out_b * exp(lse_b - lse).
// out may alias out_a; lse_out may alias lse_a. A partial with lse = -inf contributes nothing.
void merge_attention(const TensorView& out_a, const TensorView& lse_a, const TensorView& out_b,
                     const TensorView& lse_b, const TensorView& out, const TensorView& lse_out);

}  // namespace ltx2eff
