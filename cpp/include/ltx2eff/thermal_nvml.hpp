// NVML (the NVIDIA Management Library) loaded at run time: no link-time dependency, so the
// package builds and runs where there is no NVIDIA driver (CI, macOS, AMD). Only read-only
// queries are made: nothing here sets clocks, power limits or modes.
//
// The library is found as "libnvidia-ml.so.1" on Linux and "nvml.dll" on Windows (then under
// %ProgramW6432%\NVIDIA Corporation\NVSMI); macOS has none. LTX2EFF_NVML_LIBRARY overrides the
// path, which tests use to check the "unavailable" path on machines that do have a driver.
#pragma once

#include <memory>
#include <string>

#include "ltx2eff/thermal_sensor.hpp"

namespace ltx2eff {

struct NvmlDeviceSelector {
  // The PCI bus id of the CUDA device ("0000:65:00.0", as cudaDeviceGetPCIBusId or torch give
  // it); when set it wins over `index`, which is NVML's own enumeration order and differs from
  // CUDA's when CUDA_VISIBLE_DEVICES reorders devices.
  std::string pci_bus_id;
  int index = 0;
  // Library to load instead of the platform default (empty: LTX2EFF_NVML_LIBRARY or default).
  std::string library_path;
};

// Whether NVML can be loaded and initialised here, and why not.
struct NvmlStatus {
  bool available = false;
  std::string reason;   // empty when available
  std::string library;  // the path that was loaded (or tried)
  std::string driver_version;
  int device_count = 0;
};

NvmlStatus nvml_status(const std::string& library_path = {});

// A Sensor over one NVML device. Never throws on construction: when NVML or the device is
// missing, available() is false and unavailable_reason() says why.
std::shared_ptr<Sensor> open_nvml_sensor(const NvmlDeviceSelector& selector = {});

}  // namespace ltx2eff
