// The thermal governor: sensors (NVML, simulated GPU), the governor and its report.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bindings.hpp"
#include "ltx2eff/thermal_governor.hpp"
#include "ltx2eff/thermal_nvml.hpp"
#include "ltx2eff/thermal_pi.hpp"
#include "ltx2eff/thermal_report.hpp"
#include "ltx2eff/thermal_sensor.hpp"
#include "ltx2eff/thermal_sim.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

namespace {

// What every sensor reports: fixed limits and readings.
void bind_readings(nb::module_& m) {
  nb::class_<ThermalLimits>(m, "ThermalLimits", "Fixed properties of a watched GPU.")
      .def_ro("name", &ThermalLimits::name)
      .def_ro("pci_bus_id", &ThermalLimits::pci_bus_id)
      .def_ro("slowdown_c", &ThermalLimits::slowdown_c)
      .def_ro("shutdown_c", &ThermalLimits::shutdown_c)
      .def_ro("max_operating_c", &ThermalLimits::max_operating_c)
      .def_ro("enforced_power_limit_w", &ThermalLimits::enforced_power_limit_w);

  nb::class_<ThermalReading>(m, "ThermalReading", "One sensor reading; None where not reported.")
      .def_ro("time_s", &ThermalReading::time_s)
      .def_ro("temperature_c", &ThermalReading::temperature_c)
      .def_ro("power_w", &ThermalReading::power_w)
      .def_ro("power_limit_w", &ThermalReading::power_limit_w)
      .def_ro("energy_j", &ThermalReading::energy_j)
      .def_ro("utilization", &ThermalReading::utilization)
      .def_ro("sm_clock_mhz", &ThermalReading::sm_clock_mhz)
      .def_ro("clock_event_reasons", &ThermalReading::clock_event_reasons)
      .def_prop_ro("clock_event_names", [](const ThermalReading& r) {
        return clock_event_reason_names(r.clock_event_reasons.value_or(0));
      });

  nb::class_<Sensor>(m, "Sensor", "A GPU's thermal and power readings (NVML or simulated).")
      .def_prop_ro("available", &Sensor::available)
      .def_prop_ro("unavailable_reason", &Sensor::unavailable_reason)
      .def_prop_ro("description", &Sensor::description)
      .def("limits", &Sensor::limits)
      .def("read", &Sensor::read);
}

void bind_simulated_gpu(nb::module_& m) {
  nb::class_<SimulatedGpuSpec>(m, "SimulatedGpuSpec", "Parameters of the simulated GPU.")
      .def(nb::init<>())
      .def_rw("name", &SimulatedGpuSpec::name)
      .def_rw("ambient_c", &SimulatedGpuSpec::ambient_c)
      .def_rw("thermal_resistance_c_per_w", &SimulatedGpuSpec::thermal_resistance_c_per_w)
      .def_rw("time_constant_s", &SimulatedGpuSpec::time_constant_s)
      .def_rw("idle_power_w", &SimulatedGpuSpec::idle_power_w)
      .def_rw("full_load_power_w", &SimulatedGpuSpec::full_load_power_w)
      .def_rw("power_limit_w", &SimulatedGpuSpec::power_limit_w)
      .def_rw("slowdown_c", &SimulatedGpuSpec::slowdown_c)
      .def_rw("shutdown_c", &SimulatedGpuSpec::shutdown_c)
      .def_rw("slowdown_power_factor", &SimulatedGpuSpec::slowdown_power_factor)
      .def_rw("power_average_window_s", &SimulatedGpuSpec::power_average_window_s)
      .def_rw("integer_temperature", &SimulatedGpuSpec::integer_temperature)
      .def_rw("initial_temperature_c", &SimulatedGpuSpec::initial_temperature_c)
      .def_rw("step_s", &SimulatedGpuSpec::step_s);

  nb::class_<SimulatedGpu, Sensor>(m, "SimulatedGpu",
                                   "A first-order thermal model of a GPU, for tests and demos.")
      // An optional instead of a bound default instance, which would outlive the module.
      .def(
          "__init__",
          [](SimulatedGpu* self, std::optional<SimulatedGpuSpec> spec) {
            new (self) SimulatedGpu(spec.value_or(SimulatedGpuSpec{}));
          },
          "spec"_a = nb::none())
      .def("advance", &SimulatedGpu::advance, "seconds"_a, "busy_fraction"_a)
      .def("work", &SimulatedGpu::work, "units"_a,
           "Runs `units` seconds of full-speed work; returns the seconds it took.")
      .def("set_load", &SimulatedGpu::set_load, "load"_a)
      .def_prop_ro("load", &SimulatedGpu::load)
      .def_prop_ro("now", &SimulatedGpu::now)
      .def_prop_ro("temperature", &SimulatedGpu::temperature)
      .def_prop_ro("instantaneous_power", &SimulatedGpu::instantaneous_power)
      .def_prop_ro("energy", &SimulatedGpu::energy)
      .def_prop_ro("work_done", &SimulatedGpu::work_done)
      .def("steady_power", &SimulatedGpu::steady_power, "duty"_a)
      .def("steady_temperature", &SimulatedGpu::steady_temperature, "duty"_a);
}

void bind_nvml(nb::module_& m) {
  nb::class_<NvmlStatus>(m, "NvmlStatus")
      .def_ro("available", &NvmlStatus::available)
      .def_ro("reason", &NvmlStatus::reason)
      .def_ro("library", &NvmlStatus::library)
      .def_ro("driver_version", &NvmlStatus::driver_version)
      .def_ro("device_count", &NvmlStatus::device_count);
  m.def("nvml_status", &nvml_status, "library_path"_a = std::string(),
        "Whether NVML loads and sees a GPU here, and why not.");
  m.def(
      "open_nvml_sensor",
      [](const std::string& pci_bus_id, int index, const std::string& library_path) {
        NvmlDeviceSelector s;
        s.pci_bus_id = pci_bus_id;
        s.index = index;
        s.library_path = library_path;
        return open_nvml_sensor(s);
      },
      "pci_bus_id"_a = std::string(), "index"_a = 0, "library_path"_a = std::string(),
      "An NVML sensor for the GPU with this PCI bus id (or NVML index). Never raises: check "
      "`available` and `unavailable_reason`.");
  m.def("clock_event_reason_names", &clock_event_reason_names, "reasons"_a);
  m.def("describe_clock_event_reasons", &describe_clock_event_reasons, "reasons"_a);
}

void bind_governor_config(nb::module_& m) {
  nb::class_<PiGains>(m, "PiGains")
      .def(nb::init<>())
      .def(
          "__init__",
          [](PiGains* self, double kp, double ki, double deadband, double release) {
            new (self) PiGains{kp, ki, deadband, release};
          },
          "kp"_a, "ki"_a, "deadband"_a = 0.0, "release"_a = 0.0)
      .def_rw("kp", &PiGains::kp)
      .def_rw("ki", &PiGains::ki)
      .def_rw("deadband", &PiGains::deadband)
      .def_rw("release", &PiGains::release);

  nb::class_<GovernorConfig>(m, "GovernorConfig", "What the governor holds and how.")
      .def(nb::init<>())
      .def_rw("target_temperature_c", &GovernorConfig::target_temperature_c)
      .def_rw("target_power_fraction", &GovernorConfig::target_power_fraction)
      .def_rw("emergency_margin_c", &GovernorConfig::emergency_margin_c)
      .def_rw("emergency_release_c", &GovernorConfig::emergency_release_c)
      .def_rw("min_duty", &GovernorConfig::min_duty)
      .def_rw("sample_interval_s", &GovernorConfig::sample_interval_s)
      .def_rw("control_interval_s", &GovernorConfig::control_interval_s)
      .def_rw("power_window_s", &GovernorConfig::power_window_s)
      .def_rw("max_wait_s", &GovernorConfig::max_wait_s)
      .def_rw("min_wait_s", &GovernorConfig::min_wait_s)
      .def_rw("emergency_pause_s", &GovernorConfig::emergency_pause_s)
      .def_rw("max_emergency_pause_s", &GovernorConfig::max_emergency_pause_s)
      .def_rw("temperature_gains", &GovernorConfig::temperature_gains)
      .def_rw("power_gains", &GovernorConfig::power_gains)
      .def("validate", &GovernorConfig::validate)
      .def("describe", &GovernorConfig::describe)
      .def_prop_ro("has_target", &GovernorConfig::has_target);
}

// What the governor decides per step and reports while it runs.
void bind_governor_state(nb::module_& m) {
  nb::class_<PaceDecision>(m, "PaceDecision")
      .def_ro("wait_s", &PaceDecision::wait_s)
      .def_ro("duty", &PaceDecision::duty)
      .def_ro("work_s", &PaceDecision::work_s)
      .def_ro("emergency", &PaceDecision::emergency);

  nb::class_<GovernorState>(m, "GovernorState")
      .def_ro("time_s", &GovernorState::time_s)
      .def_ro("duty", &GovernorState::duty)
      .def_ro("pacing", &GovernorState::pacing)
      .def_ro("emergency", &GovernorState::emergency)
      .def_ro("limiting", &GovernorState::limiting)
      .def_ro("temperature_c", &GovernorState::temperature_c)
      .def_ro("measured_power_w", &GovernorState::measured_power_w)
      .def_ro("power_w", &GovernorState::power_w)
      .def_ro("power_limit_w", &GovernorState::power_limit_w)
      .def_ro("power_target_w", &GovernorState::power_target_w)
      .def_ro("temperature_target_c", &GovernorState::temperature_target_c)
      .def_ro("emergency_threshold_c", &GovernorState::emergency_threshold_c)
      .def_ro("utilization", &GovernorState::utilization)
      .def_ro("sm_clock_mhz", &GovernorState::sm_clock_mhz)
      .def_ro("clock_event_reasons", &GovernorState::clock_event_reasons)
      .def_prop_ro("clock_event_names", [](const GovernorState& s) {
        return clock_event_reason_names(s.clock_event_reasons.value_or(0));
      });
}

void bind_thermal_report(nb::module_& m) {
  nb::class_<ThermalReport>(m, "ThermalReport", "What a governed run cost.")
      .def_ro("available", &ThermalReport::available)
      .def_ro("unavailable_reason", &ThermalReport::unavailable_reason)
      .def_ro("device", &ThermalReport::device)
      .def_ro("target", &ThermalReport::target)
      .def_ro("duration_s", &ThermalReport::duration_s)
      .def_ro("energy_j", &ThermalReport::energy_j)
      .def_ro("energy_from_counter", &ThermalReport::energy_from_counter)
      .def_ro("average_power_w", &ThermalReport::average_power_w)
      .def_ro("peak_power_w", &ThermalReport::peak_power_w)
      .def_ro("average_temperature_c", &ThermalReport::average_temperature_c)
      .def_ro("peak_temperature_c", &ThermalReport::peak_temperature_c)
      .def_ro("paced_s", &ThermalReport::paced_s)
      .def_ro("emergency_s", &ThermalReport::emergency_s)
      .def_ro("emergency_pauses", &ThermalReport::emergency_pauses)
      .def_ro("work_units", &ThermalReport::work_units)
      .def_ro("samples", &ThermalReport::samples)
      .def_ro("clock_event_reasons", &ThermalReport::clock_event_reasons)
      .def_ro("clock_event_names", &ThermalReport::clock_event_names)
      .def_ro("notes", &ThermalReport::notes)
      .def_prop_ro("paced_share", &ThermalReport::paced_share)
      .def("summary_line", &ThermalReport::summary_line)
      .def("to_json", &ThermalReport::to_json);
}

void bind_governor(nb::module_& m) {
  nb::class_<ThermalGovernor>(m, "ThermalGovernor",
                              "Paces work to hold a temperature or power target. Times are the "
                              "caller's clock in seconds (time.monotonic(), or simulated time).")
      .def(nb::init<std::shared_ptr<Sensor>, const GovernorConfig&>(), "sensor"_a, "config"_a)
      .def_prop_ro("available", &ThermalGovernor::available)
      .def_prop_ro("unavailable_reason", &ThermalGovernor::unavailable_reason)
      .def_prop_ro("governing", &ThermalGovernor::governing)
      .def_prop_ro("device", &ThermalGovernor::device)
      .def_prop_ro("limits", &ThermalGovernor::limits)
      .def_prop_ro("notes", &ThermalGovernor::notes)
      .def_prop_ro("config", &ThermalGovernor::config)
      .def_prop_ro("state", &ThermalGovernor::state)
      .def("target_description", &ThermalGovernor::target_description)
      .def("start", &ThermalGovernor::start, "now"_a)
      .def("update", &ThermalGovernor::update, "now"_a, nb::rv_policy::copy)
      .def("pace", &ThermalGovernor::pace, "now"_a)
      .def("recheck", &ThermalGovernor::recheck, "now"_a)
      .def("resumed", &ThermalGovernor::resumed, "now"_a)
      .def("record_pause", &ThermalGovernor::record_pause, "seconds"_a, "emergency"_a = false)
      .def("report", &ThermalGovernor::report, "now"_a);
}

}  // namespace

void bind_thermal(nb::module_& m) {
  bind_readings(m);
  bind_simulated_gpu(m);
  bind_nvml(m);
  bind_governor_config(m);
  bind_governor_state(m);
  bind_thermal_report(m);
  bind_governor(m);
}

}  // namespace ltx2eff::py
