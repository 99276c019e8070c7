// A non-owning view of a strided tensor, the only way data enters the core. Hosts (torch, numpy)
// describe their memory with it; the core never links a framework.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace ltx2eff {

enum class DType { kFloat32, kFloat16, kBFloat16, kFloat64, kInt8, kUInt8, kInt32, kInt64 };
enum class DeviceKind { kCpu, kCuda };

inline constexpr int kMaxDims = 6;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  DeviceKind device = DeviceKind::kCpu;
  int device_index = 0;
  int ndim = 0;
  std::array<std::int64_t, kMaxDims> shape{};
  std::array<std::int64_t, kMaxDims> strides{};  // in elements
  void* stream = nullptr;                        // cudaStream_t for CUDA views

  // Saturates at INT64_MAX instead of overflowing (shapes are checked after it is first used);
  // 0 when any size is 0 or negative.
  [[nodiscard]] std::int64_t numel() const;
  [[nodiscard]] std::int64_t size(int dim) const { return shape.at(static_cast<std::size_t>(dim)); }
  [[nodiscard]] std::int64_t stride(int dim) const {
    return strides.at(static_cast<std::size_t>(dim));
  }
  [[nodiscard]] bool is_contiguous() const;
};

// Whether two views may touch a common byte (same device; conservative: by byte intervals).
bool views_overlap(const TensorView& a, const TensorView& b);
// Whether two different indices of the view may address one element (a stride of 0, rows that
// share memory). Conservative: a layout it cannot prove disjoint counts as overlapping.
bool overlaps_itself(const TensorView& view);

std::size_t dtype_size(DType dtype);
std::string to_string(DType dtype);
std::string to_string(DeviceKind device);
std::string describe(const TensorView& view);  // "bfloat16[2, 32, 5824, 128] on cuda:0"

}  // namespace ltx2eff
