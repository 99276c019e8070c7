#include "ltx2eff/presets.hpp"

#include <array>
#include <sstream>

#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

struct PresetEntry {
  std::string_view name;
  std::string_view description;
};

// The presets' names and descriptions; their values are the knob table's rows.
constexpr std::array<PresetEntry, 5> kPresets{{
    {"off", "dense baseline: every frame, every step, full attention"},
    {"quality", "every frame, full attention, late step reuse (from 50%, never twice in a row)"},
    {"balanced", "every frame, full attention, step reuse from 30% (up to 2 in a row)"},
    {"fast", "every frame, full attention, step reuse from 20% (up to 2 in a row)"},
    {"laptop", "balanced, plus bounded activation memory and the thermal guard"},
}};

const PresetEntry& find_preset(std::string_view name) {
  for (const PresetEntry& entry : kPresets) {
    if (entry.name == name) return entry;
  }
  std::ostringstream os;
  os << "must be one of";
  for (const PresetEntry& entry : kPresets) os << " " << entry.name;
  os << ", got '" << name << "'";
  fail("preset", os.str());
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const PresetEntry& entry : kPresets) names.emplace_back(entry.name);
  return names;
}

Knobs resolve_preset(std::string_view name) {
  const PresetEntry& preset = find_preset(name);
  Knobs knobs;
  for (const KnobRow& row : knob_table()) {
    const KnobValue& value = row.preset_value(preset.name);
    if (row.type == KnobType::kChoice) {
      set_knob_choice(knobs, row.name, value.choice);
    } else {
      set_knob(knobs, row.name, value.number);
    }
  }
  validate_knobs(knobs);
  return knobs;
}

std::string describe_preset(std::string_view name) {
  return std::string(find_preset(name).description);
}

}  // namespace ltx2eff
