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
  constexpr int kChunks = kD / 8;  // 16-byte chunks per 16-bit row
  constexpr int kStageBytes = kKeys * kD * 2;
  constexpr int kRow8 = kD + 16;  // padded int8 row (odd number of 16-byte chunks: no conflicts)
  constexpr float kLn2 = 0.6931471805599453f;
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
  const std::int64_t bh = static_cast<std::int64_t>(batch) * p.heads + head;

  const TileWork work = tile_work(p.tiles, static_cast<std::int64_t>(blockIdx.x));
  const KeyBlocks<kKeys> blocks(work);
  const int q_rows = static_cast<int>(work.row_end - work.row_begin);

  const Elem* q = static_cast<const Elem*>(p.q) + batch * p.q_sb + head * p.q_sh;
  const Elem* k = static_cast<const Elem*>(p.k) + batch * p.k_sb + head * p.k_sh;
  const Elem* v = static_cast<const Elem*>(p.v) + batch * p.v_sb + head * p.v_sh;
  const Elem* pk = static_cast<const Elem*>(p.pooled_k) + bh * p.pooled_rows * kD;
  const Elem* pv = static_cast<const Elem*>(p.pooled_v) + bh * p.pooled_rows * kD;
  const std::int8_t* pk8 = kFar8 ? p.pooled_k8 + bh * p.pooled_rows * kD : nullptr;
  const float* pk8_scale = kFar8 ? p.pooled_k8_scale + bh * p.pooled_rows : nullptr;

  // ---- async loads ----
  {
#pragma unroll
    for (int i = 0; i < kRows * kChunks / kThreads; ++i) {
      const int c = i * kThreads + tid;
      const int r = c / kChunks;
      const int ch = c % kChunks;
      const bool ok = r < q_rows;
      const Elem* src = q + (work.row_begin + (ok ? r : 0)) * p.q_st + ch * 8;
      cp_async_16(s_q + swizzled_offset(kRows, r, ch), src, ok);
    }
  }
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
      const Elem* kb = pooled ? pk : k;
      const std::int64_t ks = pooled ? kD : p.k_st;
#pragma unroll
      for (int i = 0; i < kKeys * kChunks / kThreads; ++i) {
        const int c = i * kThreads + tid;
        const int r = c / kChunks;
        const int ch = c % kChunks;
        const bool ok = r < valid;
        cp_async_16(dk + swizzled_offset(kKeys, r, ch), kb + (start + (ok ? r : 0)) * ks + ch * 8,
                    ok);
      }
    }
    const Elem* vb = pooled ? pv : v;
    const std::int64_t vs = pooled ? kD : p.v_st;
#pragma unroll
    for (int i = 0; i < kKeys * kChunks / kThreads; ++i) {
      const int c = i * kThreads + tid;
      const int r = c / kChunks;
      const int ch = c % kChunks;
      const bool ok = r < valid;
      cp_async_16(dv + swizzled_offset(kKeys, r, ch), vb + (start + (ok ? r : 0)) * vs + ch * 8,
                  ok);
    }
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
    ldmatrix_x4(s_q + swizzled_offset(kRows, row, 2 * ks + (lane >> 4)), qf[ks]);
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
      ldmatrix_x4(smem_u32(scratch + row * kRow8 + (2 * ks + (lane >> 4)) * 16), q8[ks]);
    }
  }

  float o[kD / 8][4];
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
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

    float s[kKeys / 8][4];
#pragma unroll
    for (int i = 0; i < kKeys / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
    const int key_lane = (lane & 7) + ((lane >> 4) << 3);
    if (kFar8 && pooled) {
      int acc[kKeys / 8][4];
#pragma unroll
      for (int i = 0; i < kKeys / 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0;
#pragma unroll
      for (int ks = 0; ks < kD / 32; ++ks) {
#pragma unroll
        for (int np = 0; np < kKeys / 16; ++np) {
          std::uint32_t b[4];
          ldmatrix_x4(sk + (np * 16 + key_lane) * kRow8 + (2 * ks + ((lane >> 3) & 1)) * 16, b);
          mma_16832_s8(acc[2 * np], q8[kFar8 ? ks : 0], b[0], b[1]);
          mma_16832_s8(acc[2 * np + 1], q8[kFar8 ? ks : 0], b[2], b[3]);
        }
      }
#pragma unroll
      for (int nb = 0; nb < kKeys / 8; ++nb) {
        const int c0 = nb * 8 + 2 * t;
        const float k0 = c0 < valid ? __ldg(pk8_scale + start + c0) : 0.f;
        const float k1 = c0 + 1 < valid ? __ldg(pk8_scale + start + c0 + 1) : 0.f;
        s[nb][0] = static_cast<float>(acc[nb][0]) * q8_scale[0] * k0;
        s[nb][1] = static_cast<float>(acc[nb][1]) * q8_scale[0] * k1;
        s[nb][2] = static_cast<float>(acc[nb][2]) * q8_scale[1] * k0;
        s[nb][3] = static_cast<float>(acc[nb][3]) * q8_scale[1] * k1;
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < kD / 16; ++ks) {
#pragma unroll
        for (int np = 0; np < kKeys / 16; ++np) {
          std::uint32_t b[4];
          ldmatrix_x4(sk + swizzled_offset(kKeys, np * 16 + key_lane, 2 * ks + ((lane >> 3) & 1)),
                      b);
          mma_16816<Elem>(s[2 * np], qf[ks], b[0], b[1]);
          mma_16816<Elem>(s[2 * np + 1], qf[ks], b[2], b[3]);
        }
      }
    }

    // ---- online softmax (base 2) ----
    const float* bias = pooled ? p.pooled_bias + start : nullptr;
    float blk_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nb = 0; nb < kKeys / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = nb * 8 + 2 * t + (e & 1);
        float x = s[nb][e] * p.scale_log2;
        if (pooled && col < valid) x += __ldg(bias + col);
        x = col < valid ? x : -INFINITY;
        s[nb][e] = x;
        blk_max[e >> 1] = fmaxf(blk_max[e >> 1], x);
      }
    }
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      blk_max[h] = fmaxf(blk_max[h], __shfl_xor_sync(0xffffffffu, blk_max[h], 1));
      blk_max[h] = fmaxf(blk_max[h], __shfl_xor_sync(0xffffffffu, blk_max[h], 2));
      const float m_new = fmaxf(row_max[h], blk_max[h]);
      alpha[h] = fast_exp2(row_max[h] - m_new);
      row_max[h] = m_new;
      row_sum[h] *= alpha[h];
    }
#pragma unroll
    for (int nb = 0; nb < kKeys / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float pe = fast_exp2(s[nb][e] - row_max[e >> 1]);
        s[nb][e] = pe;
        row_sum[e >> 1] += pe;
      }
    }
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) {
      o[i][0] *= alpha[0];
      o[i][1] *= alpha[0];
      o[i][2] *= alpha[1];
      o[i][3] *= alpha[1];
    }

    // ---- O += P V ----
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const std::uint32_t a[4] = {Traits::pack(s[2 * kk][0], s[2 * kk][1]),
                                  Traits::pack(s[2 * kk][2], s[2 * kk][3]),
                                  Traits::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                  Traits::pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
      const int key = kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        std::uint32_t b[4];
        ldmatrix_x4_trans(sv + swizzled_offset(kKeys, key, 2 * dp + (lane >> 4)), b);
        mma_16816<Elem>(o[2 * dp], a, b[0], b[1]);
        mma_16816<Elem>(o[2 * dp + 1], a, b[2], b[3]);
      }
    }
  }
  cp_async_wait<0>();

  // ---- epilogue: normalise, LSE, stage the warp's 16 rows in shared memory, 16-byte stores ----
  float inv[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 1);
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 2);
    inv[h] = row_sum[h] > 0.f ? 1.f / row_sum[h] : 0.f;  // no key (a key subset): 0, lse -inf
    const int r = warp * 16 + g + 8 * h;
    if (p.lse != nullptr && t == 0 && r < q_rows) {
      p.lse[bh * p.tiles.tokens + work.row_begin + r] = (row_max[h] + log2f(row_sum[h])) * kLn2;
    }
  }
#pragma unroll
  for (int nb = 0; nb < kD / 8; ++nb) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warp * 16 + g + 8 * h;
      *reinterpret_cast<std::uint32_t*>(smem_q + swizzled_offset(kRows, r, nb) + 4 * t) =
          Traits::pack(o[nb][2 * h] * inv[h], o[nb][2 * h + 1] * inv[h]);
    }
  }
  __syncwarp();
  Elem* out = static_cast<Elem*>(p.out) + batch * p.o_sb + head * p.o_sh;
#pragma unroll
  for (int i = 0; i < 16 * kChunks / 32; ++i) {
    const int c = i * 32 + lane;
    const int r = warp * 16 + c / kChunks;
    const int ch = c % kChunks;
    if (r < q_rows) {
      const uint4 val = *reinterpret_cast<const uint4*>(smem_q + swizzled_offset(kRows, r, ch));
      *reinterpret_cast<uint4*>(out + (work.row_begin + r) * p.o_st + ch * 8) = val;
    }
  }
#else
  (void)p;
#endif
}

}  // namespace ltx2eff::cuda::detail
