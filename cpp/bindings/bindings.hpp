// Each concept binds itself in its own file; module.cpp calls them in dependency order.
#pragma once

#include <nanobind/nanobind.h>

#include <string>

namespace ltx2eff::py {

// repr() of a bad Python value for a message: cut short so a huge value never floods it, and an
// integer beyond 64 bits named by its size rather than its digits.
std::string shown(nanobind::handle value);

void bind_geometry(nanobind::module_& m);
void bind_plans(nanobind::module_& m);
void bind_frame_split(nanobind::module_& m);
void bind_knobs(nanobind::module_& m);     // the knob table, Knobs and the presets
void bind_schedule(nanobind::module_& m);  // the per-step schedule
void bind_cost(nanobind::module_& m);
void bind_thermal(nanobind::module_& m);
void bind_interpolation(nanobind::module_& m);
void bind_reuse(nanobind::module_& m);
void bind_attention(nanobind::module_& m);
void bind_build_info(nanobind::module_& m);

}  // namespace ltx2eff::py
