#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "ltx2eff/reuse_policy.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

void bind_reuse(nb::module_& m) {
  nb::enum_<ReuseReason>(m, "ReuseReason")
      .value("REUSED", ReuseReason::kReused)
      .value("DISABLED", ReuseReason::kDisabled)
      .value("WARMUP", ReuseReason::kWarmup)
      .value("LAST_STEP", ReuseReason::kLastStep)
      .value("NOT_CALIBRATED", ReuseReason::kNotCalibrated)
      .value("THRESHOLD", ReuseReason::kThreshold)
      .value("CONSECUTIVE_CAP", ReuseReason::kConsecutiveCap)
      .value("NO_CACHED_OUTPUT", ReuseReason::kNoCachedOutput);
  m.def(
      "reuse_reason_name", [](ReuseReason r) { return to_string(r); }, "reason"_a);

  nb::class_<ReusePolicyConfig>(m, "ReusePolicyConfig")
      .def(
          "__init__",
          [](ReusePolicyConfig* self, int steps, double reuse_start, double threshold,
             int max_consecutive_reuse) {
            new (self) ReusePolicyConfig{steps, reuse_start, threshold, max_consecutive_reuse};
          },
          "steps"_a, "reuse_start"_a = 1.0, "threshold"_a = 0.0, "max_consecutive_reuse"_a = 0)
      .def_rw("steps", &ReusePolicyConfig::steps)
      .def_rw("reuse_start", &ReusePolicyConfig::reuse_start)
      .def_rw("threshold", &ReusePolicyConfig::threshold)
      .def_rw("max_consecutive_reuse", &ReusePolicyConfig::max_consecutive_reuse);

  nb::class_<ReuseDecision>(m, "ReuseDecision")
      .def_ro("reuse", &ReuseDecision::reuse)
      .def_ro("reason", &ReuseDecision::reason)
      .def_ro("predicted_change", &ReuseDecision::predicted_change)
      .def_ro("accumulated", &ReuseDecision::accumulated);

  nb::class_<ReuseStats>(m, "ReuseStats")
      .def_ro("computed", &ReuseStats::computed)
      .def_ro("reused", &ReuseStats::reused)
      .def_ro("longest_reuse_run", &ReuseStats::longest_reuse_run)
      .def_prop_ro("by_reason", [](const ReuseStats& s) {
        nb::dict out;
        for (int i = 0; i < kReuseReasonCount; ++i) {
          const int n = s.by_reason[static_cast<std::size_t>(i)];
          if (n > 0) out[to_string(static_cast<ReuseReason>(i)).c_str()] = n;
        }
        return out;
      });

  nb::class_<ReusePolicy>(m, "ReusePolicy",
                          "Online step-reuse decisions for one modality (EasyCache-style).")
      .def(nb::init<const ReusePolicyConfig&>(), "config"_a)
      .def_prop_ro("config", &ReusePolicy::config)
      .def_prop_ro("enabled", &ReusePolicy::enabled)
      .def_prop_ro("first_reusable_step", &ReusePolicy::first_reusable_step)
      .def("decide", &ReusePolicy::decide, "step"_a, "input_change"_a)
      .def("record_computed", &ReusePolicy::record_computed, "input_change_since_computed"_a,
           "output_change_since_computed"_a)
      .def("computed_instead", &ReusePolicy::computed_instead,
           "The host computed the step just decided as reused (no cached output fits).")
      .def_prop_ro("transformation_rate", &ReusePolicy::transformation_rate)
      .def_prop_ro("stats", &ReusePolicy::stats)
      .def_prop_ro("last_step", &ReusePolicy::last_step)
      .def("reset", &ReusePolicy::reset);
}

}  // namespace ltx2eff::py
