// NVML through dlopen/LoadLibrary. The few NVML types used are declared here (NVML's C ABI is
// stable across driver versions for these calls), so no NVML header or import library is needed.
#include "ltx2eff/thermal_nvml.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "ltx2eff/error.hpp"

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#elif !defined(__APPLE__)
#include <dlfcn.h>
#endif

namespace ltx2eff {
namespace {

// A string NVML wrote into a buffer of `size` bytes, which it may leave unterminated.
std::string bounded_string(const char* buffer, std::size_t size) {
  const auto* end = static_cast<const char*>(std::memchr(buffer, '\0', size));
  return std::string(buffer, end != nullptr ? static_cast<std::size_t>(end - buffer) : size);
}

// ---- the slice of NVML's C API we use ----
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kNvmlTemperatureGpu = 0;
constexpr int kNvmlThresholdShutdown = 0;
constexpr int kNvmlThresholdSlowdown = 1;
constexpr int kNvmlThresholdGpuMax = 3;
constexpr int kNvmlClockSm = 1;

struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};

struct nvmlPciInfo_t {  // the v3 layout (NVML 10 and later)
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
};

struct NvmlApi {
  nvmlReturn_t (*init)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*driver_version)(char*, unsigned int) = nullptr;
  nvmlReturn_t (*device_count)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*handle_by_bus_id)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*pci_info)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*threshold)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power_usage)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*enforced_limit)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*total_energy)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*clock_reasons)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*clock_info)(nvmlDevice_t, int, unsigned int*) = nullptr;
};

// A loaded and initialised NVML, or the reason there is none. Libraries stay loaded for the
// life of the process (NVML keeps its own reference count; unloading buys nothing).
struct NvmlLibrary {
  NvmlApi api;
  NvmlStatus status;

  [[nodiscard]] std::string error(nvmlReturn_t rc) const {
    if (api.error_string != nullptr) {
      // A static string of NVML's; bounded all the same.
      if (const char* s = api.error_string(rc); s != nullptr)
        return std::string(s, ::strnlen(s, 256));
    }
    return "NVML error " + std::to_string(rc);
  }
};

std::string default_library_name() {
#if defined(_WIN32)
  return "nvml.dll";
#else
  return "libnvidia-ml.so.1";
#endif
}

#if defined(__APPLE__)

std::shared_ptr<NvmlLibrary> load_library(const std::string& path) {
  auto lib = std::make_shared<NvmlLibrary>();
  lib->status.library = path;
  lib->status.reason = "NVML is not available on macOS (no NVIDIA driver)";
  return lib;
}

#else

#if defined(_WIN32)
using LibraryHandle = HMODULE;

LibraryHandle open_library(const std::string& path, bool is_default, std::string& tried,
                           std::string& error) {
  LibraryHandle h = LoadLibraryA(path.c_str());
  if (h == nullptr && is_default) {
    // Older drivers install NVML only under NVSMI, which is not on the DLL search path.
    char program_files[MAX_PATH] = {};
    const DWORD n = GetEnvironmentVariableA("ProgramW6432", program_files, MAX_PATH);
    if (n > 0 && n < MAX_PATH) {
      const std::string nvsmi = std::string(program_files) + "\\NVIDIA Corporation\\NVSMI\\" + path;
      h = LoadLibraryA(nvsmi.c_str());
      tried = path + " or " + nvsmi;
    }
  }
  if (h == nullptr) error = "Windows error " + std::to_string(GetLastError());
  return h;
}

void* find_symbol(LibraryHandle h, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(h, name));
}
#else
using LibraryHandle = void*;

LibraryHandle open_library(const std::string& path, bool /*is_default*/, std::string& /*tried*/,
                           std::string& error) {
  LibraryHandle h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = dlerror();
    error = e != nullptr ? e : "unknown dlopen error";
  }
  return h;
}

void* find_symbol(LibraryHandle h, const char* name) {
  return dlsym(h, name);
}
#endif

template <class Fn>
bool bind(LibraryHandle h, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(find_symbol(h, name));
  return fn != nullptr;
}

std::shared_ptr<NvmlLibrary> load_library(const std::string& path) {
  auto lib = std::make_shared<NvmlLibrary>();
  NvmlStatus& st = lib->status;
  st.library = path;
  std::string tried = path;
  std::string error;
  const LibraryHandle h = open_library(path, path == default_library_name(), tried, error);
  if (h == nullptr) {
    st.reason = "cannot load " + tried + " (" + error + "): no NVIDIA driver here";
    return lib;
  }
  NvmlApi& a = lib->api;
  // The calls without which NVML is useless; the rest are optional and checked at use.
  const std::pair<bool, const char*> required[] = {
      {bind(h, a.init, "nvmlInit_v2"), "nvmlInit_v2"},
      {bind(h, a.error_string, "nvmlErrorString"), "nvmlErrorString"},
      {bind(h, a.device_count, "nvmlDeviceGetCount_v2"), "nvmlDeviceGetCount_v2"},
      {bind(h, a.handle_by_index, "nvmlDeviceGetHandleByIndex_v2"),
       "nvmlDeviceGetHandleByIndex_v2"},
      {bind(h, a.temperature, "nvmlDeviceGetTemperature"), "nvmlDeviceGetTemperature"},
  };
  for (const auto& [found, name] : required) {
    if (!found) {
      st.reason = path + " has no " + name + ": not a usable NVML library";
      return lib;
    }
  }
  bind(h, a.driver_version, "nvmlSystemGetDriverVersion");
  bind(h, a.handle_by_bus_id, "nvmlDeviceGetHandleByPciBusId_v2");
  bind(h, a.name, "nvmlDeviceGetName");
  bind(h, a.pci_info, "nvmlDeviceGetPciInfo_v3");
  bind(h, a.threshold, "nvmlDeviceGetTemperatureThreshold");
  bind(h, a.power_usage, "nvmlDeviceGetPowerUsage");
  bind(h, a.enforced_limit, "nvmlDeviceGetEnforcedPowerLimit");
  bind(h, a.total_energy, "nvmlDeviceGetTotalEnergyConsumption");
  bind(h, a.utilization, "nvmlDeviceGetUtilizationRates");
  bind(h, a.clock_info, "nvmlDeviceGetClockInfo");
  // Renamed in driver 535; the old name is kept as an alias by newer drivers.
  if (!bind(h, a.clock_reasons, "nvmlDeviceGetCurrentClocksEventReasons")) {
    bind(h, a.clock_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  }

  if (const nvmlReturn_t rc = a.init(); rc != kNvmlSuccess) {
    st.reason = "nvmlInit failed: " + lib->error(rc);
    return lib;
  }
  if (a.driver_version != nullptr) {
    char version[96] = {};
    if (a.driver_version(version, sizeof(version)) == kNvmlSuccess) {
      st.driver_version = bounded_string(version, sizeof(version));
    }
  }
  unsigned int count = 0;
  if (const nvmlReturn_t rc = a.device_count(&count); rc != kNvmlSuccess) {
    st.reason = "nvmlDeviceGetCount failed: " + lib->error(rc);
    return lib;
  }
  st.device_count = static_cast<int>(count);
  if (count == 0) {
    st.reason = "NVML found no NVIDIA GPU";
    return lib;
  }
  st.available = true;
  return lib;
}

#endif

std::string resolve_library_path(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (const char* env = std::getenv("LTX2EFF_NVML_LIBRARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return default_library_name();
}

std::shared_ptr<NvmlLibrary> library(const std::string& requested) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<NvmlLibrary>> loaded;
  const std::string path = resolve_library_path(requested);
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = loaded[path];
  if (!slot) slot = load_library(path);
  return slot;
}

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

class NvmlSensor final : public Sensor {
 public:
  explicit NvmlSensor(const NvmlDeviceSelector& selector) : lib_(library(selector.library_path)) {
    if (!lib_->status.available) {
      reason_ = lib_->status.reason;
      return;
    }
    const NvmlApi& a = lib_->api;
    nvmlReturn_t rc = kNvmlSuccess;
    if (!selector.pci_bus_id.empty()) {
      if (a.handle_by_bus_id == nullptr) {
        reason_ = "this NVML cannot look devices up by PCI bus id";
        return;
      }
      rc = a.handle_by_bus_id(selector.pci_bus_id.c_str(), &device_);
      if (rc != kNvmlSuccess) {
        reason_ =
            "no NVML device with PCI bus id " + selector.pci_bus_id + " (" + lib_->error(rc) + ")";
        return;
      }
    } else {
      if (selector.index < 0 || selector.index >= lib_->status.device_count) {
        reason_ = "NVML device " + std::to_string(selector.index) + " does not exist (" +
                  std::to_string(lib_->status.device_count) + " devices)";
        return;
      }
      rc = a.handle_by_index(static_cast<unsigned int>(selector.index), &device_);
      if (rc != kNvmlSuccess) {
        reason_ = "cannot open NVML device " + std::to_string(selector.index) + " (" +
                  lib_->error(rc) + ")";
        return;
      }
    }
    limits_ = query_limits();
  }

  [[nodiscard]] bool available() const override { return reason_.empty(); }
  [[nodiscard]] std::string unavailable_reason() const override { return reason_; }

  [[nodiscard]] std::string description() const override {
    if (!available()) return "no GPU sensor (" + reason_ + ")";
    std::string d = limits_.name.empty() ? std::string("NVIDIA GPU") : limits_.name;
    if (!limits_.pci_bus_id.empty()) d += " (" + limits_.pci_bus_id + ")";
    return d;
  }

  [[nodiscard]] ThermalLimits limits() override {
    require_available();
    // The enforced limit can change while we run (an administrator, the driver): re-read it.
    limits_.enforced_power_limit_w = read_power_limit();
    return limits_;
  }

  [[nodiscard]] ThermalReading read() override {
    require_available();
    const NvmlApi& a = lib_->api;
    ThermalReading r;
    r.time_s = steady_seconds();
    unsigned int u = 0;
    if (a.temperature(device_, kNvmlTemperatureGpu, &u) == kNvmlSuccess) r.temperature_c = u;
    r.power_w = read_milli(a.power_usage);
    r.power_limit_w = read_power_limit();
    if (a.total_energy != nullptr) {
      unsigned long long mj = 0;
      if (a.total_energy(device_, &mj) == kNvmlSuccess) {
        r.energy_j = static_cast<double>(mj) * 1e-3;
      }
    }
    if (a.utilization != nullptr) {
      nvmlUtilization_t util{};
      if (a.utilization(device_, &util) == kNvmlSuccess) r.utilization = util.gpu / 100.0;
    }
    if (a.clock_info != nullptr && a.clock_info(device_, kNvmlClockSm, &u) == kNvmlSuccess) {
      r.sm_clock_mhz = u;
    }
    if (a.clock_reasons != nullptr) {
      unsigned long long bits = 0;
      if (a.clock_reasons(device_, &bits) == kNvmlSuccess) r.clock_event_reasons = bits;
    }
    return r;
  }

 private:
  void require_available() const {
    if (!available()) throw Unavailable("GPU sensor unavailable: " + reason_);
  }

  std::optional<double> read_milli(nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int*)) const {
    unsigned int milli = 0;
    if (fn == nullptr || fn(device_, &milli) != kNvmlSuccess) return std::nullopt;
    return milli * 1e-3;
  }

  // 0 W means the driver enforces no limit: nothing to hold a power target against.
  std::optional<double> read_power_limit() const {
    const std::optional<double> w = read_milli(lib_->api.enforced_limit);
    if (w && *w > 0.0) return w;
    return std::nullopt;
  }

  std::optional<double> read_threshold(int type) const {
    unsigned int c = 0;
    const NvmlApi& a = lib_->api;
    if (a.threshold == nullptr || a.threshold(device_, type, &c) != kNvmlSuccess || c == 0) {
      return std::nullopt;
    }
    return c;
  }

  ThermalLimits query_limits() const {
    const NvmlApi& a = lib_->api;
    ThermalLimits l;
    if (a.name != nullptr) {
      char name[96] = {};
      if (a.name(device_, name, sizeof(name)) == kNvmlSuccess) {
        l.name = bounded_string(name, sizeof(name));
      }
    }
    if (a.pci_info != nullptr) {
      nvmlPciInfo_t pci{};
      if (a.pci_info(device_, &pci) == kNvmlSuccess) {
        l.pci_bus_id = bounded_string(pci.busId, sizeof(pci.busId));
      }
    }
    l.slowdown_c = read_threshold(kNvmlThresholdSlowdown);
    l.shutdown_c = read_threshold(kNvmlThresholdShutdown);
    l.max_operating_c = read_threshold(kNvmlThresholdGpuMax);
    l.enforced_power_limit_w = read_power_limit();
    return l;
  }

  std::shared_ptr<NvmlLibrary> lib_;
  nvmlDevice_t device_ = nullptr;
  std::string reason_;
  ThermalLimits limits_;
};

}  // namespace

NvmlStatus nvml_status(const std::string& library_path) {
  return library(library_path)->status;
}

std::shared_ptr<Sensor> open_nvml_sensor(const NvmlDeviceSelector& selector) {
  return std::make_shared<NvmlSensor>(selector);
}

}  // namespace ltx2eff
