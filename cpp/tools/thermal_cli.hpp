// Shared pieces of the `ltx2eff thermal` subcommands: choosing the sensor, formatting a reading.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "ltx2eff/thermal_governor.hpp"
#include "ltx2eff/thermal_sensor.hpp"
#include "ltx2eff/thermal_sim.hpp"

namespace ltx2eff::cli {

// The device options every thermal subcommand takes.
inline constexpr const char* kThermalDeviceHelp =
    R"(  --device I            CUDA device index (its PCI bus id picks the NVML device; without
                        CUDA in this build, NVML's own index) (default 0)
  --bus-id ID           PCI bus id of the GPU, e.g. 0000:65:00.0 (wins over --device)
  --simulate            read a simulated GPU instead of NVML (for trying the command and for
                        tests on machines without a GPU)
)";

struct ThermalSensorChoice {
  std::shared_ptr<Sensor> sensor;
  std::shared_ptr<SimulatedGpu> simulated;  // set with --simulate
};

// From --device / --bus-id / --simulate. Never throws for a missing GPU: the sensor then says
// why it is unavailable.
ThermalSensorChoice choose_thermal_sensor(const Args& args);

// "NVIDIA H100 80GB HBM3 (00000000:65:00.0): slowdown 90 C, shutdown 92 C, power limit 700 W".
std::string describe_thermal_device(Sensor& sensor);

// One live line: "14:02:33  61 C  312.4 / 700.0 W (45%)  util 98%  SM 1980 MHz  throttle: none".
std::string format_thermal_line(const ThermalReading& reading);

// Seconds on a monotonic clock.
double monotonic_seconds();

// `ltx2eff thermal hold` (POSIX: pauses the command with SIGSTOP/SIGCONT).
int run_thermal_hold(const std::vector<std::string>& args);

}  // namespace ltx2eff::cli
