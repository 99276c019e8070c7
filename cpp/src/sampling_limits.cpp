#include "ltx2eff/sampling_limits.hpp"

#include "ltx2eff/error.hpp"

namespace ltx2eff {

const SamplingLimit& find_sampling_limit(std::string_view name) {
  for (const SamplingLimit& limit : kSamplingLimits) {
    if (limit.name == name) return limit;
  }
  // Built by appending: GCC 12's -Wrestrict misfires on `"literal" + std::string` at -O3.
  constexpr std::size_t kMaxShown = 80;
  std::string message = "has no parameter '";
  message.append(name.substr(0, kMaxShown)).append("'; known:");
  for (const SamplingLimit& limit : kSamplingLimits) message.append(" ").append(limit.name);
  fail("sampling", message);
}

void check_sampling(std::string_view name, std::int64_t value) {
  const SamplingLimit& limit = find_sampling_limit(name);
  require_in_range(limit.name, value, std::int64_t{limit.min}, std::int64_t{limit.max});
}

void reject_sampling(std::string_view name, const std::string& got) {
  const SamplingLimit& limit = find_sampling_limit(name);
  fail(limit.name, "must be an integer in [" + std::to_string(limit.min) + ", " +
                       std::to_string(limit.max) + "], got " + got);
}

}  // namespace ltx2eff
