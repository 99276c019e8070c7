// CUDA side of the attention engine: support checks, the far-field pooling kernel, the choice
// between the Hopper (wgmma) and the portable (mma.sync) window-attention kernels, and the LSE
// merge. The dispatcher (attention.cpp) validates every argument before calling in here.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "attention_common.cuh"
#include "attention_sm80.cuh"
#include "attention_sm90a.cuh"
#include "ltx2eff/cuda/attention_launch.hpp"
#include "ltx2eff/cuda/window_tiles.hpp"

namespace ltx2eff::cuda {
namespace {

using detail::AttentionParams;
using detail::check_cuda;

#if defined(LTX2EFF_HAVE_SM90A)
// LTX2EFF_CUDA_ATTENTION_KERNEL=mma forces the portable kernel everywhere (to compare paths);
// "auto" (default) takes the Hopper kernel on 9.0 devices when the build has it.
bool force_portable_kernel() {
  static const bool forced = [] {
    const char* env = std::getenv("LTX2EFF_CUDA_ATTENTION_KERNEL");
    return env != nullptr && std::strcmp(env, "mma") == 0;
  }();
  return forced;
}
#endif

int compute_capability(int device) {
  int major = 0;
  int minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return major * 10 + minor;
}

int max_optin_smem(int device) {
  int bytes = 0;
  if (cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) !=
      cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return bytes;
}

// Makes `device` current for the scope of a launch and restores the caller's device.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check_cuda(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceScope() {
    int current = previous_;
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) {
      (void)cudaSetDevice(previous_);
    }
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// Stream-ordered scratch for the pooled far field, from a pool of our own per device that keeps
// up to 256 MiB cached between calls (the default pool would hand memory back at every sync).
cudaMemPool_t scratch_pool(int device) {
  static std::mutex mutex;
  static std::map<int, cudaMemPool_t> pools;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto it = pools.find(device);
  if (it != pools.end()) return it->second;
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  cudaMemPool_t pool = nullptr;
  check_cuda(cudaMemPoolCreate(&pool, &props), "cudaMemPoolCreate");
  std::uint64_t keep = std::uint64_t{256} << 20;
  check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep),
             "cudaMemPoolSetAttribute");
  pools[device] = pool;
  return pool;
}

class StreamScratch {
 public:
  StreamScratch(std::size_t bytes, int device, cudaStream_t stream) : stream_(stream) {
    check_cuda(cudaMallocFromPoolAsync(&data_, bytes, scratch_pool(device), stream),
               "cudaMallocFromPoolAsync (far-field scratch)");
  }
  ~StreamScratch() {
    if (data_ != nullptr) (void)cudaFreeAsync(data_, stream_);
  }
  StreamScratch(const StreamScratch&) = delete;
  StreamScratch& operator=(const StreamScratch&) = delete;
  [[nodiscard]] unsigned char* bytes() const { return static_cast<unsigned char*>(data_); }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_;
};

std::size_t align_up(std::size_t n) {
  return (n + 255) / 256 * 256;
}

// ---- far-field pooling: p x p cell means of K and V per frame, + optional int8 keys ----

struct PoolParams {
  const void* k = nullptr;
  const void* v = nullptr;
  std::int64_t k_sb = 0, k_sh = 0, k_st = 0;
  std::int64_t v_sb = 0, v_sh = 0, v_st = 0;
  int heads = 0, height = 0, width = 0, pool = 0, cells_w = 0;
  int pooled_per_frame = 0;
  std::int64_t pooled_rows = 0;  // F * P
  void* pooled_k = nullptr;
  void* pooled_v = nullptr;
  std::int8_t* pooled_k8 = nullptr;
  float* pooled_k8_scale = nullptr;
  float* bias = nullptr;  // log2(tokens in the cell) per pooled row of one head, [F * P]
};

template <typename Elem>
__global__ void pool_far_field_kernel(const PoolParams pp) {
  using Traits = detail::ElemTraits<Elem>;
  const int d = static_cast<int>(threadIdx.x);
  const int dim = static_cast<int>(blockDim.x);
  const int head = static_cast<int>(blockIdx.y);
  const int batch = static_cast<int>(blockIdx.z);
  const std::int64_t row_in_head = blockIdx.x;
  const int frame = static_cast<int>(row_in_head / pp.pooled_per_frame);
  const int cell = static_cast<int>(row_in_head % pp.pooled_per_frame);
  const int h0 = (cell / pp.cells_w) * pp.pool;
  const int w0 = (cell % pp.cells_w) * pp.pool;
  const int h1 = min(pp.height, h0 + pp.pool);
  const int w1 = min(pp.width, w0 + pp.pool);
  const Elem* k = static_cast<const Elem*>(pp.k) + batch * pp.k_sb + head * pp.k_sh + d;
  const Elem* v = static_cast<const Elem*>(pp.v) + batch * pp.v_sb + head * pp.v_sh + d;
  const std::int64_t frame_token = static_cast<std::int64_t>(frame) * pp.height * pp.width;
  float sum_k = 0.f;
  float sum_v = 0.f;
  for (int h = h0; h < h1; ++h) {
    for (int w = w0; w < w1; ++w) {
      const std::int64_t token = frame_token + static_cast<std::int64_t>(h) * pp.width + w;
      sum_k += Traits::to_float(k[token * pp.k_st]);
      sum_v += Traits::to_float(v[token * pp.v_st]);
    }
  }
  const int count = (h1 - h0) * (w1 - w0);
  const float mean_k = sum_k / static_cast<float>(count);
  const float mean_v = sum_v / static_cast<float>(count);
  const std::int64_t row =
      (static_cast<std::int64_t>(batch) * pp.heads + head) * pp.pooled_rows + row_in_head;
  static_cast<Elem*>(pp.pooled_k)[row * dim + d] = Traits::from_float(mean_k);
  static_cast<Elem*>(pp.pooled_v)[row * dim + d] = Traits::from_float(mean_v);
  if (pp.pooled_k8 != nullptr) {
    __shared__ float warp_max[32];
    float amax = fabsf(mean_k);
    for (int off = 16; off > 0; off >>= 1) {
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    }
    if ((d & 31) == 0) warp_max[d >> 5] = amax;
    __syncthreads();
    amax = 0.f;
    for (int i = 0; i < (dim + 31) / 32; ++i) amax = fmaxf(amax, warp_max[i]);
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
    const int q = max(-127, min(127, __float2int_rn(mean_k * inv)));
    pp.pooled_k8[row * dim + d] = static_cast<std::int8_t>(q);
    if (d == 0) pp.pooled_k8_scale[row] = amax / 127.f;
  }
  if (batch == 0 && head == 0 && d == 0) pp.bias[row_in_head] = log2f(static_cast<float>(count));
}

// ---- LSE merge ----

template <typename Elem>
__global__ void merge_attention_kernel(const MergeLaunch m) {
  using Traits = detail::ElemTraits<Elem>;
  const int warps = static_cast<int>(blockDim.x) / 32;
  const std::int64_t row =
      static_cast<std::int64_t>(blockIdx.x) * warps + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) & 31;
  if (row >= m.rows) return;
  const float la = m.lse_a[row];
  const float lb = m.lse_b[row];
  const float mx = fmaxf(la, lb);
  const float wa = la == -INFINITY ? 0.f : expf(la - mx);
  const float wb = lb == -INFINITY ? 0.f : expf(lb - mx);
  const float sum = wa + wb;
  const float ca = sum > 0.f ? wa / sum : 0.f;
  const float cb = sum > 0.f ? wb / sum : 0.f;
  __syncwarp();  // every lane has read lse_a before lane 0 may overwrite it (lse_out may alias)
  const std::int64_t base = row * m.head_dim;
  const Elem* a = static_cast<const Elem*>(m.out_a) + base;
  const Elem* b = static_cast<const Elem*>(m.out_b) + base;
  Elem* out = static_cast<Elem*>(m.out) + base;
  for (int d = lane; d < m.head_dim; d += 32) {
    const float xa = wa > 0.f ? Traits::to_float(a[d]) : 0.f;  // a -inf partial is never read
    const float xb = wb > 0.f ? Traits::to_float(b[d]) : 0.f;
    out[d] = Traits::from_float(ca * xa + cb * xb);
  }
  if (lane == 0) m.lse_out[row] = sum > 0.f ? mx + logf(sum) : -INFINITY;
}

// ---- window attention ----

template <typename Elem, int kD, bool kFar8>
void launch_sm80(const AttentionParams& p, int batch, cudaStream_t stream) {
  const auto kernel = detail::window_attention_sm80_kernel<Elem, kD, kFar8>;
  constexpr int smem = detail::sm80_smem_bytes<kD>();
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
             "cudaFuncSetAttribute (window attention)");
  const dim3 grid(static_cast<unsigned>(p.tiles.total_tiles), static_cast<unsigned>(p.heads),
                  static_cast<unsigned>(batch));
  kernel<<<grid, detail::kSm80Threads, smem, stream>>>(p);
  check_cuda(cudaGetLastError(), "window attention launch (mma.sync kernel)");
}

template <typename Elem, int kD>
void launch_sm80_far8(const AttentionParams& p, int batch, cudaStream_t stream) {
  if (p.pooled_k8 != nullptr) {
    launch_sm80<Elem, kD, true>(p, batch, stream);
  } else {
    launch_sm80<Elem, kD, false>(p, batch, stream);
  }
}

template <typename Elem>
void launch_sm80_dim(const AttentionParams& p, int batch, cudaStream_t stream) {
  if (p.head_dim == 64) {
    launch_sm80_far8<Elem, 64>(p, batch, stream);
  } else {
    launch_sm80_far8<Elem, 128>(p, batch, stream);
  }
}

template <typename Elem>
void launch_pool(const PoolParams& pp, int head_dim, int frames, int batch, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(static_cast<std::int64_t>(frames) * pp.pooled_per_frame),
                  static_cast<unsigned>(pp.heads), static_cast<unsigned>(batch));
  pool_far_field_kernel<Elem><<<grid, head_dim, 0, stream>>>(pp);
  check_cuda(cudaGetLastError(), "far-field pooling launch");
}

// Copies a view's (batch, head, token) strides, in elements, into a kernel parameter block.
void copy_strides(const Strided& view, std::int64_t& sb, std::int64_t& sh, std::int64_t& st) {
  sb = view.stride_b;
  sh = view.stride_h;
  st = view.stride_t;
}

bool aligned16(const void* ptr) {
  return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0;
}

bool rows_aligned(const Strided& s) {
  return aligned16(s.data) && s.stride_b % 8 == 0 && s.stride_h % 8 == 0 && s.stride_t % 8 == 0;
}

bool sm90a_path(const AttentionLaunch& launch, bool far8) {
#if defined(LTX2EFF_HAVE_SM90A)
  return !force_portable_kernel() && !far8 && compute_capability(launch.device_index) == 90 &&
         detail::sm90a_supports(launch.dtype, launch.head_dim);
#else
  (void)launch;
  (void)far8;
  return false;
#endif
}

}  // namespace

bool window_attention_supported(const AttentionLaunch& launch) {
  if (launch.dtype != ElemType::kFloat16 && launch.dtype != ElemType::kBFloat16) return false;
  if (launch.key_subset < kKeysAll || launch.key_subset > kKeysOtherFrames) return false;
  if (launch.head_dim != 64 && launch.head_dim != 128) return false;
  if (launch.batch < 1 || launch.heads < 1 || launch.batch > 65535 || launch.heads > 65535) {
    return false;
  }
  const int cc = compute_capability(launch.device_index);
  if (cc < 80) return false;  // cp.async and bf16 mma.sync need Ampere or newer
  const int smem =
      launch.head_dim == 64 ? detail::sm80_smem_bytes<64>() : detail::sm80_smem_bytes<128>();
  if (max_optin_smem(launch.device_index) < smem) return false;
  // 16-byte vector loads and stores of whole rows.
  if (!rows_aligned(launch.q) || !rows_aligned(launch.k) || !rows_aligned(launch.v)) return false;
  if (!aligned16(launch.out) || launch.out_stride_b % 8 != 0 || launch.out_stride_h % 8 != 0 ||
      launch.out_stride_t % 8 != 0) {
    return false;
  }
  return true;
}

void window_attention(const AttentionLaunch& launch) {
  const DeviceScope scope(launch.device_index);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  const int window = launch.window < 0 ? -1 : launch.window;

  AttentionParams p;
  p.q = launch.q.data;
  p.k = launch.k.data;
  p.v = launch.v.data;
  p.out = launch.out;
  p.lse = launch.lse;
  copy_strides(launch.q, p.q_sb, p.q_sh, p.q_st);
  copy_strides(launch.k, p.k_sb, p.k_sh, p.k_st);
  copy_strides(launch.v, p.v_sb, p.v_sh, p.v_st);
  p.o_sb = launch.out_stride_b;
  p.o_sh = launch.out_stride_h;
  p.o_st = launch.out_stride_t;
  p.heads = launch.heads;
  p.head_dim = launch.head_dim;
  p.scale_log2 = launch.scale * 1.4426950408889634f;
  p.tiles = make_window_tiles(launch.frames, launch.height, launch.width, launch.global_tokens,
                              window, launch.anchor_frame, launch.far_field, detail::kTileRows,
                              launch.key_subset);
  const bool far = p.tiles.pool > 0;
  const bool far8 = far && launch.far_field_8bit;

  // The pooled far field: one small pass over K and V before the attention kernel.
  std::optional<StreamScratch> scratch;
  if (far) {
    const std::size_t elem = 2;
    const std::int64_t rows_per_head = launch.frames * p.tiles.pooled_per_frame;
    const std::size_t rows = static_cast<std::size_t>(launch.batch) * launch.heads *
                             static_cast<std::size_t>(rows_per_head);
    const std::size_t kv_bytes = align_up(rows * launch.head_dim * elem);
    const std::size_t k8_bytes = far8 ? align_up(rows * launch.head_dim) : 0;
    const std::size_t k8s_bytes = far8 ? align_up(rows * sizeof(float)) : 0;
    const std::size_t bias_bytes =
        align_up(static_cast<std::size_t>(rows_per_head) * sizeof(float));
    scratch.emplace(2 * kv_bytes + k8_bytes + k8s_bytes + bias_bytes, launch.device_index, stream);
    unsigned char* base = scratch->bytes();
    PoolParams pp;
    pp.k = launch.k.data;
    pp.v = launch.v.data;
    copy_strides(launch.k, pp.k_sb, pp.k_sh, pp.k_st);
    copy_strides(launch.v, pp.v_sb, pp.v_sh, pp.v_st);
    pp.heads = launch.heads;
    pp.height = launch.height;
    pp.width = launch.width;
    pp.pool = launch.far_field;
    pp.cells_w = (launch.width + launch.far_field - 1) / launch.far_field;
    pp.pooled_per_frame = static_cast<int>(p.tiles.pooled_per_frame);
    pp.pooled_rows = rows_per_head;
    pp.pooled_k = base;
    pp.pooled_v = base + kv_bytes;
    pp.pooled_k8 = far8 ? reinterpret_cast<std::int8_t*>(base + 2 * kv_bytes) : nullptr;
    pp.pooled_k8_scale = far8 ? reinterpret_cast<float*>(base + 2 * kv_bytes + k8_bytes) : nullptr;
    pp.bias = reinterpret_cast<float*>(base + 2 * kv_bytes + k8_bytes + k8s_bytes);
    if (launch.dtype == ElemType::kFloat16) {
      launch_pool<__half>(pp, launch.head_dim, launch.frames, launch.batch, stream);
    } else {
      launch_pool<__nv_bfloat16>(pp, launch.head_dim, launch.frames, launch.batch, stream);
    }
    p.pooled_k = pp.pooled_k;
    p.pooled_v = pp.pooled_v;
    p.pooled_k8 = pp.pooled_k8;
    p.pooled_k8_scale = pp.pooled_k8_scale;
    p.pooled_bias = pp.bias;
    p.pooled_rows = rows_per_head;
  }

  if (sm90a_path(launch, far8)) {
#if defined(LTX2EFF_HAVE_SM90A)
    detail::launch_window_attention_sm90a(p, launch.dtype, launch.batch, stream);
#endif
  } else if (launch.dtype == ElemType::kFloat16) {
    launch_sm80_dim<__half>(p, launch.batch, stream);
  } else {
    launch_sm80_dim<__nv_bfloat16>(p, launch.batch, stream);
  }
}

void merge_attention(const MergeLaunch& launch) {
  if (launch.rows <= 0) return;
  const DeviceScope scope(launch.device_index);
  const auto stream = static_cast<cudaStream_t>(launch.stream);
  constexpr int kWarps = 8;
  const dim3 grid(static_cast<unsigned>((launch.rows + kWarps - 1) / kWarps));
  switch (launch.dtype) {
    case ElemType::kFloat16:
      merge_attention_kernel<__half><<<grid, kWarps * 32, 0, stream>>>(launch);
      break;
    case ElemType::kBFloat16:
      merge_attention_kernel<__nv_bfloat16><<<grid, kWarps * 32, 0, stream>>>(launch);
      break;
    case ElemType::kFloat32:
      merge_attention_kernel<float><<<grid, kWarps * 32, 0, stream>>>(launch);
      break;
  }
  check_cuda(cudaGetLastError(), "attention merge launch");
}

}  // namespace ltx2eff::cuda
