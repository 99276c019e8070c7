// `ltx2eff thermal`: watch a GPU's temperature and power, or run a command under the governor.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>
#include <thread>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/json_writer.hpp"
#include "ltx2eff/thermal_nvml.hpp"
#include "thermal_cli.hpp"

namespace ltx2eff::cli {
namespace {

constexpr const char* kHelp = R"(usage: ltx2eff thermal <watch|hold> [options]

  watch     print the GPU's temperature, power, utilisation and throttle reasons once a second
  hold      run a command under the thermal/power governor (pauses it in short slices)

Readings come from NVML (the NVIDIA driver's management library), loaded at run time; without
it both commands say so in one line. Nothing here changes clocks, power limits or modes.
Run 'ltx2eff thermal <command> --help' for its options.
)";

std::string watch_help() {
  return std::string(
             R"(usage: ltx2eff thermal watch [--count N] [--interval S] [--device I] [--json]

Prints one line per interval: time, temperature (and the slowdown threshold), power draw and the
enforced power limit, utilisation, SM clock, and the clock event (throttle) reasons. Without
NVML (no NVIDIA driver) it prints one line saying so and exits 0.

  --count N             stop after N lines (default: run until interrupted)
  --interval S          seconds between lines, in [0.05, 3600] (default 1)
  --json                one JSON object per line instead of text
)") + kThermalDeviceHelp +
         "  --help                this text\n";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string clock_time() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
#if defined(_WIN32)
  localtime_s(&tm, &t);
#else
  localtime_r(&t, &tm);
#endif
  char buf[16];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}

std::string json_line(const ThermalReading& r) {
  JsonWriter j;
  j.begin_object();
  auto opt = [&](const char* name, const std::optional<double>& v) {
    j.key(name);
    if (v) {
      j.value(*v);
    } else {
      j.null();
    }
  };
  opt("temperature_c", r.temperature_c);
  opt("power_w", r.power_w);
  opt("power_limit_w", r.power_limit_w);
  opt("energy_j", r.energy_j);
  opt("utilization", r.utilization);
  opt("sm_clock_mhz", r.sm_clock_mhz);
  j.key("clock_event_reasons").begin_array();
  for (const std::string& n : clock_event_reason_names(r.clock_event_reasons.value_or(0))) {
    j.value(n);
  }
  j.end_array();
  j.end_object();
  return j.str();
}

int run_watch(const std::vector<std::string>& argv) {
  const Args args(argv, {"count", "interval", "device", "bus-id"}, {"json", "simulate", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << watch_help();
    return 0;
  }
  const long long count = args.integer("count").value_or(-1);
  if (args.has("count") && count < 1)
    fail("--count", "must be at least 1, got " + std::to_string(count));
  const double interval = args.number("interval").value_or(1.0);
  require_in_range("--interval", interval, 0.05, 3600.0);
  const bool json = args.flag("json").value_or(false);
  ThermalSensorChoice choice = choose_thermal_sensor(args);
  Sensor& sensor = *choice.sensor;
  if (!sensor.available()) {
    std::cout << "ltx2eff thermal watch: NVML unavailable (" << sensor.unavailable_reason()
              << "); nothing to watch\n";
    return 0;
  }
  if (!json) std::cout << describe_thermal_device(sensor) << "\n" << std::flush;
  const auto period = std::chrono::duration<double>(interval);
  auto next = std::chrono::steady_clock::now();
  for (long long i = 0; count < 0 || i < count; ++i) {
    if (i > 0) {
      next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
      std::this_thread::sleep_until(next);
      if (choice.simulated) choice.simulated->advance(interval, 0.0);
    }
    const ThermalReading r = sensor.read();
    if (json) {
      std::cout << json_line(r) << "\n" << std::flush;
    } else {
      std::cout << clock_time() << "  " << format_thermal_line(r) << "\n" << std::flush;
    }
  }
  return 0;
}

}  // namespace

double monotonic_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

ThermalSensorChoice choose_thermal_sensor(const Args& args) {
  ThermalSensorChoice choice;
  if (args.flag("simulate").value_or(false)) {
    choice.simulated = std::make_shared<SimulatedGpu>();
    choice.sensor = choice.simulated;
    return choice;
  }
  NvmlDeviceSelector selector;
  const long long device = args.integer("device", 0, 1023).value_or(0);
  selector.index = static_cast<int>(device);
  if (auto bus = args.str("bus-id")) {
    selector.pci_bus_id = *bus;
  } else if (cuda_device_count() > device) {
    // CUDA and NVML number devices differently (CUDA_VISIBLE_DEVICES, PCI order): the bus id
    // of the CUDA device names the same GPU in NVML.
    try {
      selector.pci_bus_id = cuda_device_info(static_cast<int>(device)).pci_bus_id;
    } catch (const Unavailable&) {
      selector.pci_bus_id.clear();
    }
  }
  choice.sensor = open_nvml_sensor(selector);
  return choice;
}

std::string describe_thermal_device(Sensor& sensor) {
  const ThermalLimits l = sensor.limits();
  std::string s = sensor.description() + ":";
  s += l.slowdown_c ? " slowdown " + fixed(*l.slowdown_c, 0) + " C," : " slowdown n/a,";
  s += l.shutdown_c ? " shutdown " + fixed(*l.shutdown_c, 0) + " C," : " shutdown n/a,";
  s += l.enforced_power_limit_w ? " power limit " + fixed(*l.enforced_power_limit_w, 0) + " W"
                                : " power limit n/a";
  return s;
}

std::string format_thermal_line(const ThermalReading& r) {
  std::string s;
  s += r.temperature_c ? fixed(*r.temperature_c, 0) + " C" : std::string("n/a C");
  s += "  ";
  s += r.power_w ? fixed(*r.power_w, 1) : std::string("n/a");
  s += " / ";
  s += r.power_limit_w ? fixed(*r.power_limit_w, 1) + " W" : std::string("n/a W");
  if (r.power_w && r.power_limit_w && *r.power_limit_w > 0.0) {
    s += " (" + fixed(100.0 * *r.power_w / *r.power_limit_w, 0) + "%)";
  }
  s += "  util " + (r.utilization ? fixed(100.0 * *r.utilization, 0) + "%" : std::string("n/a"));
  if (r.sm_clock_mhz) s += "  SM " + fixed(*r.sm_clock_mhz, 0) + " MHz";
  s +=
      "  throttle: " + (r.clock_event_reasons ? describe_clock_event_reasons(*r.clock_event_reasons)
                                              : std::string("n/a"));
  return s;
}

int run_thermal(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    std::cout << kHelp;
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "watch") return run_watch(rest);
  if (argv[0] == "hold") return run_thermal_hold(rest);
  throw UsageError("unknown thermal command '" + argv[0] + "' (watch or hold)");
}

}  // namespace ltx2eff::cli
