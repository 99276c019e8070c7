// The per-step schedule of the step-ranged techniques (step_schedule.hpp).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/step_schedule.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

void bind_schedule(nb::module_& m) {
  nb::enum_<KeyframeMode>(m, "KeyframeMode")
      .value("REFINE", KeyframeMode::kRefine)
      .value("BOTTLENECK", KeyframeMode::kBottleneck);
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
      .def_ro("head_recall", &StepSchedule::head_recall)
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
}

}  // namespace ltx2eff::py
