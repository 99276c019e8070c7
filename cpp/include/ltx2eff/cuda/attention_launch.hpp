// The boundary between the core's attention dispatcher (C++20) and the CUDA kernels (C++17).
// Plain data only, so nvcc sees no C++20 header. The dispatcher validates everything first;
// the launcher may assume valid input and only reports CUDA errors (as ltx2eff::Unavailable or
// std::runtime_error with the CUDA error string).
#pragma once

#include <cstdint>

namespace ltx2eff::cuda {

enum class ElemType : int { kFloat16 = 0, kBFloat16 = 1, kFloat32 = 2 };

struct Strided {
  const void* data = nullptr;
  std::int64_t stride_b = 0;  // element strides of a [B, heads, T, D] tensor; D stride is 1
  std::int64_t stride_h = 0;
  std::int64_t stride_t = 0;
};

struct AttentionLaunch {
  ElemType dtype = ElemType::kBFloat16;
  int batch = 0;
  int heads = 0;
  int head_dim = 0;
  std::int64_t tokens = 0;  // grid + global
  int frames = 0;           // latent grid F, H, W of the first F*H*W tokens
  int height = 0;
  int width = 0;
  std::int64_t global_tokens = 0;
  int window = -1;  // K in frames; -1 = dense
  bool anchor_frame = false;
  int far_field = 0;            // pool factor p; 0 = off
  bool far_field_8bit = false;  // 8-bit QK for the pooled far field (selective precision)
  float scale = 0.f;            // softmax scale (already resolved: never 0)
  Strided q, k, v;
  void* out = nullptr;  // [B, heads, T, D], strides below
  std::int64_t out_stride_b = 0, out_stride_h = 0, out_stride_t = 0;
  float* lse = nullptr;  // optional contiguous float32 [B, heads, T]
  void* stream = nullptr;
  int device_index = 0;
  // Which keys of each query (ltx2eff::KeySubset order: 0 all, 1 own frame, 2 other frames; see
  // cuda/window_tiles.hpp). A query without keys gets out = 0 and lse = -inf.
  int key_subset = 0;
};

// Whether the kernels support this head dim / dtype on this device (callers fall back otherwise).
bool window_attention_supported(const AttentionLaunch& launch);
void window_attention(const AttentionLaunch& launch);

// out = LSE merge of two partial attentions; all [B, heads, T, D] / [B, heads, T] contiguous.
struct MergeLaunch {
  ElemType dtype = ElemType::kBFloat16;
  std::int64_t rows = 0;  // B * heads * T
  int head_dim = 0;
  const void* out_a = nullptr;
  const float* lse_a = nullptr;
  const void* out_b = nullptr;
  const float* lse_b = nullptr;
  void* out = nullptr;
  float* lse_out = nullptr;
  void* stream = nullptr;
  int device_index = 0;
};
void merge_attention(const MergeLaunch& launch);

}  // namespace ltx2eff::cuda
