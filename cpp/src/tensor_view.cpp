#include "ltx2eff/tensor_view.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <sstream>
#include <utility>

namespace ltx2eff {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// a * b for a, b >= 0, saturated at INT64_MAX.
std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kInt64Max / b ? kInt64Max : a * b;
}

// a + b for a, b >= 0, saturated at INT64_MAX.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  return a > kInt64Max - b ? kInt64Max : a + b;
}

std::int64_t magnitude(std::int64_t v) {
  return v == std::numeric_limits<std::int64_t>::min() ? kInt64Max : (v < 0 ? -v : v);
}

// No real tensor reaches further than this many elements; beyond it overlap is assumed.
constexpr std::int64_t kMaxReach = std::int64_t{1} << 56;

// Element offsets [low, high] a non-empty view reaches from its data pointer (strides may be
// negative); ok is false past kMaxReach. Six dims of at most 2^56 each fit in 64 bits, also in
// bytes.
struct Span {
  std::int64_t low = 0;
  std::int64_t high = 0;
  bool ok = true;
};

Span element_span(const TensorView& view) {
  Span s;
  for (int i = 0; i < view.ndim; ++i) {
    const std::int64_t reach = saturating_mul(view.size(i) - 1, magnitude(view.stride(i)));
    if (reach > kMaxReach) return {0, 0, false};
    (view.stride(i) < 0 ? s.low : s.high) += view.stride(i) < 0 ? -reach : reach;
  }
  return s;
}

}  // namespace

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) {
    if (size(i) <= 0) return 0;
    n = saturating_mul(n, size(i));
  }
  return n;
}

bool TensorView::is_contiguous() const {
  std::int64_t expected = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    if (size(i) != 1 && stride(i) != expected) return false;
    expected = saturating_mul(expected, std::max<std::int64_t>(size(i), 0));
  }
  return true;
}

bool views_overlap(const TensorView& a, const TensorView& b) {
  if (a.device != b.device || a.device_index != b.device_index) return false;
  if (a.numel() == 0 || b.numel() == 0) return false;
  const Span sa = element_span(a);
  const Span sb = element_span(b);
  if (!sa.ok || !sb.ok) return true;
  const auto ia = static_cast<std::int64_t>(dtype_size(a.dtype));
  const auto ib = static_cast<std::int64_t>(dtype_size(b.dtype));
  const auto base_a = reinterpret_cast<std::uintptr_t>(a.data);
  const auto base_b = reinterpret_cast<std::uintptr_t>(b.data);
  // Unsigned wrap-around is defined; the spans are bounded well below 2^63 bytes.
  const std::uintptr_t a_first = base_a + static_cast<std::uintptr_t>(sa.low * ia);
  const std::uintptr_t a_last = base_a + static_cast<std::uintptr_t>(sa.high * ia + ia - 1);
  const std::uintptr_t b_first = base_b + static_cast<std::uintptr_t>(sb.low * ib);
  const std::uintptr_t b_last = base_b + static_cast<std::uintptr_t>(sb.high * ib + ib - 1);
  return a_first <= b_last && b_first <= a_last;
}

bool overlaps_itself(const TensorView& view) {
  if (view.numel() <= 1) return false;
  std::array<std::pair<std::int64_t, std::int64_t>, kMaxDims> dims{};  // |stride|, size
  int n = 0;
  for (int i = 0; i < view.ndim; ++i) {
    if (view.size(i) == 1) continue;
    dims[static_cast<std::size_t>(n++)] = {magnitude(view.stride(i)), view.size(i)};
  }
  // Insertion sort by stride: at most kMaxDims entries.
  for (int i = 1; i < n; ++i) {
    for (int j = i;
         j > 0 && dims[static_cast<std::size_t>(j)] < dims[static_cast<std::size_t>(j - 1)]; --j) {
      std::swap(dims[static_cast<std::size_t>(j)], dims[static_cast<std::size_t>(j - 1)]);
    }
  }
  // Each dimension must step over everything the smaller ones reach.
  std::int64_t extent = 1;
  for (int i = 0; i < n; ++i) {
    const auto [stride, size] = dims[static_cast<std::size_t>(i)];
    if (stride < extent) return true;
    extent = saturating_add(extent, saturating_mul(size - 1, stride));
  }
  return false;
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kInt8:
    case DType::kUInt8:
      return 1;
  }
  return 0;
}

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kFloat64:
      return "float64";
    case DType::kInt8:
      return "int8";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
  }
  return "unknown";
}

std::string to_string(DeviceKind device) {
  return device == DeviceKind::kCpu ? "cpu" : "cuda";
}

std::string describe(const TensorView& view) {
  std::ostringstream os;
  os << to_string(view.dtype) << "[";
  for (int i = 0; i < view.ndim; ++i) os << (i ? ", " : "") << view.size(i);
  os << "] on " << to_string(view.device);
  if (view.device == DeviceKind::kCuda) os << ":" << view.device_index;
  return os.str();
}

}  // namespace ltx2eff
