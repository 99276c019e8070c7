// Small command-line parser: --name value, --name=value and boolean --flag / --no-flag.
// Unknown options and malformed numbers are errors that name the option.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ltx2eff::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `valued` options take a value, `flags` do not (each flag also accepts --no-<flag>).
  Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
       const std::set<std::string>& flags, bool allow_positional = false);

  [[nodiscard]] bool has(const std::string& name) const { return values_.count(name) > 0; }
  [[nodiscard]] std::optional<std::string> str(const std::string& name) const;
  // Out-of-range values (also beyond long long) are errors that give [lo, hi].
  [[nodiscard]] std::optional<long long> integer(
      const std::string& name, long long lo = std::numeric_limits<long long>::min(),
      long long hi = std::numeric_limits<long long>::max()) const;
  [[nodiscard]] std::optional<double> number(const std::string& name) const;
  [[nodiscard]] std::optional<bool> flag(const std::string& name) const;
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_;
};

// A plain decimal number: [+-]digits[.digits][e[+-]digits] (no blanks, hexadecimal, inf or nan).
bool is_decimal_number(const std::string& s);

// `text` broken into lines of at most `width` columns at spaces, every line after the first
// indented by `indent` spaces (the first is the caller's to place).
std::string wrap(const std::string& text, std::size_t indent, std::size_t width = 100);

}  // namespace ltx2eff::cli
