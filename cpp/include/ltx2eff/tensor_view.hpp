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

  [[nodiscard]] std::int64_t numel() const;
  [[nodiscard]] std::int64_t size(int dim) const { return shape.at(static_cast<std::size_t>(dim)); }
  [[nodiscard]] std::int64_t stride(int dim) const {
    return strides.at(static_cast<std::size_t>(dim));
  }
  [[nodiscard]] bool is_contiguous() const;
};

std::size_t dtype_size(DType dtype);
std::string to_string(DType dtype);
std::string to_string(DeviceKind device);
std::string describe(const TensorView& view);  // "bfloat16[2, 32, 5824, 128] on cuda:0"

}  // namespace ltx2eff
