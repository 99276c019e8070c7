// The bounds of a sampling request (steps, model calls per step, batch, appended tokens). Every
// check of these values in the core, the bindings and the hosts reads them here, so the allowed
// range and its message are the same wherever a request is checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ltx2eff {

inline constexpr int kMaxSteps = 10000;
inline constexpr int kMaxCallsPerStep = 8;  // 1 = no guidance, 2 = CFG, 3 = CFG + STG, ...
inline constexpr int kMaxBatch = 4096;
// Appended conditioning tokens are at most a few full frames; a million is far beyond any use.
inline constexpr int kMaxGlobalTokens = 1 << 20;

struct SamplingLimit {
  std::string_view name;  // "steps", "calls_per_step", "batch", "global_tokens"
  int min = 0;
  int max = 0;
};

inline constexpr SamplingLimit kSamplingLimits[] = {
    {"steps", 1, kMaxSteps},
    {"calls_per_step", 1, kMaxCallsPerStep},
    {"batch", 1, kMaxBatch},
    {"global_tokens", 0, kMaxGlobalTokens},
};

// The limit of a sampling parameter by name; throws InvalidArgument naming the known ones.
const SamplingLimit& find_sampling_limit(std::string_view name);

// Throws InvalidArgument "<name> must be in [min, max], got <value>" unless in range.
void check_sampling(std::string_view name, std::int64_t value);
// Throws InvalidArgument "<name> must be an integer in [min, max], got <got>": for a value that
// is no integer at all (a host's text, a float, a number beyond 64 bits).
[[noreturn]] void reject_sampling(std::string_view name, const std::string& got);

}  // namespace ltx2eff
