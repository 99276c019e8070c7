// The steps both window-attention kernels take for one tile of query rows, whatever matrix
// instructions they use: where the tile's inputs live, loading rows into the swizzled shared
// layout, the online-softmax update for one block of logits, and the epilogue (normalise, LSE,
// 16-byte stores).
//
// Accumulators of both kernels share one register layout: the mma.sync m16n8 C fragment, which
// the wgmma m64nN accumulator repeats every 8 columns. Element 4 nb + e of a thread holds row
// g + 8 (e >> 1) of its warp's 16 rows and column 8 nb + 2 t + (e & 1) (g = lane / 4, t = lane %
// 4).
#pragma once

#include <cmath>
#include <cstdint>

#include "attention_common.cuh"

namespace ltx2eff::cuda::detail {

// The tile's (batch, head) slices of the inputs and of the pooled far field.
template <typename Elem, int kD>
struct TileInputs {
  const Elem* q;
  const Elem* k;
  const Elem* v;
  const Elem* pooled_k;
  const Elem* pooled_v;
  std::int64_t bh;  // batch * heads + head: the row of lse and of the pooled buffers

  __device__ __forceinline__ TileInputs(const AttentionParams& p, int batch, int head)
      : q(static_cast<const Elem*>(p.q) + batch * p.q_sb + head * p.q_sh),
        k(static_cast<const Elem*>(p.k) + batch * p.k_sb + head * p.k_sh),
        v(static_cast<const Elem*>(p.v) + batch * p.v_sb + head * p.v_sh),
        pooled_k(nullptr),
        pooled_v(nullptr),
        bh(static_cast<std::int64_t>(batch) * p.heads + head) {
    pooled_k = static_cast<const Elem*>(p.pooled_k) + bh * p.pooled_rows * kD;
    pooled_v = static_cast<const Elem*>(p.pooled_v) + bh * p.pooled_rows * kD;
  }
};

// Calls fn(row, chunk) for every 16-byte chunk of a kRows x kD tile of 16-bit elements, the
// chunks spread evenly over kThreads threads.
template <int kRows, int kD, int kThreads, typename Fn>
__device__ __forceinline__ void for_each_chunk(int tid, Fn&& fn) {
  constexpr int kChunks = kD / 8;
  static_assert(kRows * kChunks % kThreads == 0, "every thread copies the same number of chunks");
#pragma unroll
  for (int i = 0; i < kRows * kChunks / kThreads; ++i) {
    const int c = i * kThreads + tid;
    fn(c / kChunks, c % kChunks);
  }
}

// Copies rows [first, first + kRows) of `base` (row stride `stride` elements, kD 16-bit elements
// each) into a swizzled tile at `dst` with cp.async; rows past first + valid are zero-filled (and
// not read), so a partial block never feeds stale data to the tensor cores.
template <int kRows, int kD, int kThreads, typename Elem>
__device__ __forceinline__ void load_rows(std::uint32_t dst, const Elem* base, std::int64_t first,
                                          std::int64_t stride, int valid, int tid) {
  for_each_chunk<kRows, kD, kThreads>(tid, [&](int r, int ch) {
    const bool ok = r < valid;
    cp_async_16(dst + swizzled_offset(kRows, r, ch),
                base + (first + (ok ? r : 0)) * stride + ch * 8, ok);
  });
}

// load_rows for a K block and its V block in one pass (one row computation for both copies).
template <int kRows, int kD, int kThreads, typename Elem>
__device__ __forceinline__ void load_key_value_rows(std::uint32_t dst_k, const Elem* k,
                                                    std::int64_t k_stride, std::uint32_t dst_v,
                                                    const Elem* v, std::int64_t v_stride,
                                                    std::int64_t first, int valid, int tid) {
  for_each_chunk<kRows, kD, kThreads>(tid, [&](int r, int ch) {
    const bool ok = r < valid;
    const std::int64_t row = first + (ok ? r : 0);
    cp_async_16(dst_k + swizzled_offset(kRows, r, ch), k + row * k_stride + ch * 8, ok);
    cp_async_16(dst_v + swizzled_offset(kRows, r, ch), v + row * v_stride + ch * 8, ok);
  });
}

// Online softmax over one block of kCols logits in `s` (in place: logits become probabilities,
// base 2). Columns >= valid are masked; with has_bias (pooled blocks) `bias` (log2 of each cell's
// token count) is added. Updates the running max and partial sum of the thread's two rows and
// returns in `alpha` the factor the output accumulated so far must be rescaled by.
template <int kCols>
__device__ __forceinline__ void softmax_block(float (&s)[kCols / 2], int valid, bool has_bias,
                                              const float* bias, float scale_log2, int t,
                                              float (&row_max)[2], float (&row_sum)[2],
                                              float (&alpha)[2]) {
  float blk_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int nb = 0; nb < kCols / 8; ++nb) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = nb * 8 + 2 * t + (e & 1);
      float x = s[4 * nb + e] * scale_log2;
      if (has_bias && col < valid) x += __ldg(bias + col);
      x = col < valid ? x : -INFINITY;
      s[4 * nb + e] = x;
      blk_max[e >> 1] = fmaxf(blk_max[e >> 1], x);
    }
  }
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
  for (int i = 0; i < kCols / 2; ++i) {
    s[i] = fast_exp2(s[i] - row_max[(i >> 1) & 1]);
    row_sum[(i >> 1) & 1] += s[i];
  }
}

// The A fragment of P for keys [16 kk, 16 kk + 16) of a block (P V takes P from registers in both
// kernels): rows {g, g + 8} x keys {+0..7, +8..15}, packed to the input type.
template <typename Elem, int kCols>
__device__ __forceinline__ void probability_fragment(const float (&s)[kCols / 2], int kk,
                                                     std::uint32_t (&a)[4]) {
  using Traits = ElemTraits<Elem>;
#pragma unroll
  for (int r = 0; r < 4; ++r) a[r] = Traits::pack(s[8 * kk + 2 * r], s[8 * kk + 2 * r + 1]);
}

// Scales the output accumulators of the thread's two rows by `alpha`.
template <int kD>
__device__ __forceinline__ void rescale_rows(float (&o)[kD / 2], const float (&alpha)[2]) {
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o[i] *= alpha[(i >> 1) & 1];
}

// The epilogue of one warp's 16 rows (rows 16 warp .. 16 warp + 15 of the tile): reduces the row
// sums over the four lanes of a row, writes the LSE (natural log) when asked, normalises, stages
// the rows in the swizzled tile at `stage` (the Q tile, no longer needed) and stores them with
// 16-byte writes. A row without keys (a key subset) gets out = 0 and lse = -inf.
template <typename Elem, int kRows, int kD>
__device__ __forceinline__ void store_rows(const AttentionParams& p, const TileWork& work,
                                           std::int64_t bh, int batch, int head, int q_rows,
                                           int warp, int lane, const float (&o)[kD / 2],
                                           const float (&row_max)[2], float (&row_sum)[2],
                                           unsigned char* stage) {
  constexpr int kChunks = kD / 8;
  constexpr float kLn2 = 0.6931471805599453f;
  using Traits = ElemTraits<Elem>;
  const int g = lane >> 2;
  const int t = lane & 3;
  float inv[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 1);
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 2);
    inv[h] = row_sum[h] > 0.f ? 1.f / row_sum[h] : 0.f;
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
      *reinterpret_cast<std::uint32_t*>(stage + swizzled_offset(kRows, r, nb) + 4 * t) =
          Traits::pack(o[4 * nb + 2 * h] * inv[h], o[4 * nb + 2 * h + 1] * inv[h]);
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
      const uint4 val = *reinterpret_cast<const uint4*>(stage + swizzled_offset(kRows, r, ch));
      *reinterpret_cast<uint4*>(out + (work.row_begin + r) * p.o_st + ch * 8) = val;
    }
  }
}

}  // namespace ltx2eff::cuda::detail
