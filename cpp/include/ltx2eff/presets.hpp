// Named presets: a name and a description each; the values they give every knob are the
// knob table's (knobs.hpp). docs/PRESETS.md says why each value is what it is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ltx2eff/knobs.hpp"

namespace ltx2eff {

// The sampling regime a preset is tuned for: the dev model's long guided schedules, or the
// distilled model's few unguided steps (where step reuse has little to skip).
enum class Regime {
  kDev,        // 20-30 steps with CFG
  kDistilled,  // <= kDistilledMaxSteps steps without guidance (8 + a short low-sigma refine)
};
inline constexpr int kDistilledMaxSteps = 12;

// kDistilled for at most kDistilledMaxSteps steps with one call per step, else kDev.
Regime regime_for(int steps, int calls_per_step);
std::string to_string(Regime value);
Regime parse_regime(std::string_view name);
// How a knob table row names a preset's value for a regime: "balanced" (dev, and distilled
// unless the row says otherwise) or "balanced/distilled".
std::string preset_key(std::string_view preset, Regime regime);

// "off", "quality", "balanced", "fast", "laptop".
std::vector<std::string> preset_names();
// The knobs of a preset in a regime: each row's value for it (a row's "<preset>/distilled"
// value where it has one, else its "<preset>" value). Throws InvalidArgument for an unknown name.
Knobs resolve_preset(std::string_view name, Regime regime = Regime::kDev);
// One-line human description of a preset in a regime.
std::string describe_preset(std::string_view name, Regime regime = Regime::kDev);

}  // namespace ltx2eff
