#include "ltx2eff/tensor_view.hpp"

#include <sstream>

namespace ltx2eff {

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= size(i);
  return n;
}

bool TensorView::is_contiguous() const {
  std::int64_t expected = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    if (size(i) != 1 && stride(i) != expected) return false;
    expected *= size(i);
  }
  return true;
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
