#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/presets.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

void bind_presets(nb::module_& m) {
  nb::enum_<Interpolation>(m, "Interpolation")
      .value("LERP", Interpolation::kLerp)
      .value("SLERP", Interpolation::kSlerp)
      .value("MOTION", Interpolation::kMotion)
      .value("UPSAMPLER", Interpolation::kUpsampler);
  nb::enum_<Precision>(m, "Precision")
      .value("AUTO", Precision::kAuto)
      .value("BF16", Precision::kBf16)
      .value("FP16", Precision::kFp16)
      .value("FP32", Precision::kFp32)
      .value("FP8_FAR_FIELD", Precision::kFp8FarField);

  nb::class_<Knobs>(m, "Knobs", "Concrete knob values of the efficient sampler.")
      .def(nb::init<>())
      .def_rw("frame_stride", &Knobs::frame_stride)
      .def_rw("attention", &Knobs::attention)
      .def_prop_rw(
          "window", [](const Knobs& k) { return k.attention.window; },
          [](Knobs& k, int v) { k.attention.window = v; })
      .def_prop_rw(
          "anchor_frame", [](const Knobs& k) { return k.attention.anchor_frame; },
          [](Knobs& k, bool v) { k.attention.anchor_frame = v; })
      .def_prop_rw(
          "far_field", [](const Knobs& k) { return k.attention.far_field; },
          [](Knobs& k, int v) { k.attention.far_field = v; })
      .def_rw("reuse_start", &Knobs::reuse_start)
      .def_rw("reuse_threshold", &Knobs::reuse_threshold)
      .def_rw("max_consecutive_reuse", &Knobs::max_consecutive_reuse)
      .def_rw("precision", &Knobs::precision)
      .def_rw("interpolation", &Knobs::interpolation)
      .def_rw("refine_steps", &Knobs::refine_steps)
      .def_rw("refine_strength", &Knobs::refine_strength)
      .def_rw("activation_budget_mb", &Knobs::activation_budget_mb)
      .def_rw("thermal_guard", &Knobs::thermal_guard)
      .def_prop_ro("reuse_enabled", &Knobs::reuse_enabled)
      .def("validate", [](const Knobs& k) { validate_knobs(k); })
      .def("__copy__", [](const Knobs& k) { return k; });

  m.def("preset_names", &preset_names);
  m.def("resolve_preset", &resolve_preset, "name"_a, "The knob values of a named preset.");
  m.def("describe_preset", &describe_preset, "name"_a);
  m.def("validate_knobs", &validate_knobs, "knobs"_a);
  m.def("parse_interpolation", &parse_interpolation, "name"_a);
  m.def("parse_precision", &parse_precision, "name"_a);
  m.def(
      "interpolation_name", [](Interpolation v) { return to_string(v); }, "value"_a);
  m.def(
      "precision_name", [](Precision v) { return to_string(v); }, "value"_a);
  m.attr("MIN_COMPUTED_START_SHARE") = kMinComputedStartShare;
  m.attr("MAX_FRAME_STRIDE") = kMaxFrameStride;
  m.attr("MAX_REFINE_STEPS") = kMaxRefineSteps;
  m.attr("MAX_CONSECUTIVE_REUSE") = kMaxConsecutiveReuse;
}

}  // namespace ltx2eff::py
