// Names of NVML's clock event (throttle) reason bits.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "ltx2eff/thermal_sensor.hpp"

namespace ltx2eff {

namespace {

struct ReasonName {
  std::uint64_t bit;
  const char* name;
};

constexpr ReasonName kReasonNames[] = {
    {clock_event::kGpuIdle, "idle"},
    {clock_event::kApplicationsClocksSetting, "app_clocks"},
    {clock_event::kSwPowerCap, "sw_power_cap"},
    {clock_event::kHwSlowdown, "hw_slowdown"},
    {clock_event::kSyncBoost, "sync_boost"},
    {clock_event::kSwThermalSlowdown, "sw_thermal"},
    {clock_event::kHwThermalSlowdown, "hw_thermal"},
    {clock_event::kHwPowerBrakeSlowdown, "power_brake"},
    {clock_event::kDisplayClockSetting, "display_clocks"},
};

}  // namespace

std::vector<std::string> clock_event_reason_names(std::uint64_t reasons) {
  std::vector<std::string> names;
  std::uint64_t known = 0;
  for (const ReasonName& r : kReasonNames) {
    known |= r.bit;
    if ((reasons & r.bit) != 0) names.emplace_back(r.name);
  }
  if (const std::uint64_t unknown = reasons & ~known; unknown != 0) {
    std::ostringstream os;
    os << "0x" << std::hex << unknown;
    names.push_back(os.str());
  }
  return names;
}

std::string describe_clock_event_reasons(std::uint64_t reasons) {
  const std::vector<std::string> names = clock_event_reason_names(reasons);
  if (names.empty()) return "none";
  std::string out;
  for (auto it = names.begin(); it != names.end(); ++it) {
    if (it != names.begin()) out += ", ";
    out += *it;
  }
  return out;
}

}  // namespace ltx2eff
