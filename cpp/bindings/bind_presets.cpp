#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/presets.hpp"
#include "ltx2eff/step_schedule.hpp"

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

  nb::enum_<KeyframeMode>(m, "KeyframeMode")
      .value("REFINE", KeyframeMode::kRefine)
      .value("BOTTLENECK", KeyframeMode::kBottleneck);
  nb::enum_<Regime>(m, "Regime").value("DEV", Regime::kDev).value("DISTILLED", Regime::kDistilled);

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
      .def_rw("window_start", &Knobs::window_start)
      .def_rw("window_end", &Knobs::window_end)
      .def_rw("dense_first_blocks", &Knobs::dense_first_blocks)
      .def_rw("dense_last_blocks", &Knobs::dense_last_blocks)
      .def_rw("keyframe_mode", &Knobs::keyframe_mode)
      .def_rw("keyframe_start", &Knobs::keyframe_start)
      .def_rw("keyframe_end", &Knobs::keyframe_end)
      .def_prop_ro("reuse_enabled", &Knobs::reuse_enabled)
      .def("validate", [](const Knobs& k) { validate_knobs(k); })
      .def("__copy__", [](const Knobs& k) { return k; });

  m.def("preset_names", &preset_names);
  m.def("resolve_preset", &resolve_preset, "name"_a, "regime"_a = Regime::kDev,
        "The knob values of a named preset in a regime.");
  m.def("describe_preset", &describe_preset, "name"_a, "regime"_a = Regime::kDev);
  m.def("regime_for", &regime_for, "steps"_a, "calls_per_step"_a,
        "distilled for few unguided steps, else dev.");
  m.def("parse_regime", &parse_regime, "name"_a);
  m.def(
      "regime_name", [](Regime v) { return to_string(v); }, "value"_a);
  m.def("parse_keyframe_mode", &parse_keyframe_mode, "name"_a);
  m.def(
      "keyframe_mode_name", [](KeyframeMode v) { return to_string(v); }, "value"_a);

  nb::class_<StepPlan>(m, "StepPlan")
      .def_ro("window", &StepPlan::window)
      .def_ro("keyframes", &StepPlan::keyframes);
  nb::class_<StepSchedule>(m, "StepSchedule",
                           "Per step: window attention, keyframes only; dense first/last blocks.")
      .def_ro("steps", &StepSchedule::steps)
      .def_ro("per_step", &StepSchedule::per_step)
      .def_ro("keyframe_mode", &StepSchedule::keyframe_mode)
      .def_ro("window_begin", &StepSchedule::window_begin)
      .def_ro("window_end", &StepSchedule::window_end)
      .def_ro("keyframe_begin", &StepSchedule::keyframe_begin)
      .def_ro("keyframe_end", &StepSchedule::keyframe_end)
      .def_ro("refine_steps", &StepSchedule::refine_steps)
      .def_ro("refine_windowed", &StepSchedule::refine_windowed)
      .def_ro("dense_first_blocks", &StepSchedule::dense_first_blocks)
      .def_ro("dense_last_blocks", &StepSchedule::dense_last_blocks)
      .def("at", &StepSchedule::at, "step"_a)
      .def_prop_ro("keyframed", &StepSchedule::keyframed)
      .def_prop_ro("windowed", &StepSchedule::windowed)
      .def_prop_ro("restrict_before", &StepSchedule::restrict_before)
      .def_prop_ro("expand_before", &StepSchedule::expand_before)
      .def_prop_ro("windowed_steps", &StepSchedule::windowed_steps)
      .def_prop_ro("keyframe_steps", &StepSchedule::keyframe_steps)
      .def("block_windowed", &StepSchedule::block_windowed, "block"_a, "blocks"_a)
      .def("windowed_blocks", &StepSchedule::windowed_blocks, "blocks"_a)
      .def("summary", &StepSchedule::summary, "blocks"_a = 0);
  m.def("make_step_schedule", &make_step_schedule, "knobs"_a, "steps"_a,
        "The per-step schedule of the knobs' step ranges for a run of `steps` steps.");
  m.def("step_at", &step_at, "share"_a, "steps"_a);
  m.attr("DISTILLED_MAX_STEPS") = kDistilledMaxSteps;
  m.attr("MAX_DENSE_BLOCKS") = kMaxDenseBlocks;
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
