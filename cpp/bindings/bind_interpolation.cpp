#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include <cstring>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/interpolation.hpp"
#include "ltx2eff/tensor_view.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {
namespace {

// A CPU ndarray (numpy, or torch through DLPack) as a TensorView; names the argument on error.
TensorView cpu_view(const nb::ndarray<>& array, const char* name) {
  if (array.device_type() != nb::device::cpu::value) {
    fail(name, "must be a CPU array (copy CUDA tensors to the CPU first)");
  }
  if (array.ndim() > static_cast<std::size_t>(kMaxDims)) fail(name, "has too many dimensions");
  TensorView view;
  view.data = array.data();
  const nb::dlpack::dtype dt = array.dtype();
  if (dt == nb::dtype<float>()) {
    view.dtype = DType::kFloat32;
  } else if (dt.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float) && dt.bits == 16) {
    view.dtype = DType::kFloat16;
  } else if (dt.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bfloat) &&
             dt.bits == 16) {
    view.dtype = DType::kBFloat16;
  } else {
    fail(name, "dtype must be float32, float16 or bfloat16");
  }
  view.ndim = static_cast<int>(array.ndim());
  for (std::size_t i = 0; i < array.ndim(); ++i) {
    view.shape[i] = static_cast<std::int64_t>(array.shape(i));
    view.strides[i] = array.stride(i);
  }
  return view;
}

nb::ndarray<nb::numpy, float> to_numpy(std::vector<float>&& values, std::size_t rows,
                                       std::size_t cols) {
  auto* owned = new std::vector<float>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  const std::size_t shape[2] = {rows, cols};
  return nb::ndarray<nb::numpy, float>(owned->data(), 2, shape, owner);
}

}  // namespace

void bind_interpolation(nb::module_& m) {
  m.def(
      "interpolate_frames",
      [](const nb::ndarray<>& keyframes, const KeyframePlan& plan, const nb::ndarray<>& out,
         Interpolation method, int block, int search_radius, bool subtoken, double motion_penalty,
         double consistency_tau, double slerp_parallel_cos) {
        const TensorView kv = cpu_view(keyframes, "keyframes");
        const TensorView ov = cpu_view(out, "out");
        InterpolationOptions options;
        options.method = method;
        options.slerp_parallel_cos = slerp_parallel_cos;
        options.motion =
            MotionOptions{block, search_radius, subtoken, motion_penalty, consistency_tau};
        nb::gil_scoped_release release;
        interpolate_frames(kv, plan, ov, options);
      },
      "keyframes"_a, "plan"_a, "out"_a, "method"_a = Interpolation::kLerp, "block"_a = 2,
      "search_radius"_a = 3, "subtoken"_a = true, "motion_penalty"_a = 0.02,
      "consistency_tau"_a = 0.75, "slerp_parallel_cos"_a = 0.9995,
      "Fill out [B, C, F, H, W] from keyframes [B, C, F', H, W] by the plan's map (CPU arrays; "
      "float32, float16 or bfloat16). Diffused frames are copied exactly.");

  m.def(
      "estimate_motion",
      [](const nb::ndarray<float, nb::ndim<3>, nb::c_contig, nb::device::cpu>& a,
         const nb::ndarray<float, nb::ndim<3>, nb::c_contig, nb::device::cpu>& b, int block,
         int search_radius, bool subtoken, double motion_penalty, double consistency_tau) {
        if (a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1) || a.shape(2) != b.shape(2)) {
          fail("b", "must have the shape of a ([C, H, W])");
        }
        const MotionOptions options{block, search_radius, subtoken, motion_penalty,
                                    consistency_tau};
        MotionField field;
        {
          nb::gil_scoped_release release;
          field =
              estimate_motion(a.data(), b.data(), static_cast<int>(a.shape(0)),
                              static_cast<int>(a.shape(1)), static_cast<int>(a.shape(2)), options);
        }
        const auto rows = static_cast<std::size_t>(field.height);
        const auto cols = static_cast<std::size_t>(field.width);
        return nb::make_tuple(to_numpy(std::move(field.dy), rows, cols),
                              to_numpy(std::move(field.dx), rows, cols));
      },
      "a"_a, "b"_a, "block"_a = 2, "search_radius"_a = 3, "subtoken"_a = true,
      "motion_penalty"_a = 0.02, "consistency_tau"_a = 0.75,
      "Displacement field (dy, dx) in tokens with b[p + d(p)] ~ a[p]; a, b float32 [C, H, W].");
}

}  // namespace ltx2eff::py
