// Errors raised by the core. Every message names the offending parameter and the allowed range,
// so the CLI, the Python bindings and the ComfyUI nodes can show it verbatim.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ltx2eff {

// A bad value supplied by the caller. Maps to ValueError in Python.
class InvalidArgument : public std::invalid_argument {
 public:
  InvalidArgument(std::string_view parameter, const std::string& message);
  [[nodiscard]] const std::string& parameter() const noexcept { return parameter_; }

 private:
  std::string parameter_;
};

// A valid request that this build or machine cannot serve (no CUDA, no NVML, ...).
class Unavailable : public std::runtime_error {
 public:
  explicit Unavailable(const std::string& message) : std::runtime_error(message) {}
};

[[noreturn]] void fail(std::string_view parameter, const std::string& message);

// Throws InvalidArgument("<parameter> must be in [lo, hi], got <value>") when out of range.
void require_in_range(std::string_view parameter, std::int64_t value, std::int64_t lo,
                      std::int64_t hi);
void require_in_range(std::string_view parameter, double value, double lo, double hi);
inline void require_in_range(std::string_view parameter, int value, int lo, int hi) {
  require_in_range(parameter, static_cast<std::int64_t>(value), static_cast<std::int64_t>(lo),
                   static_cast<std::int64_t>(hi));
}

}  // namespace ltx2eff
