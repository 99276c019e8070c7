// The Hopper window-attention kernel (compiled for sm_90a only): the portable kernel's schedule
// and online softmax, with warpgroup MMA. One CTA = two warpgroups x 64 query rows; 128-key K/V
// blocks double-buffered with cp.async into 128-byte-swizzled shared memory; S = Q K^T by wgmma
// with both operands in shared memory; O += P V by wgmma with P from registers (the S accumulator
// layout is the A-fragment layout) and V read transposed from shared memory (MN-major).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "../attention_common.cuh"
#include "../attention_sm90a.cuh"

namespace ltx2eff::cuda::detail {
namespace {

constexpr int kRows = kTileRows;  // two warpgroups of 64 rows
constexpr int kKeys = 128;
constexpr int kThreads = 256;

template <int kD>
constexpr int sm90a_smem_bytes() {
  return kRows * kD * 2 + 2 * 2 * kKeys * kD * 2 + 1024;  // Q + 2 stages of K, V + alignment
}

struct Bf16Tag {};
struct F16Tag {};
template <typename Elem>
struct WgmmaTag;
template <>
struct WgmmaTag<__nv_bfloat16> {
  using type = Bf16Tag;
};
template <>
struct WgmmaTag<__half> {
  using type = F16Tag;
};

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define LTX2EFF_WGMMA_ENABLED 1
#endif

#if defined(LTX2EFF_WGMMA_ENABLED)

// Shared-memory matrix descriptor, 128-byte swizzle. Offsets in bytes.
__device__ __forceinline__ std::uint64_t smem_desc(std::uint32_t addr, std::uint32_t leading,
                                                   std::uint32_t stride) {
  std::uint64_t d = (addr & 0x3FFFFu) >> 4;
  d |= static_cast<std::uint64_t>((leading & 0x3FFFFu) >> 4) << 16;
  d |= static_cast<std::uint64_t>((stride & 0x3FFFFu) >> 4) << 32;
  d |= std::uint64_t{1} << 62;
  return d;
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
// cp.async writes through the generic proxy; wgmma reads through the async proxy.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_ss_m64n128k16(float (&d)[64], std::uint64_t a,
                                                    std::uint64_t b, int accumulate, Bf16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63])
      : "l"(a), "l"(b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n128k16(float (&d)[64], const std::uint32_t (&a)[4],
                                                    std::uint64_t b, Bf16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

__device__ __forceinline__ void wgmma_rs_m64n64k16(float (&d)[32], const std::uint32_t (&a)[4],
                                                   std::uint64_t b, Bf16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

__device__ __forceinline__ void wgmma_ss_m64n128k16(float (&d)[64], std::uint64_t a,
                                                    std::uint64_t b, int accumulate, F16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63])
      : "l"(a), "l"(b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n128k16(float (&d)[64], const std::uint32_t (&a)[4],
                                                    std::uint64_t b, F16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

__device__ __forceinline__ void wgmma_rs_m64n64k16(float (&d)[32], const std::uint32_t (&a)[4],
                                                   std::uint64_t b, F16Tag) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

template <typename Tag>
__device__ __forceinline__ void wgmma_pv(float (&o)[64], const std::uint32_t (&a)[4],
                                         std::uint64_t b, Tag tag) {
  wgmma_rs_m64n128k16(o, a, b, tag);
}
template <typename Tag>
__device__ __forceinline__ void wgmma_pv(float (&o)[32], const std::uint32_t (&a)[4],
                                         std::uint64_t b, Tag tag) {
  wgmma_rs_m64n64k16(o, a, b, tag);
}

#endif  // LTX2EFF_WGMMA_ENABLED

template <typename Elem, int kD>
__global__ void __launch_bounds__(kThreads, 1)
    window_attention_sm90a_kernel(const AttentionParams p) {
#if defined(LTX2EFF_WGMMA_ENABLED)
  constexpr int kChunks = kD / 8;
  constexpr int kStageBytes = kKeys * kD * 2;
  constexpr float kLn2 = 0.6931471805599453f;
  using Traits = ElemTraits<Elem>;
  using Tag = typename WgmmaTag<Elem>::type;

  extern __shared__ unsigned char smem_raw[];
  // 128-byte swizzle atoms repeat every 1024 bytes: align the tiles to that.
  const std::uint32_t raw = smem_u32(smem_raw);
  const std::uint32_t s_q = (raw + 1023u) & ~1023u;
  unsigned char* smem_q = smem_raw + (s_q - raw);
  const std::uint32_t s_k = s_q + kRows * kD * 2;
  const std::uint32_t s_v = s_k + 2 * kStageBytes;

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int wg = warp >> 2;  // warpgroup: query rows [64 wg, 64 wg + 64)
  const int wq = warp & 3;   // warp within the warpgroup: 16 of those rows
  const int g = lane >> 2;
  const int t = lane & 3;
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

#pragma unroll
  for (int i = 0; i < kRows * kChunks / kThreads; ++i) {
    const int c = i * kThreads + tid;
    const int r = c / kChunks;
    const int ch = c % kChunks;
    const bool ok = r < q_rows;
    cp_async_16(s_q + swizzled_offset(kRows, r, ch),
                q + (work.row_begin + (ok ? r : 0)) * p.q_st + ch * 8, ok);
  }
  auto load_block = [&](int j, int stage) {
    std::int64_t start;
    int valid;
    bool pooled;
    blocks.locate(j, start, valid, pooled);
    const Elem* kb = pooled ? pk : k;
    const Elem* vb = pooled ? pv : v;
    const std::int64_t ks = pooled ? kD : p.k_st;
    const std::int64_t vs = pooled ? kD : p.v_st;
    const std::uint32_t dk = s_k + stage * kStageBytes;
    const std::uint32_t dv = s_v + stage * kStageBytes;
#pragma unroll
    for (int i = 0; i < kKeys * kChunks / kThreads; ++i) {
      const int c = i * kThreads + tid;
      const int r = c / kChunks;
      const int ch = c % kChunks;
      const bool ok = r < valid;
      const std::int64_t row = start + (ok ? r : 0);
      cp_async_16(dk + swizzled_offset(kKeys, r, ch), kb + row * ks + ch * 8, ok);
      cp_async_16(dv + swizzled_offset(kKeys, r, ch), vb + row * vs + ch * 8, ok);
    }
  };

  load_block(0, 0);
  cp_async_commit();

  float o[kD / 2];
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.f, 0.f};
  const std::uint32_t q_base = s_q + wg * 64 * 128;

  for (int j = 0; j < blocks.count; ++j) {
    cp_async_wait<0>();
    fence_proxy_async();
    __syncthreads();  // block j visible to all; both warpgroups are done with block j - 1
    if (j + 1 < blocks.count) load_block(j + 1, (j + 1) & 1);
    cp_async_commit();

    std::int64_t start;
    int valid;
    bool pooled;
    blocks.locate(j, start, valid, pooled);
    const std::uint32_t sk = s_k + (j & 1) * kStageBytes;
    const std::uint32_t sv = s_v + (j & 1) * kStageBytes;

    // ---- S = Q K^T (64 x 128 per warpgroup) ----
    float s[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) s[i] = 0.f;
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      const std::uint32_t col = (ks >> 2) * 128u;  // 64-element column block
      const std::uint32_t koff = (ks & 3) * 32u;   // 16 elements inside the 128-byte row
      wgmma_ss_m64n128k16(s, smem_desc(q_base + col * kRows + koff, 16, 1024),
                          smem_desc(sk + col * kKeys + koff, 16, 1024), ks > 0 ? 1 : 0, Tag{});
    }
    wgmma_commit();
    wgmma_wait_all();

    // ---- online softmax (base 2); s[4 nb + e]: row g (e < 2) or g + 8, col 8 nb + 2 t + e % 2
    // ----
    const float* bias = pooled ? p.pooled_bias + start : nullptr;
    float blk_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nb = 0; nb < kKeys / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = nb * 8 + 2 * t + (e & 1);
        float x = s[4 * nb + e] * p.scale_log2;
        if (pooled && col < valid) x += __ldg(bias + col);
        x = col < valid ? x : -INFINITY;
        s[4 * nb + e] = x;
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
    std::uint32_t pa[kKeys / 16][4];
#pragma unroll
    for (int nb = 0; nb < kKeys / 8; ++nb) {
      float pe[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        pe[e] = fast_exp2(s[4 * nb + e] - row_max[e >> 1]);
        row_sum[e >> 1] += pe[e];
      }
      // A fragment of keys [16 kk, 16 kk + 16): regs {row g, row g+8} x {keys +0..7, +8..15}.
      pa[nb >> 1][(nb & 1) * 2 + 0] = Traits::pack(pe[0], pe[1]);
      pa[nb >> 1][(nb & 1) * 2 + 1] = Traits::pack(pe[2], pe[3]);
    }
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) {
      o[4 * i + 0] *= alpha[0];
      o[4 * i + 1] *= alpha[0];
      o[4 * i + 2] *= alpha[1];
      o[4 * i + 3] *= alpha[1];
    }

    // ---- O += P V: V is the MN-major B operand (rows = keys, 64-column blocks kKeys rows apart)
    // --
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      wgmma_pv(o, pa[kk], smem_desc(sv + kk * 16 * 128, kKeys * 128, 1024), Tag{});
    }
    wgmma_commit();
    wgmma_wait_all();
  }
  cp_async_wait<0>();

  // ---- epilogue (as in the portable kernel) ----
  float inv[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 1);
    row_sum[h] += __shfl_xor_sync(0xffffffffu, row_sum[h], 2);
    inv[h] = row_sum[h] > 0.f ? 1.f / row_sum[h] : 0.f;  // no key (a key subset): 0, lse -inf
    const int r = wg * 64 + wq * 16 + g + 8 * h;
    if (p.lse != nullptr && t == 0 && r < q_rows) {
      p.lse[bh * p.tiles.tokens + work.row_begin + r] = (row_max[h] + log2f(row_sum[h])) * kLn2;
    }
  }
#pragma unroll
  for (int nb = 0; nb < kD / 8; ++nb) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = wg * 64 + wq * 16 + g + 8 * h;
      *reinterpret_cast<std::uint32_t*>(smem_q + swizzled_offset(kRows, r, nb) + 4 * t) =
          Traits::pack(o[4 * nb + 2 * h] * inv[h], o[4 * nb + 2 * h + 1] * inv[h]);
    }
  }
  __syncwarp();
  Elem* out = static_cast<Elem*>(p.out) + batch * p.o_sb + head * p.o_sh;
#pragma unroll
  for (int i = 0; i < 16 * kChunks / 32; ++i) {
    const int c = i * 32 + lane;
    const int r = wg * 64 + wq * 16 + c / kChunks;
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

template <typename Elem, int kD>
void launch(const AttentionParams& p, int batch, cudaStream_t stream) {
  const auto kernel = window_attention_sm90a_kernel<Elem, kD>;
  constexpr int smem = sm90a_smem_bytes<kD>();
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
             "cudaFuncSetAttribute (wgmma window attention)");
  const dim3 grid(static_cast<unsigned>(p.tiles.total_tiles), static_cast<unsigned>(p.heads),
                  static_cast<unsigned>(batch));
  kernel<<<grid, kThreads, smem, stream>>>(p);
  check_cuda(cudaGetLastError(), "window attention launch (wgmma kernel)");
}

}  // namespace

bool sm90a_supports(ElemType dtype, int head_dim) {
  return (dtype == ElemType::kBFloat16 || dtype == ElemType::kFloat16) &&
         (head_dim == 64 || head_dim == 128);
}

void launch_window_attention_sm90a(const AttentionParams& p, ElemType dtype, int batch,
                                   cudaStream_t stream) {
  if (dtype == ElemType::kFloat16) {
    if (p.head_dim == 64) {
      launch<__half, 64>(p, batch, stream);
    } else {
      launch<__half, 128>(p, batch, stream);
    }
  } else if (p.head_dim == 64) {
    launch<__nv_bfloat16, 64>(p, batch, stream);
  } else {
    launch<__nv_bfloat16, 128>(p, batch, stream);
  }
}

}  // namespace ltx2eff::cuda::detail
