// Named presets: a name and a description each; the values they give every knob are the
// knob table's (knobs.hpp). docs/PRESETS.md says why each value is what it is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ltx2eff/knobs.hpp"

namespace ltx2eff {

// "off", "quality", "balanced", "fast", "laptop".
std::vector<std::string> preset_names();
// The knobs of a preset: each row's value for it. Throws InvalidArgument for an unknown name.
Knobs resolve_preset(std::string_view name);
// One-line human description of a preset.
std::string describe_preset(std::string_view name);

}  // namespace ltx2eff
