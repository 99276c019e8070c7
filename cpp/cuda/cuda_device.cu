#include <cuda_runtime.h>

#include <string>

#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/error.hpp"

namespace ltx2eff {

bool cuda_kernels_built() {
  return true;
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return count;
}

CudaDeviceInfo cuda_device_info(int index) {
  const int count = cuda_device_count();
  if (index < 0 || index >= count) {
    throw Unavailable("CUDA device " + std::to_string(index) + " is not available (" +
                      std::to_string(count) + " devices)");
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
    (void)cudaGetLastError();
    throw Unavailable("cannot query CUDA device " + std::to_string(index));
  }
  CudaDeviceInfo info;
  info.index = index;
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.total_memory = prop.totalGlobalMem;
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof(bus), index) == cudaSuccess) info.pci_bus_id = bus;
  return info;
}

std::string cuda_status() {
  const int count = cuda_device_count();
  if (count == 0) return "CUDA kernels built; no CUDA device available";
  std::string s = "CUDA kernels built; " + std::to_string(count) + " device(s): ";
  const CudaDeviceInfo info = cuda_device_info(0);
  s += info.name + " (sm" + std::to_string(info.compute_major) +
       std::to_string(info.compute_minor) + ")";
  return s;
}

}  // namespace ltx2eff
