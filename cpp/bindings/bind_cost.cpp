#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>

#include "bindings.hpp"
#include "ltx2eff/cost_model.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/plan_report.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

namespace {

void bind_model_dims(nb::module_& m) {
  nb::class_<ModelDims>(m, "ModelDims", "Video-stream dimensions (LTX-2 19B by default).")
      .def(nb::init<>())
      .def_rw("blocks", &ModelDims::blocks)
      .def_rw("heads", &ModelDims::heads)
      .def_rw("head_dim", &ModelDims::head_dim)
      .def_rw("ff_mult", &ModelDims::ff_mult)
      .def_rw("text_tokens", &ModelDims::text_tokens)
      .def_rw("context_dim", &ModelDims::context_dim)
      .def_rw("in_channels", &ModelDims::in_channels)
      .def_rw("weight_bytes", &ModelDims::weight_bytes)
      .def_rw("activation_bytes", &ModelDims::activation_bytes)
      .def_prop_ro("width", &ModelDims::width)
      .def("block_params", &ModelDims::block_params);
}

void bind_call_cost(nb::module_& m) {
  nb::class_<PartCost>(m, "PartCost")
      .def_ro("flops", &PartCost::flops)
      .def_ro("bytes", &PartCost::bytes);

  nb::class_<CallCost>(m, "CallCost", "FLOPs and bytes of one model call, by part.")
      .def_ro("tokens", &CallCost::tokens)
      .def_ro("batch", &CallCost::batch)
      .def_ro("self_attention_core", &CallCost::self_attention_core)
      .def_ro("self_attention_linear", &CallCost::self_attention_linear)
      .def_ro("cross_attention", &CallCost::cross_attention)
      .def_ro("feed_forward", &CallCost::feed_forward)
      .def_ro("other", &CallCost::other)
      .def_ro("weight_bytes", &CallCost::weight_bytes)
      .def_ro("peak_activation_bytes", &CallCost::peak_activation_bytes)
      .def_ro("chunk_tokens", &CallCost::chunk_tokens)
      .def_ro("budget_met", &CallCost::budget_met)
      .def_prop_ro("total_flops", &CallCost::total_flops)
      .def_prop_ro("total_bytes", &CallCost::total_bytes);
}

void bind_device_profile(nb::module_& m) {
  auto profile =
      nb::class_<DeviceProfile>(m, "DeviceProfile", "Sustained rates of a device (H100 defaults).");
  profile.def(nb::init<>());
  // Each field is checked when set: a NaN or a negative rate fails here, naming the field.
  auto field = [&profile](const char* name, double DeviceProfile::*member) {
    profile.def_prop_rw(
        name, [member](const DeviceProfile& p) { return p.*member; },
        [name, member](DeviceProfile& p, double value) {
          validate_device_profile_field(name, value);
          p.*member = value;
        });
  };
  field("linear_flops_per_s", &DeviceProfile::linear_flops_per_s);
  field("attention_flops_per_s", &DeviceProfile::attention_flops_per_s);
  field("window_efficiency", &DeviceProfile::window_efficiency);
  field("memory_bytes_per_s", &DeviceProfile::memory_bytes_per_s);
  field("offload_bytes_per_s", &DeviceProfile::offload_bytes_per_s);
  field("per_block_overhead_s", &DeviceProfile::per_block_overhead_s);
  field("per_call_overhead_s", &DeviceProfile::per_call_overhead_s);
  field("sustained_fraction", &DeviceProfile::sustained_fraction);
  profile.def_static("isolated_blocks", &DeviceProfile::isolated_blocks,
                     "The isolated-block profile (no per-call costs, full rate).");
}

void bind_cost_functions(nb::module_& m) {
  m.def("model_call_cost", &model_call_cost, "dims"_a, "plan"_a, "batch"_a = 1,
        "activation_budget_mb"_a = 0);
  m.def("blended_call_cost", &blended_call_cost, "dims"_a, "window_plan"_a, "dense_plan"_a,
        "dense_first"_a, "dense_last"_a, "batch"_a = 1, "activation_budget_mb"_a = 0,
        "A call whose first/last blocks attend densely and the rest through the window plan.");
  m.def("predict_call_seconds", &predict_call_seconds, "cost"_a, "dims"_a, "device"_a,
        "windowed"_a);
}

// A Python value of a sampling parameter as the core's integer; any other type or size gets the
// limit's message, never a binding TypeError. Integral floats count (JSON sends 30.0).
std::int64_t sampling_value(std::string_view name, nb::handle value) {
  PyObject* obj = value.ptr();
  if (PyLong_Check(obj) && !PyBool_Check(obj)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow != 0) reject_sampling(name, shown(value));
    return v;
  }
  if (PyFloat_Check(obj)) {
    // Integral and far inside the 64-bit range, so the cast below is exact.
    constexpr double kExact = 9.0e15;
    const double v = PyFloat_AsDouble(obj);
    if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < kExact) {
      return static_cast<std::int64_t>(v);
    }
  }
  reject_sampling(name, shown(value));
}

void bind_sampling(nb::module_& m) {
  nb::class_<SamplingSpec>(m, "SamplingSpec")
      .def(
          "__init__",
          [](SamplingSpec* self, int steps, int calls_per_step, int batch, int global_tokens,
             int reused_steps, double windowed_head_share) {
            new (self) SamplingSpec{steps,         calls_per_step, batch,
                                    global_tokens, reused_steps,   windowed_head_share};
          },
          "steps"_a = 30, "calls_per_step"_a = 2, "batch"_a = 1, "global_tokens"_a = 0,
          "reused_steps"_a = -1, "windowed_head_share"_a = -1.0)
      .def_rw("steps", &SamplingSpec::steps)
      .def_rw("calls_per_step", &SamplingSpec::calls_per_step)
      .def_rw("batch", &SamplingSpec::batch)
      .def_rw("global_tokens", &SamplingSpec::global_tokens)
      .def_rw("reused_steps", &SamplingSpec::reused_steps)
      .def_rw("windowed_head_share", &SamplingSpec::windowed_head_share)
      .def("validate", &validate_sampling);

  // A request's sampling bounds: steps in [1, MAX_STEPS], calls_per_step in
  // [1, MAX_CALLS_PER_STEP], batch in [1, MAX_BATCH], global_tokens in [0, MAX_GLOBAL_TOKENS].
  m.attr("MAX_STEPS") = kMaxSteps;
  m.attr("MAX_CALLS_PER_STEP") = kMaxCallsPerStep;
  m.attr("MAX_BATCH") = kMaxBatch;
  m.attr("MAX_GLOBAL_TOKENS") = kMaxGlobalTokens;
  m.def(
      "check_sampling",
      [](std::string_view name, nb::handle value) {
        const std::int64_t v = sampling_value(find_sampling_limit(name).name, value);
        check_sampling(name, v);
        return v;
      },
      "name"_a, "value"_a.none(),
      "A sampling parameter's value (steps, calls_per_step, batch, global_tokens) as an int; "
      "ValueError naming it and its range unless it is an integer in range.");
}

void bind_generation_plan(nb::module_& m) {
  nb::class_<PhaseCost>(m, "PhaseCost")
      .def_ro("steps", &PhaseCost::steps)
      .def_ro("computed_steps", &PhaseCost::computed_steps)
      .def_ro("calls", &PhaseCost::calls)
      .def_ro("call", &PhaseCost::call)
      .def_ro("flops", &PhaseCost::flops)
      .def_ro("seconds", &PhaseCost::seconds);

  nb::class_<StepCost>(m, "StepCost")
      .def_ro("keyframes", &StepCost::keyframes)
      .def_ro("windowed", &StepCost::windowed)
      .def_ro("reused", &StepCost::reused)
      .def_ro("calls", &StepCost::calls)
      .def_ro("flops", &StepCost::flops)
      .def_ro("seconds", &StepCost::seconds);

  nb::class_<GenerationPlan>(m, "GenerationPlan", "What the sampler will do, and its cost.")
      .def_ro("pixels", &GenerationPlan::pixels)
      .def_ro("latent", &GenerationPlan::latent)
      .def_ro("keyframe_latent", &GenerationPlan::keyframe_latent)
      .def_ro("knobs", &GenerationPlan::knobs)
      .def_ro("sampling", &GenerationPlan::sampling)
      .def_ro("keyframes", &GenerationPlan::keyframes)
      .def_ro("keyframe_pairs", &GenerationPlan::keyframe_pairs)
      .def_ro("refine_pairs", &GenerationPlan::refine_pairs)
      .def_ro("max_reused_steps", &GenerationPlan::max_reused_steps)
      .def_ro("reused_steps", &GenerationPlan::reused_steps)
      .def_prop_ro("regime", [](const GenerationPlan& p) { return to_string(p.regime); })
      .def_ro("schedule", &GenerationPlan::schedule)
      .def_ro("blocks", &GenerationPlan::blocks)
      .def_ro("step_costs", &GenerationPlan::step_costs)
      .def_ro("dense", &GenerationPlan::dense)
      .def_ro("keyframe_phase", &GenerationPlan::keyframe_phase)
      .def_ro("refine_phase", &GenerationPlan::refine_phase)
      .def_prop_ro("plan_flops", &GenerationPlan::plan_flops)
      .def_prop_ro("plan_seconds", &GenerationPlan::plan_seconds)
      .def_prop_ro("predicted_speedup", &GenerationPlan::predicted_speedup)
      .def_prop_ro("flops_ratio", &GenerationPlan::flops_ratio)
      .def_prop_ro("peak_activation_bytes", &GenerationPlan::peak_activation_bytes)
      .def("summary", &GenerationPlan::summary)
      .def(
          "to_json",
          [](const GenerationPlan& p, std::string_view preset) { return plan_to_json(p, preset); },
          "preset"_a = "")
      .def(
          "to_text",
          [](const GenerationPlan& p, std::string_view preset) { return plan_to_text(p, preset); },
          "preset"_a = "");
}

void bind_plan_functions(nb::module_& m) {
  m.def("max_reusable_steps", &max_reusable_steps, "steps"_a, "reuse_start"_a,
        "max_consecutive_reuse"_a);
  m.def("reuse_forecast", &reuse_forecast, "steps"_a, "reuse_start"_a, "max_consecutive_reuse"_a,
        "must_compute"_a = std::vector<int>{},
        "Per step: whether the reuse bound reuses it (must_compute steps always run).");
  // Optional arguments instead of bound default instances, which would outlive the module.
  m.def(
      "make_plan",
      [](const PixelShape& pixels, const Knobs& knobs, std::optional<SamplingSpec> sampling,
         std::optional<ModelDims> dims, std::optional<DeviceProfile> device) {
        return make_plan(pixels, knobs, sampling.value_or(SamplingSpec{}),
                         dims.value_or(ModelDims{}), device.value_or(DeviceProfile{}));
      },
      "pixels"_a, "knobs"_a, "sampling"_a = nb::none(), "dims"_a = nb::none(),
      "device"_a = nb::none(),
      "Plan a request: frames diffused, attention pairs, reuse bound, cost vs dense.");
}

}  // namespace

void bind_cost(nb::module_& m) {
  bind_model_dims(m);
  bind_call_cost(m);
  bind_device_profile(m);
  bind_cost_functions(m);
  bind_sampling(m);
  bind_generation_plan(m);
  bind_plan_functions(m);
}

}  // namespace ltx2eff::py
