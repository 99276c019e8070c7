// `ltx2eff plan`: what a preset and knobs do to one LTX-2 request, and what it should cost.
// Every row of the knob table is an option (--<name> VALUE, its underscores also spelled as
// dashes); the option list, its help text and the checks of each value come from the rows.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/geometry.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/plan_report.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff::cli {
namespace {

constexpr const char* kDefaultPreset = "balanced";
constexpr std::size_t kHelpColumn = 24;  // where an option's description starts

// Option spellings from before the options followed the knob table's names; scripts use them.
constexpr std::pair<const char*, const char*> kLegacyKnobOptions[] = {
    {"stride", "frame_stride"},
    {"max-reuse", "max_consecutive_reuse"},
    {"budget-mb", "activation_budget_mb"},
};
// --anchor / --no-anchor: the one knob that was a bare switch.
constexpr const char* kAnchorSwitch = "anchor";

struct RequestOption {
  const char* name;
  const char* metavar;
  std::string help;
};

std::vector<RequestOption> request_options() {
  const std::string side =
      "a multiple of " + std::to_string(kSpatialFactor) + " up to " + std::to_string(kMaxPixelSide);
  return {
      {"width", "N", "pixel width, " + side + " (default 1280)"},
      {"height", "N", "pixel height, " + side + " (default 704)"},
      {"frames", "N",
       "pixel frames, 8k+1 up to " + std::to_string(kMaxPixelFrames) + " (default 121)"},
      {"fps", "X", "frame rate (default 24)"},
      {"steps", "N", "denoising steps, 1 to " + std::to_string(kMaxSteps) + " (default 30)"},
      {"calls-per-step", "N",
       "model calls per step: 1 distilled, 2 CFG, 3 CFG+STG; at most " +
           std::to_string(kMaxCallsPerStep) + " (default 2)"},
      {"batch", "N", "videos per call, 1 to " + std::to_string(kMaxBatch) + " (default 1)"},
      {"global-tokens", "N", "appended conditioning tokens (default 0)"},
      {"text-tokens", "N", "prompt tokens seen by cross-attention (default 1024)"},
  };
}

std::string dashed(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Every spelling of a knob option -> its row: the table's name and aliases (with underscores and
// with dashes) and the legacy spellings.
std::map<std::string, const KnobRow*> knob_options() {
  std::map<std::string, const KnobRow*> options;
  for (const KnobRow& row : knob_table()) {
    std::vector<std::string_view> names{row.name};
    names.insert(names.end(), row.aliases.begin(), row.aliases.end());
    for (std::string_view n : names) {
      options[std::string(n)] = &row;
      options[dashed(n)] = &row;
    }
  }
  for (const auto& [option, knob] : kLegacyKnobOptions) options[option] = &find_knob(knob);
  return options;
}

// The other spellings of a row's option, for its help text.
std::vector<std::string> other_spellings(const KnobRow& row) {
  std::vector<std::string> out;
  for (std::string_view alias : row.aliases) out.push_back("--" + dashed(alias));
  for (const auto& [option, knob] : kLegacyKnobOptions) {
    if (knob == row.name) out.push_back(std::string("--") + option);
  }
  if (row.name == "anchor_frame") {
    out.push_back(std::string("--") + kAnchorSwitch + "/--no-" + kAnchorSwitch);
  }
  return out;
}

std::string metavar(const KnobRow& row) {
  switch (row.type) {
    case KnobType::kInt:
      return "N";
    case KnobType::kFloat:
      return "X";
    case KnobType::kBool:
      return "true|false";
    case KnobType::kChoice: {
      std::string out;
      for (std::string_view c : row.choices) out.append(out.empty() ? "" : "|").append(c);
      return out;
    }
  }
  return "VALUE";
}

// "  --name META          description" with the description wrapped at kHelpColumn.
void option_line(std::ostream& os, const std::string& option, const std::string& description) {
  std::string head = "  " + option;
  if (head.size() + 2 > kHelpColumn) {
    os << head << "\n";
    head.clear();
  }
  head.resize(kHelpColumn, ' ');
  os << head << wrap(description, kHelpColumn) << "\n";
}

std::string knob_description(const KnobRow& row) {
  std::string text = std::string(row.help) + " Allowed: " + row.allowed();
  if (!row.unit.empty()) text += " (" + std::string(row.unit) + ")";
  text += ".";
  const std::vector<std::string> others = other_spellings(row);
  if (!others.empty()) {
    text += " Also";
    for (const std::string& o : others) text += " " + o;
    text += ".";
  }
  return text;
}

std::string plan_help() {
  std::ostringstream os;
  os << "usage: ltx2eff plan [options]\n\n"
     << wrap(
            "Shows what the efficient sampler would do for one LTX-2 request and what it should "
            "cost against the dense baseline (latent grid, tokens, frames diffused, attention "
            "window and pair fraction, FLOPs, predicted speedup, activation memory).",
            0)
     << "\n\nrequest:\n";
  for (const RequestOption& o : request_options()) {
    option_line(os, "--" + std::string(o.name) + " " + o.metavar, o.help);
  }
  std::string presets;
  for (const std::string& name : preset_names())
    presets.append(presets.empty() ? "" : " | ").append(name);
  os << "\nknobs (a preset first, then any override; underscores may be spelled as dashes):\n";
  option_line(os, "--preset NAME", presets + " (default " + kDefaultPreset + ")");
  for (const KnobRow& row : knob_table()) {
    option_line(os, "--" + dashed(row.name) + " " + metavar(row), knob_description(row));
  }
  os << "\noutput:\n";
  option_line(os, "--json", "machine-readable JSON instead of the table");
  option_line(os, "--help", "this text");
  return os.str();
}

// The text of a knob option, parsed and checked as its row says; the row's message otherwise.
void set_from_text(Knobs& knobs, const KnobRow& row, const std::string& text) {
  // Appended piece by piece: GCC 12's -Wrestrict misfires on `"literal" + std::string` at -O3.
  std::string quoted(1, '\'');
  quoted.append(text, 0, 80).append(text.size() > 80 ? "...'" : "'");
  switch (row.type) {
    case KnobType::kInt: {
      long long v = 0;
      const char* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, v);
      if (ptr != end || text.empty() || ec == std::errc::invalid_argument) row.reject(quoted);
      if (ec == std::errc::result_out_of_range || static_cast<double>(v) < row.min ||
          static_cast<double>(v) > row.max) {
        row.reject(text);
      }
      set_knob(knobs, row.name, static_cast<double>(v));
      return;
    }
    case KnobType::kFloat: {
      if (!is_decimal_number(text)) row.reject(quoted);
      const double v = std::strtod(text.c_str(), nullptr);
      if (!std::isfinite(v)) row.reject(text);
      set_knob(knobs, row.name, v);
      return;
    }
    case KnobType::kBool:
      if (text == "true" || text == "1") {
        set_knob(knobs, row.name, 1.0);
      } else if (text == "false" || text == "0") {
        set_knob(knobs, row.name, 0.0);
      } else {
        row.reject(quoted);
      }
      return;
    case KnobType::kChoice:
      set_knob_choice(knobs, row.name, text);
      return;
  }
}

// The preset's knobs with every knob option given applied; a knob named twice (by two
// spellings) is an error rather than a silent choice between them.
Knobs knobs_from(const Args& args, const std::map<std::string, const KnobRow*>& options) {
  const std::string preset = args.str("preset").value_or(kDefaultPreset);
  Knobs knobs = resolve_preset(preset);
  std::map<const KnobRow*, std::string> given;
  auto note = [&given](const KnobRow& row, const std::string& option) {
    const auto [it, fresh] = given.emplace(&row, option);
    if (!fresh) {
      throw UsageError(std::string(row.name) + " is given twice (--" + it->second + " and --" +
                       option + ")");
    }
  };
  if (const auto anchor = args.flag(kAnchorSwitch)) {
    const KnobRow& row = find_knob("anchor_frame");
    note(row, *anchor ? kAnchorSwitch : std::string("no-") + kAnchorSwitch);
    set_knob(knobs, row.name, *anchor ? 1.0 : 0.0);
  }
  for (const auto& [option, row] : options) {
    if (const auto text = args.str(option)) {
      note(*row, option);
      set_from_text(knobs, *row, *text);
    }
  }
  return knobs;
}

}  // namespace

int run_plan(const std::vector<std::string>& argv) {
  const std::map<std::string, const KnobRow*> options = knob_options();
  std::set<std::string> valued{"preset"};
  for (const RequestOption& o : request_options()) valued.insert(o.name);
  for (const auto& [option, row] : options) valued.insert(option);
  const Args args(argv, valued, {"json", "help", kAnchorSwitch});
  if (args.flag("help").value_or(false)) {
    std::cout << plan_help();
    return 0;
  }
  auto as_int = [&](const char* name, long long fallback) {
    // The int range here; each value's own range is checked where the plan is made.
    return static_cast<int>(
        args.integer(name, std::numeric_limits<int>::min(), std::numeric_limits<int>::max())
            .value_or(fallback));
  };

  PixelShape pixels{as_int("width", 1280), as_int("height", 704), as_int("frames", 121),
                    args.number("fps").value_or(24.0)};
  const std::string preset = args.str("preset").value_or(kDefaultPreset);
  const Knobs knobs = knobs_from(args, options);

  SamplingSpec sampling;
  sampling.steps = as_int("steps", 30);
  sampling.calls_per_step = as_int("calls-per-step", 2);
  sampling.batch = as_int("batch", 1);
  sampling.global_tokens = as_int("global-tokens", 0);
  ModelDims dims;
  dims.text_tokens = as_int("text-tokens", dims.text_tokens);

  const GenerationPlan plan = make_plan(pixels, knobs, sampling, dims);
  if (args.flag("json").value_or(false)) {
    std::cout << plan_to_json(plan, preset) << "\n";
  } else {
    std::cout << plan_to_text(plan, preset);
  }
  return 0;
}

}  // namespace ltx2eff::cli
