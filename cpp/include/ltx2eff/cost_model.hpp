// FLOPs, bytes and peak activation memory of the LTX-2 video stream per model call, by part, for
// dense attention and for a window plan; and the time a device profile predicts from them.
#pragma once

#include <cstdint>
#include <string_view>

#include "ltx2eff/window_plan.hpp"

namespace ltx2eff {

// The LTX-2 19B video stream by default.
struct ModelDims {
  int blocks = 48;
  int heads = 32;
  int head_dim = 128;
  int ff_mult = 4;
  int text_tokens = 1024;    // prompt tokens after the text connector
  int context_dim = 4096;    // width of the text context the video cross-attention reads
  int in_channels = 128;     // latent channels
  int weight_bytes = 2;      // bf16 weights
  int activation_bytes = 2;  // bf16 activations

  [[nodiscard]] std::int64_t width() const { return static_cast<std::int64_t>(heads) * head_dim; }
  // Video-stream parameters of one block (attention, text cross-attention, feed-forward).
  [[nodiscard]] double block_params() const;
};

struct PartCost {
  double flops = 0;
  double bytes = 0;
};

struct CallCost {
  std::int64_t tokens = 0;  // video tokens per sample (grid + global)
  int batch = 1;
  PartCost self_attention_core;    // QK^T and PV over the plan's pairs
  PartCost self_attention_linear;  // q, k, v, out projections
  PartCost cross_attention;        // text cross-attention (projections + core)
  PartCost feed_forward;
  PartCost other;           // patchify in/out, norms, modulation
  double weight_bytes = 0;  // weights read once per call
  double peak_activation_bytes = 0;
  std::int64_t chunk_tokens = 0;  // token chunk the activation budget implies (== tokens if none)
  bool budget_met = true;
  double windowed_core_share = 0;  // share of self_attention_core.flops run by windowed kernels

  [[nodiscard]] double total_flops() const;
  [[nodiscard]] double total_bytes() const;
};

// Rates a device sustains. The rates are one H100's (bf16) in isolated video blocks (one
// LTX-2-sized video block timed alone, dense, torch 2.11 SDPA: 5.2 / 15.9 / 50.7 ms at 5,824 /
// 14,080 / 32,640 tokens); the last three fields calibrate them to complete LTX-2 audio-video
// sampling loops, fitted to bench/e2e.py on an H200 (docs/BENCHMARKS.md, "End to end"):
// measured seconds per call = per_call_overhead_s + block-level prediction / sustained_fraction,
// with windowed attention at window_efficiency of the dense attention rate.
struct DeviceProfile {
  double linear_flops_per_s = 680e12;
  double attention_flops_per_s = 650e12;  // dense fused attention
  double window_efficiency = 0.55;        // windowed attention's rate relative to dense attention
  double memory_bytes_per_s = 3.0e12;
  double offload_bytes_per_s = 0;       // > 0: weights streamed from host memory every call
  double per_block_overhead_s = 20e-6;  // launches, norms, modulation
  double per_call_overhead_s = 0.178;   // audio stream, AV cross-attention, per-call launches
  double sustained_fraction = 0.772;    // share of the isolated-block rate a full model call keeps

  // One LTX-2-sized video block timed alone on an H100 (bf16, torch 2.11 SDPA, dense: 5.2 / 15.9
  // / 50.7 ms at 5,824 / 14,080 / 32,640 tokens): no per-call costs, full rate, windowed
  // attention at 0.80.
  static DeviceProfile isolated_blocks() {
    DeviceProfile p;
    p.window_efficiency = 0.80;
    p.per_call_overhead_s = 0;
    p.sustained_fraction = 1.0;
    return p;
  }
};

// Cost of one model call over `plan`'s grid. activation_budget_mb = 0 means unbounded.
CallCost model_call_cost(const ModelDims& dims, const WindowPlan& plan, int batch = 1,
                         int activation_budget_mb = 0);

// One call whose first `dense_first` and last `dense_last` blocks attend as `dense_plan` (dense
// attention) and the blocks between as `window_plan`; both plans must cover the same tokens.
CallCost blended_call_cost(const ModelDims& dims, const WindowPlan& window_plan,
                           const WindowPlan& dense_plan, int dense_first, int dense_last,
                           int batch = 1, int activation_budget_mb = 0);

// InvalidArgument naming the field and its range for a NaN, infinite, negative, subnormal or
// otherwise implausible rate or overhead.
void validate_device_profile(const DeviceProfile& device);
void validate_device_profile_field(std::string_view name, double value);

// Predicted seconds of one call on a device. With `windowed`, the call's windowed share of the
// attention core runs at the device's window_efficiency.
double predict_call_seconds(const CallCost& cost, const ModelDims& dims,
                            const DeviceProfile& device, bool windowed);

}  // namespace ltx2eff
