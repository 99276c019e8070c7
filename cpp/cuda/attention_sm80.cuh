// The portable window-attention kernel (sm80 and newer): flash-attention-2 style, one CTA per
// (query tile, head, batch), 8 warps x 16 query rows, mma.sync m16n8k16 with ldmatrix, cp.async
// double buffering of 64-key K/V blocks, online softmax in fp32 (base 2). The CTA visits only the
// key blocks of its tile's schedule (window_tiles.hpp), reading K/V in place from the strided
// tensors, or from the pooled far-field buffer, where each pooled logit gets + log2(count).
// With kFar8, pooled blocks compute QK^T with int8 mma m16n8k32 from per-row quantised Q and K.
#pragma once

#include <cmath>
#include <cstdint>

#include "attention_common.cuh"
#include "attention_tile_steps.cuh"

namespace ltx2eff::cuda::detail {

inline constexpr int kSm80Rows = kTileRows;
inline constexpr int kSm80Keys = 64;  // keys per block
inline constexpr int kSm80Threads = 256;

template <int kD>
constexpr int sm80_smem_bytes() {
  return kSm80Rows * kD * 2 + 2 * 2 * kSm80Keys * kD * 2;  // Q + two stages of K and V
}

template <typename Elem, int kD, bool kFar8>
__global__ void __launch_bounds__(kSm80Threads, 1)
    window_attention_sm80_kernel(const AttentionParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kRows = kSm80Rows;
  constexpr int kKeys = kSm80Keys;
  constexpr int kThreads = kSm80Threads;
  constexpr int kStageBytes = kKeys * kD * 2;
  constexpr int kRow8 = kD + 16;  // padded int8 row (odd number of 16-byte chunks: no conflicts)
  using Traits = ElemTraits<Elem>;

  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char* smem_q = smem;
  const std::uint32_t s_q = smem_u32(smem_q);
  const std::uint32_t s_k = s_q + kRows * kD * 2;
  const std::uint32_t s_v = s_k + 2 * kStageBytes;

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int g = lane >> 2;  // row within the 8-row half of an mma tile
  const int t = lane & 3;   // column pair
  const int head = static_cast<int>(blockIdx.y);
  const int batch = static_cast<int>(blockIdx.z);

  const TileWork work = tile_work(p.tiles, static_cast<std::int64_t>(blockIdx.x));
  const KeyBlocks<kKeys> blocks(work);
  const int q_rows = static_cast<int>(work.row_end - work.row_begin);
  const TileInputs<Elem, kD> in(p, batch, head);
  const std::int8_t* pk8 = kFar8 ? p.pooled_k8 + in.bh * p.pooled_rows * kD : nullptr;
  const float* pk8_scale = kFar8 ? p.pooled_k8_scale + in.bh * p.pooled_rows : nullptr;

  // ---- async loads ----
  load_rows<kRows, kD, kThreads>(s_q, in.q, work.row_begin, p.q_st, q_rows, tid);
  auto load_block = [&](int j, int stage) {
    std::int64_t start;
    int valid;
    bool pooled;
    blocks.locate(j, start, valid, pooled);
    const std::uint32_t dk = s_k + stage * kStageBytes;
    const std::uint32_t dv = s_v + stage * kStageBytes;
    if (kFar8 && pooled) {
      constexpr int kChunks8 = kD / 16;
#pragma unroll
      for (int i = 0; i < kKeys * kChunks8 / kThreads; ++i) {
        const int c = i * kThreads + tid;
        const int r = c / kChunks8;
        const int ch = c % kChunks8;
        const bool ok = r < valid;
        cp_async_16(dk + r * kRow8 + ch * 16, pk8 + (start + (ok ? r : 0)) * kD + ch * 16, ok);
      }
    } else {
      const std::int64_t ks = pooled ? kD : p.k_st;
      load_rows<kKeys, kD, kThreads>(dk, pooled ? in.pooled_k : in.k, start, ks, valid, tid);
    }
    const std::int64_t vs = pooled ? kD : p.v_st;
    load_rows<kKeys, kD, kThreads>(dv, pooled ? in.pooled_v : in.v, start, vs, valid, tid);
  };

  load_block(0, 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  // ---- Q fragments stay in registers for the whole tile ----
  std::uint32_t qf[kD / 16][4];
#pragma unroll
  for (int ks = 0; ks < kD / 16; ++ks) {
    const int row = warp * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
    ldmatrix_x4<false>(s_q + swizzled_offset(kRows, row, 2 * ks + (lane >> 4)), qf[ks]);
  }
  std::uint32_t q8[kFar8 ? kD / 32 : 1][4];
  float q8_scale[2] = {0.f, 0.f};
  if constexpr (kFar8) {
    // Per-row int8 Q: the rows of this warp, quantised with scale = absmax / 127, written to a
    // per-warp scratch (the Q tile is no longer needed in shared memory) and read back as
    // m16n8k32 fragments.
    __syncthreads();
    float amax[2] = {0.f, 0.f};
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        float lo, hi;
        Traits::unpack(qf[ks][r], lo, hi);
        amax[r & 1] = fmaxf(amax[r & 1], fmaxf(fabsf(lo), fabsf(hi)));
      }
    }
    unsigned char* scratch = smem_q + warp * 16 * kRow8;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      amax[h] = fmaxf(amax[h], __shfl_xor_sync(0xffffffffu, amax[h], 1));
      amax[h] = fmaxf(amax[h], __shfl_xor_sync(0xffffffffu, amax[h], 2));
      q8_scale[h] = amax[h] / 127.f;
    }
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int h = r & 1;
        const float inv = amax[h] > 0.f ? 127.f / amax[h] : 0.f;
        float x0, x1;
        Traits::unpack(qf[ks][r], x0, x1);
        const int lo = max(-127, min(127, __float2int_rn(x0 * inv)));
        const int hi = max(-127, min(127, __float2int_rn(x1 * inv)));
        const int row = g + 8 * h;
        const int col = ks * 16 + (r >> 1) * 8 + 2 * t;
        *reinterpret_cast<std::uint16_t*>(scratch + row * kRow8 + col) =
            static_cast<std::uint16_t>((lo & 0xff) | ((hi & 0xff) << 8));
      }
    }
    __syncwarp();
#pragma unroll
    for (int ks = 0; ks < kD / 32; ++ks) {
      const int row = (lane & 7) + (((lane >> 3) & 1) << 3);
      ldmatrix_x4<false>(smem_u32(scratch + row * kRow8 + (2 * ks + (lane >> 4)) * 16), q8[ks]);
    }
  }

  float o[kD / 2];  // accumulator layout: attention_tile_steps.cuh
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.f, 0.f};  // per-thread partial sums; reduced over the 4 lanes at the end

  for (int j = 0; j < blocks.count; ++j) {
    cp_async_wait<0>();
    __syncthreads();  // block j visible to all; everyone is done with block j - 1
    if (j + 1 < blocks.count) load_block(j + 1, (j + 1) & 1);
    cp_async_commit();

    std::int64_t start;
    int valid;
    bool pooled;
    blocks.locate(j, start, valid, pooled);
    const std::uint32_t sk = s_k + (j & 1) * kStageBytes;
    const std::uint32_t sv = s_v + (j & 1) * kStageBytes;

    float s[kKeys / 2];
#pragma unroll
    for (int i = 0; i < kKeys / 2; ++i) s[i] = 0.f;
    const int key_lane = (lane & 7) + ((lane >> 4) << 3);
    if (kFar8 && pooled) {
      int acc[kKeys / 2];
#pragma unroll
      for (int i = 0; i < kKeys / 2; ++i) acc[i] = 0;
#pragma unroll
      for (int ks = 0; ks < kD / 32; ++ks) {
#pragma unroll
        for (int np = 0; np < kKeys / 16; ++np) {
          std::uint32_t b[4];
          ldmatrix_x4<false>(sk + (np * 16 + key_lane) * kRow8 + (2 * ks + ((lane >> 3) & 1)) * 16,
                             b);
          mma_16832_s8(acc + 8 * np, q8[kFar8 ? ks : 0], b[0], b[1]);
          mma_16832_s8(acc + 8 * np + 4, q8[kFar8 ? ks : 0], b[2], b[3]);
        }
      }
#pragma unroll
      for (int nb = 0; nb < kKeys / 8; ++nb) {
        const int c0 = nb * 8 + 2 * t;
        const float k0 = c0 < valid ? __ldg(pk8_scale + start + c0) : 0.f;
        const float k1 = c0 + 1 < valid ? __ldg(pk8_scale + start + c0 + 1) : 0.f;
        s[4 * nb + 0] = static_cast<float>(acc[4 * nb + 0]) * q8_scale[0] * k0;
        s[4 * nb + 1] = static_cast<float>(acc[4 * nb + 1]) * q8_scale[0] * k1;
        s[4 * nb + 2] = static_cast<float>(acc[4 * nb + 2]) * q8_scale[1] * k0;
        s[4 * nb + 3] = static_cast<float>(acc[4 * nb + 3]) * q8_scale[1] * k1;
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < kD / 16; ++ks) {
#pragma unroll
        for (int np = 0; np < kKeys / 16; ++np) {
          std::uint32_t b[4];
          ldmatrix_x4<false>(
              sk + swizzled_offset(kKeys, np * 16 + key_lane, 2 * ks + ((lane >> 3) & 1)), b);
          mma_16816<Elem>(s + 8 * np, qf[ks], b[0], b[1]);
          mma_16816<Elem>(s + 8 * np + 4, qf[ks], b[2], b[3]);
        }
      }
    }

    // ---- online softmax (base 2) ----
    float alpha[2];
    softmax_block<kKeys>(s, valid, pooled, pooled ? p.pooled_bias + start : nullptr, p.scale_log2,
                         t, row_max, row_sum, alpha);
    rescale_rows<kD>(o, alpha);

    // ---- O += P V ----
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      std::uint32_t a[4];
      probability_fragment<Elem, kKeys>(s, kk, a);
      const int key = kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        std::uint32_t b[4];
        ldmatrix_x4<true>(sv + swizzled_offset(kKeys, key, 2 * dp + (lane >> 4)), b);
        mma_16816<Elem>(o + 8 * dp, a, b[0], b[1]);
        mma_16816<Elem>(o + 8 * dp + 4, a, b[2], b[3]);
      }
    }
  }
  cp_async_wait<0>();

  // ---- epilogue: normalise, LSE, stage the warp's 16 rows in shared memory, 16-byte stores ----
  store_rows<Elem, kRows, kD>(p, work, in.bh, batch, head, q_rows, warp, lane, o, row_max, row_sum,
                              smem_q);
#else
  (void)p;
#endif
}

}  // namespace ltx2eff::cuda::detail
