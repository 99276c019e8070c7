#include "ltx2eff/error.hpp"

#include <sstream>

namespace ltx2eff {

InvalidArgument::InvalidArgument(std::string_view parameter, const std::string& message)
    : std::invalid_argument(message), parameter_(parameter) {}

void fail(std::string_view parameter, const std::string& message) {
  throw InvalidArgument(parameter, std::string(parameter) + " " + message);
}

void require_in_range(std::string_view parameter, std::int64_t value, std::int64_t lo,
                      std::int64_t hi) {
  if (value < lo || value > hi) {
    std::ostringstream os;
    os << "must be in [" << lo << ", " << hi << "], got " << value;
    fail(parameter, os.str());
  }
}

void require_in_range(std::string_view parameter, double value, double lo, double hi) {
  // Written so that NaN fails too.
  if (!(value >= lo && value <= hi)) {
    std::ostringstream os;
    os << "must be in [" << lo << ", " << hi << "], got " << value;
    fail(parameter, os.str());
  }
}

}  // namespace ltx2eff
