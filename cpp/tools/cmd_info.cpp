// `ltx2eff info`: what this installation contains and what it can run here: the version, the
// kernels built (CPU instruction sets, CUDA architectures and why those), the GPUs CUDA and
// NVML see, and, from the Python it was installed with, the package and torch.
#include <iostream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/attention_cpu.hpp"
#include "ltx2eff/build_info.hpp"
#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/json_writer.hpp"
#include "ltx2eff/thermal_nvml.hpp"

namespace ltx2eff::cli {
namespace {

constexpr const char* kHelp = R"(usage: ltx2eff info [--json]

Prints the version, the kernels this build contains (CPU instruction sets, CUDA architectures
and why those were built), the GPUs CUDA and NVML see and whether the kernels cover them, and
the Python package and torch of the environment ltx2eff was installed into.
)";

constexpr const char* kHowToChange =
    "to change the CUDA kernels, reinstall with pip's -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="
    "\"86-real\" (one GPU), -Ccmake.define.LTX2EFF_CUDA=ON (every supported GPU) or "
    "-Ccmake.define.LTX2EFF_CUDA=OFF (CPU only)";

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::vector<std::string> cpu_isa_names() {
  std::vector<std::string> names;
  for (const CpuIsa isa : available_cpu_isas()) names.push_back(to_string(isa));
  return names;
}

std::vector<CudaDeviceInfo> cuda_devices() {
  std::vector<CudaDeviceInfo> devices;
  const int count = cuda_device_count();
  for (int i = 0; i < count; ++i) devices.push_back(cuda_device_info(i));
  return devices;
}

std::string sm(const CudaDeviceInfo& d) {
  return "sm_" + std::to_string(d.compute_major) + std::to_string(d.compute_minor);
}

void write_json(const BuildInfo& b, const std::vector<CudaDeviceInfo>& devices,
                const NvmlStatus& nvml, const std::string& python_json) {
  JsonWriter j;
  j.begin_object();
  j.field("version", b.version).field("build_type", b.build_type);
  j.field("cxx_compiler", b.cxx_compiler);
  j.key("cpu_isas").begin_array();
  for (const std::string& isa : cpu_isa_names()) j.value(isa);
  j.end_array();
  j.field("cpu_isa_default", to_string(default_cpu_isa()));
  j.field("cuda_kernels", b.cuda_kernels).field("cuda_compiler", b.cuda_compiler);
  j.key("cuda_architectures").begin_array();
  for (const std::string& arch : b.cuda_architectures) j.value(arch);
  j.end_array();
  j.field("cuda_architectures_reason", b.cuda_architectures_reason);
  j.field("hopper_kernel", b.hopper_kernel);
  j.key("cuda_devices").begin_array();
  for (const CudaDeviceInfo& d : devices) {
    j.begin_object().field("index", d.index).field("name", d.name).field("arch", sm(d));
    j.field("kernels_cover", cuda_kernels_cover(d.compute_major, d.compute_minor)).end_object();
  }
  j.end_array();
  j.key("nvml").begin_object().field("available", nvml.available);
  j.field("reason", nvml.reason).field("driver_version", nvml.driver_version);
  j.field("device_count", nvml.device_count).end_object();
  j.key("python");
  if (python_json.empty()) {
    j.null();
  } else {
    j.raw(python_json);
  }
  j.end_object();
  std::cout << j.str() << "\n";
}

void write_text(const BuildInfo& b, const std::vector<CudaDeviceInfo>& devices,
                const NvmlStatus& nvml) {
  std::cout << "ltx2eff " << b.version << " (" << b.build_type << ", " << b.cxx_compiler << ")\n";
  std::cout << "CPU kernels: " << join(cpu_isa_names(), ", ") << " (using "
            << to_string(default_cpu_isa()) << ")\n";
  if (b.cuda_kernels) {
    std::cout << "CUDA kernels: " << join(b.cuda_architectures, ", ") << " ("
              << b.cuda_architectures_reason << "; " << b.cuda_compiler << ")"
              << (b.hopper_kernel ? "; Hopper wgmma kernel built" : "") << "\n";
  } else {
    std::cout << "CUDA kernels: not built (" << b.cuda_architectures_reason
              << "); GPUs use the torch fallbacks\n";
  }
  for (const CudaDeviceInfo& d : devices) {
    std::cout << "  GPU " << d.index << ": " << d.name << " (" << sm(d) << "): "
              << (cuda_kernels_cover(d.compute_major, d.compute_minor)
                      ? "runs the CUDA kernels"
                      : "not covered by this build, uses the torch fallbacks")
              << "\n";
  }
  if (nvml.available) {
    std::cout << "NVML: available (driver " << nvml.driver_version << ", " << nvml.device_count
              << " device(s)); the thermal governor can read the GPU\n";
  } else {
    std::cout << "NVML: unavailable (" << nvml.reason << "); the thermal governor paces nothing\n";
  }
}

}  // namespace

int run_info(const std::vector<std::string>& argv, const std::string& argv0) {
  const Args args(argv, {}, {"json", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << kHelp;
    return 0;
  }
  const bool json = args.flag("json").value_or(false);
  const BuildInfo& build = build_info();
  const std::vector<CudaDeviceInfo> devices = cuda_devices();
  const NvmlStatus nvml = nvml_status();
  std::string python_out;
  const int python_rc = capture_python_verb(
      "info", json ? std::vector<std::string>{"--json"} : std::vector<std::string>{}, argv0,
      python_out);
  if (json) {
    write_json(build, devices, nvml, python_rc == 0 ? python_out : std::string());
    return 0;
  }
  write_text(build, devices, nvml);
  if (python_rc == 0) {
    std::cout << python_out;
  } else {
    std::cout << "Python: the package's Python part did not answer (exit " << python_rc
              << "); set LTX2EFF_PYTHON to the Python it was installed into\n";
  }
  std::cout << kHowToChange << "\n";
  return 0;
}

}  // namespace ltx2eff::cli
