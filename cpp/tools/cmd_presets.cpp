// `ltx2eff presets`: the named presets and the knob values they resolve to.
#include <iostream>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/json_writer.hpp"
#include "ltx2eff/plan_report.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff::cli {

int run_presets(const std::vector<std::string>& argv) {
  const Args args(argv, {}, {"json", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << "usage: ltx2eff presets [--json]\n\nLists the presets and their knob values.\n";
    return 0;
  }
  const bool json = args.flag("json").value_or(false);
  JsonWriter j;
  j.begin_array();
  for (const std::string& name : preset_names()) {
    const Knobs k = resolve_preset(name);
    if (json) {
      j.begin_object();
      j.field("name", name).field("description", describe_preset(name));
      j.key("knobs");
      write_knobs(j, k);
      j.end_object();
    } else {
      std::cout << name << ": " << describe_preset(name) << "\n"
                << "    stride " << k.frame_stride << ", window "
                << (k.attention.window < 0 ? std::string("off")
                                           : std::to_string(k.attention.window))
                << (k.attention.anchor_frame ? " +anchor" : "") << ", far field "
                << k.attention.far_field << ", reuse from " << k.reuse_start << " (threshold "
                << k.reuse_threshold << ", max " << k.max_consecutive_reuse << " in a row), "
                << to_string(k.interpolation) << ", refine " << k.refine_steps << " @ "
                << k.refine_strength << ", budget " << k.activation_budget_mb << " MiB"
                << (k.thermal_guard ? ", thermal guard" : "") << "\n";
    }
  }
  j.end_array();
  if (json) std::cout << j.str() << "\n";
  return 0;
}

}  // namespace ltx2eff::cli
