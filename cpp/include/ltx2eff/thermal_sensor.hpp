// What the thermal governor reads from a GPU, behind an interface so that the real reader (NVML)
// and the simulated GPU of the tests are interchangeable. Every field is optional: consumer and
// laptop GPUs often do not report power, thresholds or energy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ltx2eff {

// Clock event ("throttle") reason bits, as NVML defines them.
namespace clock_event {
inline constexpr std::uint64_t kGpuIdle = 0x1;
inline constexpr std::uint64_t kApplicationsClocksSetting = 0x2;
inline constexpr std::uint64_t kSwPowerCap = 0x4;
inline constexpr std::uint64_t kHwSlowdown = 0x8;
inline constexpr std::uint64_t kSyncBoost = 0x10;
inline constexpr std::uint64_t kSwThermalSlowdown = 0x20;
inline constexpr std::uint64_t kHwThermalSlowdown = 0x40;
inline constexpr std::uint64_t kHwPowerBrakeSlowdown = 0x80;
inline constexpr std::uint64_t kDisplayClockSetting = 0x100;
}  // namespace clock_event

// Short names of the set bits ("sw_power_cap", "hw_thermal", ...); unknown bits as "0x...".
std::vector<std::string> clock_event_reason_names(std::uint64_t reasons);
// The names joined with ", "; "none" when no bit is set.
std::string describe_clock_event_reasons(std::uint64_t reasons);

// Fixed properties of the device being watched.
struct ThermalLimits {
  std::string name;                       // "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;                 // "00000000:65:00.0" where known
  std::optional<double> slowdown_c;       // the GPU starts slowing its clocks here
  std::optional<double> shutdown_c;       // the GPU shuts down here
  std::optional<double> max_operating_c;  // "GPU max operating temperature", where reported
  std::optional<double> enforced_power_limit_w;
};

// One reading. `time_s` is the sensor's own clock (seconds, monotonic); the governor is driven
// by the caller's clock instead, so that simulated time and wall time are never mixed up.
struct ThermalReading {
  double time_s = 0.0;
  std::optional<double> temperature_c;
  std::optional<double> power_w;        // as reported (NVML: averaged over ~1 s)
  std::optional<double> power_limit_w;  // enforced limit now (may change at run time)
  std::optional<double> energy_j;       // monotonic counter since an arbitrary origin
  std::optional<double> utilization;    // share of time a kernel ran, in [0, 1]
  std::optional<double> sm_clock_mhz;
  std::optional<std::uint64_t> clock_event_reasons;
};

class Sensor {
 public:
  virtual ~Sensor() = default;
  // False when there is nothing to read (no NVML, no GPU); then read() throws Unavailable.
  [[nodiscard]] virtual bool available() const = 0;
  // Why the sensor is unavailable; empty when it is available.
  [[nodiscard]] virtual std::string unavailable_reason() const = 0;
  // One line naming the device: "NVIDIA H100 80GB HBM3 (00000000:65:00.0)".
  [[nodiscard]] virtual std::string description() const = 0;
  [[nodiscard]] virtual ThermalLimits limits() = 0;
  [[nodiscard]] virtual ThermalReading read() = 0;
};

}  // namespace ltx2eff
