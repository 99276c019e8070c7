#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/frame_batches.hpp"
#include "ltx2eff/keyframe_plan.hpp"
#include "ltx2eff/window_plan.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

namespace {

void bind_keyframe_plan(nb::module_& m) {
  nb::class_<KeyframeSource>(m, "KeyframeSource")
      .def_ro("left", &KeyframeSource::left)
      .def_ro("right", &KeyframeSource::right)
      .def_ro("t", &KeyframeSource::t);

  nb::class_<KeyframePlan>(m, "KeyframePlan",
                           "Which latent frames are diffused and how the rest are rebuilt.")
      .def_ro("full_frames", &KeyframePlan::full_frames)
      .def_ro("stride", &KeyframePlan::stride)
      .def_ro("fps", &KeyframePlan::fps)
      .def_ro("effective_fps", &KeyframePlan::effective_fps)
      .def_ro("diffused", &KeyframePlan::diffused)
      .def_ro("pinned", &KeyframePlan::pinned)
      .def_ro("map", &KeyframePlan::map)
      .def_prop_ro("diffused_frames", &KeyframePlan::diffused_frames)
      .def_prop_ro("is_identity", &KeyframePlan::is_identity)
      .def_prop_ro("frame_fraction", &KeyframePlan::frame_fraction);

  m.def(
      "make_keyframe_plan",
      [](int latent_frames, int stride, double fps, const std::vector<int>& pinned) {
        return make_keyframe_plan(latent_frames, stride, fps, pinned);
      },
      "latent_frames"_a, "stride"_a, "fps"_a = 24.0, "pinned"_a = std::vector<int>{});
}

void bind_window_plan(nb::module_& m) {
  m.attr("WINDOW_OFF") = kWindowOff;
  m.attr("MAX_WINDOW") = kMaxWindow;

  nb::class_<WindowSpec>(m, "WindowSpec")
      .def(
          "__init__",
          [](WindowSpec* self, int window, bool anchor_frame, int far_field) {
            new (self) WindowSpec{window, anchor_frame, far_field};
          },
          "window"_a = kWindowOff, "anchor_frame"_a = false, "far_field"_a = 0)
      .def_rw("window", &WindowSpec::window)
      .def_rw("anchor_frame", &WindowSpec::anchor_frame)
      .def_rw("far_field", &WindowSpec::far_field);

  nb::class_<FrameRange>(m, "FrameRange")
      .def_ro("begin", &FrameRange::begin)
      .def_ro("end", &FrameRange::end)
      .def_prop_ro("size", &FrameRange::size);

  nb::class_<FramePlan>(m, "FramePlan")
      .def_ro("near", &FramePlan::near)
      .def_ro("anchor", &FramePlan::anchor)
      .def_ro("far", &FramePlan::far);

  nb::class_<PairCounts>(m, "PairCounts")
      .def_ro("exact", &PairCounts::exact)
      .def_ro("pooled", &PairCounts::pooled)
      .def_ro("dense", &PairCounts::dense)
      .def_prop_ro("exact_fraction", &PairCounts::exact_fraction)
      .def_prop_ro("total_fraction", &PairCounts::total_fraction);

  nb::class_<WindowPlan>(m, "WindowPlan", "Per query frame: exact key frames, anchor, far field.")
      .def(nb::init<LatentShape, std::int64_t, WindowSpec>(), "grid"_a, "global_tokens"_a, "spec"_a)
      .def_prop_ro("grid", &WindowPlan::grid)
      .def_prop_ro("global_tokens", &WindowPlan::global_tokens)
      .def_prop_ro("spec", &WindowPlan::spec)
      .def_prop_ro("is_dense", &WindowPlan::is_dense)
      .def_prop_ro("frames", &WindowPlan::frames)
      .def("frame", &WindowPlan::frame, "f"_a)
      .def_prop_ro("pooled_tokens_per_frame", &WindowPlan::pooled_tokens_per_frame)
      .def("pairs", &WindowPlan::pairs);

  m.def("window_range", &window_range, "frame"_a, "frames"_a, "window"_a);
}

void bind_frame_batches(nb::module_& m) {
  nb::class_<FrameBatch>(m, "FrameBatch",
                         "count windows; window i: q_frames query frames from q_first + i*q_step, "
                         "k_frames key frames from k_first + i*k_step")
      .def_ro("count", &FrameBatch::count)
      .def_ro("q_first", &FrameBatch::q_first)
      .def_ro("q_step", &FrameBatch::q_step)
      .def_ro("q_frames", &FrameBatch::q_frames)
      .def_ro("k_first", &FrameBatch::k_first)
      .def_ro("k_step", &FrameBatch::k_step)
      .def_ro("k_frames", &FrameBatch::k_frames);
  m.def("frame_batches", &frame_batches, "plan"_a,
        "The plan's query frames as batches whose key spans advance evenly (near ranges only).");
}

}  // namespace

void bind_plans(nb::module_& m) {
  bind_keyframe_plan(m);
  bind_window_plan(m);
  bind_frame_batches(m);
}

}  // namespace ltx2eff::py
