#include "args.hpp"

#include <charconv>
#include <cmath>

namespace ltx2eff::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags, bool allow_positional) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
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

std::optional<long long> Args::integer(const std::string& name) const {
  auto s = str(name);
  if (!s) return std::nullopt;
  long long v = 0;
  const char* end = s->data() + s->size();
  auto [ptr, ec] = std::from_chars(s->data(), end, v);
  if (ec != std::errc() || ptr != end || s->empty()) {
    throw UsageError("--" + name + " expects an integer, got '" + *s + "'");
  }
  return v;
}

std::optional<double> Args::number(const std::string& name) const {
  auto s = str(name);
  if (!s) return std::nullopt;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(*s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s->size() || s->empty() || !std::isfinite(v)) {
    throw UsageError("--" + name + " expects a number, got '" + *s + "'");
  }
  return v;
}

std::optional<bool> Args::flag(const std::string& name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ltx2eff::cli
