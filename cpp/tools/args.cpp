#include "args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace ltx2eff::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags, bool allow_positional) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      if (!allow_positional && i + 1 < argv.size()) {
        throw UsageError("unexpected argument '" + argv[i + 1] +
                         "' after '--' (this command takes only options)");
      }
      for (++i; i < argv.size(); ++i) positional_.push_back(argv[i]);
      break;
    }
    if (a.rfind("--", 0) != 0) {
      if (!allow_positional) throw UsageError("unexpected argument '" + a + "'");
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (valued.count(name)) {
      if (inline_value) {
        values_[name] = *inline_value;
      } else if (i + 1 < argv.size()) {
        values_[name] = argv[++i];
      } else {
        throw UsageError("--" + name + " needs a value");
      }
    } else if (flags.count(name) && !inline_value) {
      flags_[name] = true;
    } else if (name.rfind("no-", 0) == 0 && flags.count(name.substr(3)) && !inline_value) {
      flags_[name.substr(3)] = false;
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::optional<std::string> Args::str(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<long long> Args::integer(const std::string& name, long long lo, long long hi) const {
  auto s = str(name);
  if (!s) return std::nullopt;
  long long v = 0;
  const char* end = s->data() + s->size();
  auto [ptr, ec] = std::from_chars(s->data(), end, v);
  const bool digits = ptr == end && !s->empty();
  if (ec == std::errc::result_out_of_range && digits) v = (*s)[0] == '-' ? lo - 1 : hi + 1;
  if (ec == std::errc::invalid_argument || !digits) {
    throw UsageError("--" + name + " expects an integer, got '" + *s + "'");
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    throw UsageError("--" + name + " must be in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got " + *s);
  }
  return v;
}

// strtod alone would also take leading blanks, hexadecimal, "inf" and "nan".
bool is_decimal_number(const std::string& s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t mantissa = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
  std::string out;
  std::size_t column = indent;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t end = std::min(text.find(' ', i), text.size());
    const std::size_t length = end - i;
    if (column > indent && column + 1 + length > width) {
      out.append(1, '\n').append(indent, ' ');  // append: GCC 12 -Wrestrict misfires on "\n" + str
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out.append(text, i, length);
    column += length;
    i = end + 1;
  }
  return out;
}

std::optional<double> Args::number(const std::string& name) const {
  auto s = str(name);
  if (!s) return std::nullopt;
  if (!is_decimal_number(*s)) {
    throw UsageError("--" + name + " expects a decimal number, got '" + *s + "'");
  }
  const double v = std::strtod(s->c_str(), nullptr);
  if (!std::isfinite(v)) {
    throw UsageError("--" + name + " is out of range (beyond the largest finite number), got " +
                     *s);
  }
  return v;
}

std::optional<bool> Args::flag(const std::string& name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ltx2eff::cli
