#pragma once

namespace ltx2eff {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace ltx2eff
