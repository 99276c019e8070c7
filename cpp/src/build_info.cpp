#include "ltx2eff/build_info.hpp"

#include <sstream>
#include <string>

#include "ltx2eff/build_config.hpp"
#include "ltx2eff/version.hpp"

namespace ltx2eff {
namespace {

[[maybe_unused]] std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

BuildInfo make_build_info() {
  BuildInfo info;
  info.version = kVersion;
  info.build_type = LTX2EFF_BUILD_TYPE;
  info.cxx_compiler = LTX2EFF_CXX_COMPILER;
#if defined(LTX2EFF_HAVE_CUDA)
  info.cuda_kernels = true;
  info.cuda_compiler = LTX2EFF_CUDA_COMPILER;
  info.cuda_architectures = split_list(LTX2EFF_CUDA_ARCHITECTURES);
#endif
  info.cuda_architectures_reason = LTX2EFF_CUDA_ARCH_REASON;
  info.hopper_kernel = LTX2EFF_HOPPER_KERNEL != 0;
  return info;
}

// "86-real" -> 86, "120-virtual" -> 120, "90" -> 90; 0 for "all", "native" and the like.
int arch_number(const std::string& entry) {
  int number = 0;
  for (const char c : entry) {
    if (c < '0' || c > '9') break;
    number = number * 10 + (c - '0');
  }
  return number;
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info = make_build_info();
  return info;
}

bool cuda_kernels_cover(int compute_major, int compute_minor) {
  const BuildInfo& info = build_info();
  if (!info.cuda_kernels) return false;
  const int gpu = compute_major * 10 + compute_minor;
  for (const std::string& entry : info.cuda_architectures) {
    if (entry == "all" || entry == "all-major" || entry == "native") return true;
    const int arch = arch_number(entry);
    const bool has_sass = entry.find("-virtual") == std::string::npos;
    const bool has_ptx = entry.find("-real") == std::string::npos;
    // Machine code runs on GPUs of the same major version and an equal or higher minor one;
    // PTX is compiled by the driver for any GPU at or above its architecture.
    if (has_sass && arch / 10 == compute_major && arch % 10 <= compute_minor) return true;
    if (has_ptx && arch > 0 && arch <= gpu) return true;
  }
  return false;
}

}  // namespace ltx2eff
