// What the CUDA side of this build can do on this machine. Safe to call on machines without a
// GPU or driver, and in builds without CUDA (everything reports "not available").
#pragma once

#include <string>

namespace ltx2eff {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  std::size_t total_memory = 0;
  std::string pci_bus_id;  // "0000:65:00.0"
};

// True when this build contains CUDA kernels.
bool cuda_kernels_built();
// Number of usable CUDA devices; 0 without a driver, a GPU, or CUDA kernels in the build.
int cuda_device_count();
// Throws Unavailable when the device does not exist or CUDA is not available.
CudaDeviceInfo cuda_device_info(int index);
// One line for logs: "CUDA kernels: built (sm80, sm90), 1 device: NVIDIA H100" or why not.
std::string cuda_status();

}  // namespace ltx2eff
