#include "ltx2eff/presets.hpp"

#include <array>
#include <sstream>

#include "ltx2eff/error.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {
namespace {

struct PresetEntry {
  std::string_view name;
  std::string_view description;            // dev regime
  std::string_view distilled_description;  // empty: the dev one
};

// The presets' names and descriptions; their values are the knob table's rows.
constexpr std::array<PresetEntry, 5> kPresets{{
    {"off", "dense baseline: every frame, every step, full attention", ""},
    {"quality", "every frame, full attention, late step reuse (from 50%, never twice in a row)",
     ""},
    {"balanced", "every frame, full attention, step reuse from 30% (up to 2 in a row)",
     "every frame, full attention, step reuse from 30% (never twice in a row)"},
    {"fast", "every frame, full attention, step reuse from 20% (up to 2 in a row)",
     "every frame, full attention, step reuse from 20% at threshold 0.2 (up to 3 in a row)"},
    {"laptop", "balanced, plus bounded activation memory and the thermal guard", ""},
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

Regime regime_for(int steps, int calls_per_step) {
  check_sampling("steps", steps);
  check_sampling("calls_per_step", calls_per_step);
  return steps <= kDistilledMaxSteps && calls_per_step == 1 ? Regime::kDistilled : Regime::kDev;
}

std::string to_string(Regime value) {
  return value == Regime::kDistilled ? "distilled" : "dev";
}

Regime parse_regime(std::string_view name) {
  for (Regime v : {Regime::kDev, Regime::kDistilled}) {
    if (to_string(v) == name) return v;
  }
  fail("regime", "must be one of dev distilled, got '" + std::string(name) + "'");
}

std::string preset_key(std::string_view preset, Regime regime) {
  return regime == Regime::kDistilled ? std::string(preset) + "/distilled" : std::string(preset);
}

Knobs resolve_preset(std::string_view name, Regime regime) {
  const PresetEntry& preset = find_preset(name);
  const std::string distilled = preset_key(preset.name, Regime::kDistilled);
  Knobs knobs;
  for (const KnobRow& row : knob_table()) {
    const bool own = regime == Regime::kDistilled && row.sets_preset(distilled);
    const KnobValue& value = row.preset_value(own ? std::string_view(distilled) : preset.name);
    if (row.type == KnobType::kChoice) {
      set_knob_choice(knobs, row.name, value.choice);
    } else {
      set_knob(knobs, row.name, value.number);
    }
  }
  validate_knobs(knobs);
  return knobs;
}

std::string describe_preset(std::string_view name, Regime regime) {
  const PresetEntry& preset = find_preset(name);
  if (regime == Regime::kDistilled && !preset.distilled_description.empty()) {
    return std::string(preset.distilled_description);
  }
  return std::string(preset.description);
}

}  // namespace ltx2eff
