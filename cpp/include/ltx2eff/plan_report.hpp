// Renders a GenerationPlan for people (a table) and machines (JSON). The CLI, the Python bindings
// and the frontend's estimate route all use these, so the numbers they show are the same.
#pragma once

#include <string>

#include "ltx2eff/json_writer.hpp"
#include "ltx2eff/plan.hpp"

namespace ltx2eff {

// The knobs as one JSON object in the knob table's names and order.
void write_knobs(JsonWriter& j, const Knobs& knobs);

std::string plan_to_json(const GenerationPlan& plan, std::string_view preset_name = "");
std::string plan_to_text(const GenerationPlan& plan, std::string_view preset_name = "");

// "14,080"
std::string group_thousands(std::int64_t value);
// "12.3 TFLOP", "1.50 GiB"
std::string format_flops(double flops);
std::string format_bytes(double bytes);

}  // namespace ltx2eff
