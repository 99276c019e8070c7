// The version is defined once, in pyproject.toml; CMakeLists.txt reads it and passes it in.
#pragma once

#if !defined(LTX2EFF_VERSION)
#error "LTX2EFF_VERSION comes from CMakeLists.txt (read from pyproject.toml)"
#endif

namespace ltx2eff {
inline constexpr const char* kVersion = LTX2EFF_VERSION;
}  // namespace ltx2eff
