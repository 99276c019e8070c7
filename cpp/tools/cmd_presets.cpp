// `ltx2eff presets`: the named presets and the value each gives every knob of the knob table.
#include <iostream>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/json_writer.hpp"
#include "ltx2eff/plan_report.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff::cli {
namespace {

constexpr std::size_t kIndent = 4;

// "frame_stride=1, window=-1, anchor_frame=false, ..." in the table's order and spelling.
std::string knob_values(const Knobs& knobs) {
  std::string out;
  for (const KnobRow& row : knob_table()) {
    if (!out.empty()) out += ", ";
    out += std::string(row.name) + "=" + row.format(row.get(knobs));
  }
  return out;
}

}  // namespace

int run_presets(const std::vector<std::string>& argv) {
  const Args args(argv, {}, {"json", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << "usage: ltx2eff presets [--json]\n\nLists the presets and the value each gives "
                 "every knob.\n";
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
                << std::string(kIndent, ' ') << wrap(knob_values(k), kIndent) << "\n";
    }
  }
  j.end_array();
  if (json) std::cout << j.str() << "\n";
  return 0;
}

}  // namespace ltx2eff::cli
