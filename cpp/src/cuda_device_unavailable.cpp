// CUDA device queries for builds without a CUDA toolkit: nothing is available, and says why.
#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/error.hpp"

#if !defined(LTX2EFF_HAVE_CUDA)

namespace ltx2eff {

bool cuda_kernels_built() {
  return false;
}
int cuda_device_count() {
  return 0;
}
CudaDeviceInfo cuda_device_info(int /*index*/) {
  throw Unavailable("this build has no CUDA kernels (no CUDA toolkit was found at build time)");
}
std::string cuda_status() {
  return "CUDA kernels not built (no CUDA toolkit at build time); CPU kernels and torch fallbacks";
}

}  // namespace ltx2eff

#endif
