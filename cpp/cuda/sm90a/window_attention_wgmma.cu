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
#include "../attention_tile_steps.cuh"

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

// Inline-asm operand lists of 32 / 64 fp32 accumulators, and the matching placeholder strings.
#define LTX2EFF_ACC8(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
#define LTX2EFF_ACC32(d) \
  LTX2EFF_ACC8(d), LTX2EFF_ACC8((d + 8)), LTX2EFF_ACC8((d + 16)), LTX2EFF_ACC8((d + 24))
#define LTX2EFF_ACC64(d) LTX2EFF_ACC32(d), LTX2EFF_ACC32((d + 32))
#define LTX2EFF_REGS32                                                                         \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define LTX2EFF_REGS64                                                                           \
  LTX2EFF_REGS32                                                                                 \
  ", %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"

// The three wgmma shapes the kernel issues, per element type (TY names the PTX operand type):
// S = Q K^T with both operands in shared memory (accumulate or overwrite), and O += P V with P
// from registers and V transposed, for D = 128 (n128) and D = 64 (n64).
#define LTX2EFF_DEFINE_WGMMA(Tag, TY)                                                         \
  __device__ __forceinline__ void wgmma_ss_m64n128k16(float(&d)[64], std::uint64_t a,         \
                                                      std::uint64_t b, int accumulate, Tag) { \
    asm volatile(                                                                             \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                          \
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {" LTX2EFF_REGS64          \
        "}, %64, %65, p, 1, 1, 0, 0;\n}\n"                                                    \
        : LTX2EFF_ACC64(d)                                                                    \
        : "l"(a), "l"(b), "r"(accumulate));                                                   \
  }                                                                                           \
  __device__ __forceinline__ void wgmma_pv(float(&d)[64], const std::uint32_t(&a)[4],         \
                                           std::uint64_t b, Tag) {                            \
    asm volatile(                                                                             \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                          \
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {" LTX2EFF_REGS64          \
        "}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"                                      \
        : LTX2EFF_ACC64(d)                                                                    \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                        \
  }                                                                                           \
  __device__ __forceinline__ void wgmma_pv(float(&d)[32], const std::uint32_t(&a)[4],         \
                                           std::uint64_t b, Tag) {                            \
    asm volatile(                                                                             \
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                          \
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {" LTX2EFF_REGS32           \
        "}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                                      \
        : LTX2EFF_ACC32(d)                                                                    \
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));                        \
  }
LTX2EFF_DEFINE_WGMMA(Bf16Tag, "bf16")
LTX2EFF_DEFINE_WGMMA(F16Tag, "f16")
#undef LTX2EFF_DEFINE_WGMMA
#undef LTX2EFF_REGS64
#undef LTX2EFF_REGS32
#undef LTX2EFF_ACC64
#undef LTX2EFF_ACC32
#undef LTX2EFF_ACC8

#endif  // LTX2EFF_WGMMA_ENABLED

template <typename Elem, int kD>
__global__ void __launch_bounds__(kThreads, 1)
    window_attention_sm90a_kernel(const AttentionParams p) {
#if defined(LTX2EFF_WGMMA_ENABLED)
  constexpr int kStageBytes = kKeys * kD * 2;
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
  const int t = lane & 3;
  const int head = static_cast<int>(blockIdx.y);
  const int batch = static_cast<int>(blockIdx.z);

  const TileWork work = tile_work(p.tiles, static_cast<std::int64_t>(blockIdx.x));
  const KeyBlocks<kKeys> blocks(work);
  const int q_rows = static_cast<int>(work.row_end - work.row_begin);
  const TileInputs<Elem, kD> in(p, batch, head);

  load_rows<kRows, kD, kThreads>(s_q, in.q, work.row_begin, p.q_st, q_rows, tid);
  auto load_block = [&](int j, int stage) {
    std::int64_t start;
    int valid;
    bool pooled;
    blocks.locate(j, start, valid, pooled);
    const std::int64_t ks = pooled ? kD : p.k_st;
    const std::int64_t vs = pooled ? kD : p.v_st;
    load_key_value_rows<kKeys, kD, kThreads>(s_k + stage * kStageBytes, pooled ? in.pooled_k : in.k,
                                             ks, s_v + stage * kStageBytes,
                                             pooled ? in.pooled_v : in.v, vs, start, valid, tid);
  };

  load_block(0, 0);
  cp_async_commit();

  float o[kD / 2];  // accumulator layout: attention_tile_steps.cuh
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

    // ---- online softmax (base 2) ----
    float alpha[2];
    softmax_block<kKeys>(s, valid, pooled, pooled ? p.pooled_bias + start : nullptr, p.scale_log2,
                         t, row_max, row_sum, alpha);
    std::uint32_t pa[kKeys / 16][4];
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) probability_fragment<Elem, kKeys>(s, kk, pa[kk]);
    rescale_rows<kD>(o, alpha);

    // ---- O += P V: V is the MN-major B operand (rows = keys, 64-column blocks kKeys rows apart)
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      wgmma_pv(o, pa[kk], smem_desc(sv + kk * 16 * 128, kKeys * 128, 1024), Tag{});
    }
    wgmma_commit();
    wgmma_wait_all();
  }
  cp_async_wait<0>();

  // ---- epilogue: warp w of the CTA owns rows [16 w, 16 w + 16) in both kernels ----
  store_rows<Elem, kRows, kD>(p, work, in.bh, batch, head, q_rows, warp, lane, o, row_max, row_sum,
                              smem_q);
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
