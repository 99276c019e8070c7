#include <nanobind/nanobind.h>

#include "bindings.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/version.hpp"

namespace nb = nanobind;

NB_MODULE(_core, m) {
  m.doc() = "LTX-2 efficient sampler core (C++): geometry, plans, cost model, kernels.";
  m.attr("__version__") = ltx2eff::kVersion;
#if defined(LTX2EFF_HAVE_CUDA)
  m.attr("built_with_cuda") = true;
#else
  m.attr("built_with_cuda") = false;
#endif
  // C++ InvalidArgument -> ltx2_efficient.InvalidArgument (a ValueError) carrying the message.
  nb::exception<ltx2eff::InvalidArgument>(m, "InvalidArgument", PyExc_ValueError);
  nb::exception<ltx2eff::Unavailable>(m, "Unavailable", PyExc_RuntimeError);

  ltx2eff::py::bind_geometry(m);
  ltx2eff::py::bind_plans(m);
  ltx2eff::py::bind_frame_split(m);
  ltx2eff::py::bind_knobs(m);
  ltx2eff::py::bind_schedule(m);
  ltx2eff::py::bind_cost(m);
  ltx2eff::py::bind_thermal(m);
  ltx2eff::py::bind_interpolation(m);
  ltx2eff::py::bind_reuse(m);
  ltx2eff::py::bind_attention(m);
  ltx2eff::py::bind_build_info(m);
}
