// Device helpers shared by the window-attention kernels: the kernel parameter block, the key-block
// schedule of one tile, element conversions, async copies, ldmatrix and mma.sync wrappers.
// C++17 (CUDA sources never see the C++20 core headers).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ltx2eff/cuda/window_tiles.hpp"

namespace ltx2eff::cuda::detail {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " +
                             cudaGetErrorString(status));
  }
}

// Query rows per CTA (one tile of the schedule) in every kernel.
inline constexpr int kTileRows = 128;

// Everything a window-attention kernel reads: q/k/v/out are [B, heads, T, D] with unit D stride;
// the pooled far field is [B, heads, F * P, D] contiguous; lse is float32 [B, heads, T].
struct AttentionParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  float* lse = nullptr;
  std::int64_t q_sb = 0, q_sh = 0, q_st = 0;
  std::int64_t k_sb = 0, k_sh = 0, k_st = 0;
  std::int64_t v_sb = 0, v_sh = 0, v_st = 0;
  std::int64_t o_sb = 0, o_sh = 0, o_st = 0;
  const void* pooled_k = nullptr;
  const void* pooled_v = nullptr;
  const std::int8_t* pooled_k8 = nullptr;  // 8-bit pooled keys (selective precision) or null
  const float* pooled_k8_scale = nullptr;  // one scale per pooled key row
  const float* pooled_bias = nullptr;      // log2(tokens in the cell) per pooled row, [F * P]
  std::int64_t pooled_rows = 0;            // F * P rows per (batch, head)
  int heads = 0;
  int head_dim = 0;
  float scale_log2 = 0.f;  // softmax scale * log2(e)
  WindowTiles tiles;
};

// The key blocks of one tile, flattened over the fixed range slots of TileWork. All indexing is
// by compile-time slot so the schedule lives in registers (32-bit: the dispatcher bounds T far
// below 2^31).
template <int kBlockKeys>
struct KeyBlocks {
  int begin[kMaxKeyRanges];
  int end[kMaxKeyRanges];
  int first[kMaxKeyRanges];
  int count = 0;

  __device__ __forceinline__ explicit KeyBlocks(const TileWork& t) {
    int acc = 0;
#pragma unroll
    for (int s = 0; s < kMaxKeyRanges; ++s) {
      begin[s] = static_cast<int>(t.ranges[s].begin);
      end[s] = static_cast<int>(t.ranges[s].end);
      first[s] = acc;
      acc += (end[s] - begin[s] + kBlockKeys - 1) / kBlockKeys;
    }
    count = acc;
  }

  // Block j: its first key, number of valid keys and whether it is pooled.
  __device__ __forceinline__ void locate(int j, std::int64_t& start, int& valid,
                                         bool& pooled) const {
    int s_start = begin[0] + j * kBlockKeys;
    int s_end = end[0];
    bool s_pooled = false;
#pragma unroll
    for (int s = 1; s < kMaxKeyRanges; ++s) {
      if (j >= first[s]) {
        s_start = begin[s] + (j - first[s]) * kBlockKeys;
        s_end = end[s];
        s_pooled = s >= kFirstPooledRange;
      }
    }
    start = s_start;
    const int left = s_end - s_start;
    valid = left < kBlockKeys ? left : kBlockKeys;
    pooled = s_pooled;
  }
};

template <typename T>
struct ElemTraits;

template <>
struct ElemTraits<__half> {
  __device__ __forceinline__ static std::uint32_t pack(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  }
  __device__ __forceinline__ static void unpack(std::uint32_t x, float& lo, float& hi) {
    lo = __half2float(__ushort_as_half(static_cast<unsigned short>(x & 0xffffu)));
    hi = __half2float(__ushort_as_half(static_cast<unsigned short>(x >> 16)));
  }
  __device__ __forceinline__ static float to_float(__half x) { return __half2float(x); }
  __device__ __forceinline__ static __half from_float(float x) { return __float2half_rn(x); }
};

template <>
struct ElemTraits<__nv_bfloat16> {
  __device__ __forceinline__ static std::uint32_t pack(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const std::uint32_t*>(&h);
  }
  __device__ __forceinline__ static void unpack(std::uint32_t x, float& lo, float& hi) {
    lo = __uint_as_float(x << 16);
    hi = __uint_as_float(x & 0xffff0000u);
  }
  __device__ __forceinline__ static float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
  __device__ __forceinline__ static __nv_bfloat16 from_float(float x) {
    return __float2bfloat16_rn(x);
  }
};

template <>
struct ElemTraits<float> {
  __device__ __forceinline__ static float to_float(float x) { return x; }
  __device__ __forceinline__ static float from_float(float x) { return x; }
};

__device__ __forceinline__ std::uint32_t smem_u32(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy; zero-fills when !valid (src is then not read).
__device__ __forceinline__ void cp_async_16(std::uint32_t dst, const void* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
#else
  (void)dst;
  (void)src;
  (void)valid;
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
#endif
}

// Four 8x8 16-bit matrices from shared memory (kTrans: each transposed) into mma fragments.
template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t addr, std::uint32_t (&r)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  if constexpr (kTrans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
  }
#else
  (void)addr;
  r[0] = r[1] = r[2] = r[3] = 0;
#endif
}

// D += A * B for one m16n8k16 tile (D: the 4 floats at d), fp32 accumulation. The element type
// only names the PTX operand type, so one macro writes both specialisations.
template <typename T>
__device__ __forceinline__ void mma_16816(float* d, const std::uint32_t (&a)[4], std::uint32_t b0,
                                          std::uint32_t b1);

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define LTX2EFF_MMA_16816_BODY(TY)                                                      \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." TY "." TY                       \
               ".f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n" \
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                         \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))
#else
#define LTX2EFF_MMA_16816_BODY(TY) \
  (void)d;                         \
  (void)a;                         \
  (void)b0;                        \
  (void)b1
#endif
#define LTX2EFF_DEFINE_MMA_16816(Elem, TY)                                              \
  template <>                                                                           \
  __device__ __forceinline__ void mma_16816<Elem>(float* d, const std::uint32_t(&a)[4], \
                                                  std::uint32_t b0, std::uint32_t b1) { \
    LTX2EFF_MMA_16816_BODY(TY);                                                         \
  }
LTX2EFF_DEFINE_MMA_16816(__half, "f16")
LTX2EFF_DEFINE_MMA_16816(__nv_bfloat16, "bf16")
#undef LTX2EFF_DEFINE_MMA_16816
#undef LTX2EFF_MMA_16816_BODY

// D += A * B for one m16n8k32 int8 tile (D: the 4 ints at d), int32 accumulation.
__device__ __forceinline__ void mma_16832_s8(int* d, const std::uint32_t (&a)[4], std::uint32_t b0,
                                             std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  (void)d;
  (void)a;
  (void)b0;
  (void)b1;
#endif
}

// Byte offset of 16-byte chunk `chunk` of row `row` in a tile of `rows` rows stored as column
// blocks of 64 16-bit elements (128-byte rows), XOR-swizzled by row (the 128-byte swizzle of the
// Hopper tensor-core descriptors; it also makes ldmatrix conflict-free).
__device__ __forceinline__ std::uint32_t swizzled_offset(int rows, int row, int chunk) {
  return static_cast<std::uint32_t>(((chunk >> 3) * rows + row) * 128 +
                                    (((chunk & 7) ^ (row & 7)) << 4));
}

__device__ __forceinline__ float fast_exp2(float x) {
  return exp2f(x);
}

}  // namespace ltx2eff::cuda::detail
