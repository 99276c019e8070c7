// What this build of the core contains: its version, the kernels compiled in and why those.
// `ltx2eff info` and `ltx2_efficient.build_info()` report it, so a user can check which GPUs
// get the CUDA kernels without reading build logs.
#pragma once

#include <string>
#include <vector>

namespace ltx2eff {

struct BuildInfo {
  std::string version;
  std::string build_type;     // "Release", ...
  std::string cxx_compiler;   // "GNU 12.2.0"
  bool cuda_kernels = false;  // CUDA kernels compiled in
  std::string cuda_compiler;  // nvcc's version, empty without CUDA
  // CMake's architecture entries as built: "86-real" (machine code for sm_86), "120-virtual"
  // (PTX the driver compiles for newer GPUs), "90" (both).
  std::vector<std::string> cuda_architectures;
  std::string cuda_architectures_reason;  // why these: asked for, the visible GPU, no toolkit...
  bool hopper_kernel = false;             // the sm_90a (wgmma) attention kernel
};

const BuildInfo& build_info();

// Whether a GPU of compute capability major.minor runs this build's CUDA kernels: machine code
// of its major version at or below its minor one, or PTX of an architecture at or below it.
bool cuda_kernels_cover(int compute_major, int compute_minor);

}  // namespace ltx2eff
