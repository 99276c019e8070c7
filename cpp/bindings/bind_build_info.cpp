// build_info(): what this build contains, as a dict (the keys of ltx2eff::BuildInfo).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/build_info.hpp"

namespace nb = nanobind;

namespace ltx2eff::py {

void bind_build_info(nb::module_& m) {
  m.def(
      "build_info",
      [] {
        const BuildInfo& info = build_info();
        nb::dict d;
        d["version"] = info.version;
        d["build_type"] = info.build_type;
        d["cxx_compiler"] = info.cxx_compiler;
        d["cuda_kernels"] = info.cuda_kernels;
        d["cuda_compiler"] = info.cuda_compiler;
        d["cuda_architectures"] = info.cuda_architectures;
        d["cuda_architectures_reason"] = info.cuda_architectures_reason;
        d["hopper_kernel"] = info.hopper_kernel;
        return d;
      },
      "What this build contains: version, compilers, the CUDA architectures compiled and why.");
  m.def("cuda_kernels_cover", &cuda_kernels_cover, nb::arg("compute_major"),
        nb::arg("compute_minor"),
        "Whether a GPU of this compute capability runs this build's CUDA kernels.");
}

}  // namespace ltx2eff::py
