// Validation and dispatch of window_attention / merge_attention: CPU views run the CPU kernel,
// CUDA views the CUDA kernels through the plain-data boundary of cuda/attention_launch.hpp.
#include "ltx2eff/attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "ltx2eff/attention_cpu.hpp"
#include "ltx2eff/attention_split.hpp"
#include "ltx2eff/cuda/attention_launch.hpp"
#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/parallel.hpp"

namespace ltx2eff {
namespace {

constexpr std::int64_t kMaxBatch = std::int64_t{1} << 20;
constexpr std::int64_t kMaxHeads = std::int64_t{1} << 16;
constexpr std::int64_t kMaxHeadDim = 1024;
constexpr std::int64_t kMaxGlobalTokens = std::int64_t{1} << 20;

std::string shape_string(const TensorView& view) {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < view.ndim; ++i) os << (i ? ", " : "") << view.size(i);
  os << "]";
  return os.str();
}

std::string stride_string(const TensorView& view) {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < view.ndim; ++i) os << (i ? ", " : "") << view.stride(i);
  os << "]";
  return os.str();
}

std::string device_string(const TensorView& view) {
  return view.device == DeviceKind::kCpu ? "cpu" : "cuda:" + std::to_string(view.device_index);
}

bool is_attention_dtype(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 || dtype == DType::kBFloat16;
}

bool overlaps(const TensorView& a, const TensorView& b) {
  return views_overlap(a, b);
}

// The same elements in the same order: an in-place element-wise write is safe.
bool same_elements(const TensorView& a, const TensorView& b) {
  return a.data == b.data && a.dtype == b.dtype && a.ndim == b.ndim && a.shape == b.shape &&
         a.strides == b.strides;
}

// Outputs are written in parallel: two of their elements sharing memory would race.
void require_disjoint_rows(std::string_view name, const TensorView& view) {
  if (overlaps_itself(view)) {
    fail(name, "must not overlap itself (a stride of 0, or rows sharing memory), got strides " +
                   stride_string(view));
  }
}

void require_same_device(std::string_view name, const TensorView& view, const TensorView& ref) {
  if (view.device != ref.device ||
      (view.device == DeviceKind::kCuda && view.device_index != ref.device_index)) {
    fail(name, "must be on the same device as q (" + device_string(ref) + "), got " +
                   device_string(view));
  }
}

// A [B, heads, T, D] operand: 4-d, a supported float dtype, unit stride on D, data present.
void require_bhtd(std::string_view name, const TensorView& view) {
  if (view.ndim != 4) {
    fail(name, "must be a 4-d tensor [B, heads, T, D], got " + std::to_string(view.ndim) + "-d " +
                   shape_string(view));
  }
  if (!is_attention_dtype(view.dtype)) {
    fail(name, "dtype must be float32, float16 or bfloat16, got " + to_string(view.dtype));
  }
  if (view.size(3) > 1 && view.stride(3) != 1) {
    fail(name,
         "must have a unit stride on the head dim D, got stride " + std::to_string(view.stride(3)));
  }
  if (view.numel() > 0 && view.data == nullptr) fail(name, "has no data (null pointer)");
}

void require_like(std::string_view name, const TensorView& view, const TensorView& ref,
                  std::string_view ref_name) {
  require_bhtd(name, view);
  if (view.shape != ref.shape) {
    fail(name, "must have the shape of " + std::string(ref_name) + " " + shape_string(ref) +
                   ", got " + shape_string(view));
  }
  if (view.dtype != ref.dtype) {
    fail(name, "dtype must match " + std::string(ref_name) + " (" + to_string(ref.dtype) +
                   "), got " + to_string(view.dtype));
  }
  require_same_device(name, view, ref);
}

// A float32 [B, heads, T] log-sum-exp operand.
void require_lse(std::string_view name, const TensorView& view, const TensorView& ref,
                 bool contiguous) {
  if (view.dtype != DType::kFloat32) {
    fail(name, "dtype must be float32, got " + to_string(view.dtype));
  }
  if (view.ndim != 3 || view.size(0) != ref.size(0) || view.size(1) != ref.size(1) ||
      view.size(2) != ref.size(2)) {
    fail(name, "must have the shape [B, heads, T] = [" + std::to_string(ref.size(0)) + ", " +
                   std::to_string(ref.size(1)) + ", " + std::to_string(ref.size(2)) + "], got " +
                   shape_string(view));
  }
  if (contiguous && !view.is_contiguous()) fail(name, "must be contiguous");
  if (view.numel() > 0 && view.data == nullptr) fail(name, "has no data (null pointer)");
  require_same_device(name, view, ref);
}

double resolved_scale(double scale, std::int64_t head_dim) {
  if (!(scale == 0.0 || (scale >= kMinAttentionScale && scale <= kMaxAttentionScale))) {
    std::ostringstream os;
    os << "must be 0 (meaning 1/sqrt(D)) or in [" << kMinAttentionScale << ", "
       << kMaxAttentionScale << "], got " << scale;
    fail("scale", os.str());
  }
  return scale > 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(head_dim));
}

void validate_attention(const TensorView& q, const TensorView& k, const TensorView& v,
                        const TensorView& out, const TensorView* lse,
                        const AttentionOptions& options) {
  require_bhtd("q", q);
  require_like("k", k, q, "q");
  require_like("v", v, q, "q");
  require_like("out", out, q, "q");
  if (q.size(0) < 1 || q.size(0) > kMaxBatch) {
    fail("q", "batch B must be in [1, " + std::to_string(kMaxBatch) + "], got " +
                  std::to_string(q.size(0)));
  }
  if (q.size(1) < 1 || q.size(1) > kMaxHeads) {
    fail("q", "heads must be in [1, " + std::to_string(kMaxHeads) + "], got " +
                  std::to_string(q.size(1)));
  }
  if (q.size(3) < 1 || q.size(3) > kMaxHeadDim) {
    fail("q", "head dim D must be in [1, " + std::to_string(kMaxHeadDim) + "], got " +
                  std::to_string(q.size(3)));
  }
  validate_latent_shape(options.grid);
  require_in_range("global_tokens", options.global_tokens, std::int64_t{0}, kMaxGlobalTokens);
  validate_window_spec(options.window);
  const std::int64_t expected = options.grid.tokens() + options.global_tokens;
  if (q.size(2) != expected) {
    fail("q", "has T = " + std::to_string(q.size(2)) + " tokens, but the grid " +
                  std::to_string(options.grid.frames) + "x" + std::to_string(options.grid.height) +
                  "x" + std::to_string(options.grid.width) + " plus " +
                  std::to_string(options.global_tokens) + " global tokens needs " +
                  std::to_string(expected));
  }
  (void)resolved_scale(options.scale, q.size(3));
  if (lse != nullptr) require_lse("lse", *lse, q, /*contiguous=*/true);
  require_disjoint_rows("out", out);
  for (const TensorView* input : {&q, &k, &v}) {
    if (overlaps(out, *input)) fail("out", "must not overlap q, k or v");
    if (lse != nullptr && overlaps(*lse, *input)) fail("lse", "must not overlap q, k or v");
  }
  if (lse != nullptr && overlaps(*lse, out)) fail("lse", "must not overlap out");
}

cuda::ElemType elem_type(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return cuda::ElemType::kFloat16;
    case DType::kBFloat16:
      return cuda::ElemType::kBFloat16;
    default:
      return cuda::ElemType::kFloat32;
  }
}

cuda::Strided strided(const TensorView& view) {
  return {view.data, view.stride(0), view.stride(1), view.stride(2)};
}

// Whether inputs of this dtype already are what the precision policy computes in.
bool precision_matches(Precision precision, DType dtype) {
  switch (precision) {
    case Precision::kBf16:
      return dtype == DType::kBFloat16;
    case Precision::kFp16:
      return dtype == DType::kFloat16;
    case Precision::kFp32:
      return dtype == DType::kFloat32;
    default:
      return true;
  }
}

static_assert(static_cast<int>(KeySubset::kAll) == 0 &&
                  static_cast<int>(KeySubset::kOwnFrame) == 1 &&
                  static_cast<int>(KeySubset::kOtherFrames) == 2,
              "cuda::AttentionLaunch::key_subset uses the KeySubset order");

AttentionBackend run_cuda(const TensorView& q, const TensorView& k, const TensorView& v,
                          const TensorView& out, const TensorView* lse,
                          const AttentionOptions& options, KeySubset subset) {
  if (!cuda_kernels_built()) {
    throw Unavailable("this build has no CUDA kernels (no CUDA toolkit was found at build time)");
  }
  if (!precision_matches(options.precision, q.dtype)) {
    throw Unavailable("the CUDA attention kernel computes in the input dtype; precision " +
                      to_string(options.precision) + " needs the inputs cast first (got " +
                      to_string(q.dtype) + ")");
  }
  cuda::AttentionLaunch launch;
  launch.dtype = elem_type(q.dtype);
  launch.batch = static_cast<int>(q.size(0));
  launch.heads = static_cast<int>(q.size(1));
  launch.head_dim = static_cast<int>(q.size(3));
  launch.tokens = q.size(2);
  launch.frames = options.grid.frames;
  launch.height = options.grid.height;
  launch.width = options.grid.width;
  launch.global_tokens = options.global_tokens;
  launch.window = options.window.window;
  launch.anchor_frame = options.window.anchor_frame;
  launch.far_field = options.window.far_field;
  launch.far_field_8bit = options.precision == Precision::kFp8FarField;
  launch.scale = static_cast<float>(resolved_scale(options.scale, q.size(3)));
  launch.q = strided(q);
  launch.k = strided(k);
  launch.v = strided(v);
  launch.out = out.data;
  launch.out_stride_b = out.stride(0);
  launch.out_stride_h = out.stride(1);
  launch.out_stride_t = out.stride(2);
  launch.lse = lse != nullptr ? static_cast<float*>(lse->data) : nullptr;
  launch.stream = q.stream;
  launch.device_index = q.device_index;
  launch.key_subset = static_cast<int>(subset);  // same order as cuda::AttentionLaunch documents
  if (!cuda::window_attention_supported(launch)) {
    throw Unavailable("the CUDA window attention kernel does not support " + describe(q) +
                      " (head dim " + std::to_string(q.size(3)) + ", " + to_string(q.dtype) +
                      ") on this device");
  }
  cuda::window_attention(launch);
  return AttentionBackend::kCuda;
}

}  // namespace

const char* to_string(KeySubset subset) {
  switch (subset) {
    case KeySubset::kAll:
      return "all";
    case KeySubset::kOwnFrame:
      return "own_frame";
    case KeySubset::kOtherFrames:
      return "other_frames";
  }
  return "all";
}

const char* to_string(AttentionBackend backend) {
  return backend == AttentionBackend::kCuda ? "cuda" : "cpu";
}

AttentionBackend window_attention_subset(const TensorView& q, const TensorView& k,
                                         const TensorView& v, const TensorView& out,
                                         const TensorView* lse, const AttentionOptions& options,
                                         KeySubset subset) {
  validate_attention(q, k, v, out, lse, options);
  if (q.device == DeviceKind::kCuda) return run_cuda(q, k, v, out, lse, options, subset);

  CpuAttentionCall call;
  call.q = q;
  call.k = k;
  call.v = v;
  call.out = out;
  call.lse = lse;
  call.options = options;
  call.options.scale = resolved_scale(options.scale, q.size(3));
  call.subset = subset;
  call.threads = cpu_thread_count();
  call.isa = default_cpu_isa();
  cpu_window_attention(call);
  return AttentionBackend::kCpu;
}

AttentionBackend window_attention(const TensorView& q, const TensorView& k, const TensorView& v,
                                  const TensorView& out, const TensorView* lse,
                                  const AttentionOptions& options) {
  return window_attention_subset(q, k, v, out, lse, options, KeySubset::kAll);
}

void merge_attention(const TensorView& out_a, const TensorView& lse_a, const TensorView& out_b,
                     const TensorView& lse_b, const TensorView& out, const TensorView& lse_out) {
  require_bhtd("out_a", out_a);
  require_like("out_b", out_b, out_a, "out_a");
  require_like("out", out, out_a, "out_a");
  const bool on_cuda = out_a.device == DeviceKind::kCuda;
  require_lse("lse_a", lse_a, out_a, on_cuda);
  require_lse("lse_b", lse_b, out_a, on_cuda);
  require_lse("lse_out", lse_out, out_a, on_cuda);
  require_disjoint_rows("out", out);
  require_disjoint_rows("lse_out", lse_out);
  // Element by element, the merge may write over a partial exactly; any other overlap races.
  for (const TensorView* input : {&out_a, &lse_a, &out_b, &lse_b}) {
    if (overlaps(out, *input) && !same_elements(out, *input)) {
      fail("out", "must be out_a or out_b exactly or not overlap out_a, lse_a, out_b or lse_b");
    }
    if (overlaps(lse_out, *input) && !same_elements(lse_out, *input)) {
      fail("lse_out", "must be lse_a or lse_b exactly or not overlap out_a, lse_a, out_b or lse_b");
    }
  }
  if (overlaps(lse_out, out)) fail("lse_out", "must not overlap out");
  if (out_a.numel() == 0) return;

  if (!on_cuda) {
    cpu_merge_attention(out_a, lse_a, out_b, lse_b, out, lse_out, cpu_thread_count());
    return;
  }
  for (const auto& [name, view] : {std::pair<const char*, const TensorView*>{"out_a", &out_a},
                                   {"out_b", &out_b},
                                   {"out", &out}}) {
    if (!view->is_contiguous()) fail(name, "must be contiguous for the CUDA merge");
  }
  if (!cuda_kernels_built()) {
    throw Unavailable("this build has no CUDA kernels (no CUDA toolkit was found at build time)");
  }
  cuda::MergeLaunch launch;
  launch.dtype = elem_type(out_a.dtype);
  launch.rows = out_a.size(0) * out_a.size(1) * out_a.size(2);
  launch.head_dim = static_cast<int>(out_a.size(3));
  launch.out_a = out_a.data;
  launch.lse_a = static_cast<const float*>(lse_a.data);
  launch.out_b = out_b.data;
  launch.lse_b = static_cast<const float*>(lse_b.data);
  launch.out = out.data;
  launch.lse_out = static_cast<float*>(lse_out.data);
  launch.stream = out_a.stream;
  launch.device_index = out_a.device_index;
  cuda::merge_attention(launch);
}

}  // namespace ltx2eff
