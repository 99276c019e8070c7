#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "ltx2eff/error.hpp"
#include "ltx2eff/knobs.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff {
namespace {

std::string message_of(auto&& call) {
  try {
    call();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

TEST(KnobTable, RowsAreWellFormed) {
  const auto presets = preset_names();
  const std::set<std::string> preset_set(presets.begin(), presets.end());
  std::set<std::string> names;
  for (const KnobRow& row : knob_table()) {
    SCOPED_TRACE(std::string(row.name));
    EXPECT_TRUE(names.insert(std::string(row.name)).second) << "duplicate name";
    for (std::string_view alias : row.aliases) {
      EXPECT_TRUE(names.insert(std::string(alias)).second) << "duplicate alias " << alias;
    }
    EXPECT_FALSE(row.help.empty());
    ASSERT_NE(row.get, nullptr);
    ASSERT_NE(row.set, nullptr);
    if (row.type == KnobType::kChoice) {
      EXPECT_GE(row.choices.size(), 2u);
    } else {
      EXPECT_TRUE(row.choices.empty());
    }
    if (row.type == KnobType::kInt || row.type == KnobType::kFloat) {
      EXPECT_LT(row.min, row.max);
      EXPECT_GT(row.step, 0);
    }
    for (const PresetSetting& s : row.presets) {
      // "<preset>" or "<preset>/<regime>" (a regime's own value).
      const std::string key(s.preset);
      const std::size_t slash = key.find('/');
      EXPECT_TRUE(preset_set.count(key.substr(0, slash))) << "unknown preset " << s.preset;
      if (slash != std::string::npos) {
        EXPECT_EQ(preset_key(key.substr(0, slash), Regime::kDistilled), key)
            << "unknown regime in " << s.preset;
      }
    }
  }
}

TEST(KnobTable, PresetsTakeTheirValuesFromTheRows) {
  for (const std::string& preset : preset_names()) {
    const Knobs k = resolve_preset(preset);
    for (const KnobRow& row : knob_table()) {
      const KnobValue& want = row.preset_value(preset);
      const double expected =
          row.type == KnobType::kChoice ? row.choice_index(want.choice) : want.number;
      EXPECT_EQ(row.get(k), expected) << preset << " " << row.name;
    }
  }
  EXPECT_EQ(resolve_preset("laptop").activation_budget_mb, 2048);
  EXPECT_TRUE(resolve_preset("laptop").thermal_guard);
  EXPECT_EQ(resolve_preset("balanced").interpolation, Interpolation::kMotion);
  // A regime's own value where a row has one, else the preset's.
  EXPECT_EQ(resolve_preset("balanced", Regime::kDistilled).max_consecutive_reuse, 1);
  EXPECT_EQ(resolve_preset("balanced", Regime::kDistilled).reuse_start,
            resolve_preset("balanced").reuse_start);
  EXPECT_EQ(resolve_preset("fast", Regime::kDistilled).reuse_threshold, 0.2);
}

TEST(KnobTable, SetAndValidateUseTheRowsMessages) {
  Knobs k;
  set_knob(k, "attention_window", 3);  // an alias
  EXPECT_EQ(k.attention.window, 3);
  set_knob_choice(k, "precision", "bf16");
  EXPECT_EQ(k.precision, Precision::kBf16);
  EXPECT_EQ(message_of([&] { set_knob(k, "window", 2147483648.0); }),
            "window must be an integer in [-1, 256], got 2147483648");
  EXPECT_EQ(message_of([&] { set_knob(k, "frame_stride", 2.5); }),
            "frame_stride must be an integer in [1, 16], got 2.5");
  EXPECT_EQ(message_of([&] { set_knob(k, "reuse_threshold", 1e20); }),
            "reuse_threshold must be a number in [0, 10], got 1e+20");
  EXPECT_EQ(message_of([&] { set_knob(k, "reuse_start", std::nan("")); }),
            "reuse_start must be a number in [0, 1], got nan");
  EXPECT_EQ(message_of([&] { set_knob_choice(k, "interpolation", "cubic"); }),
            "interpolation must be one of lerp slerp motion upsampler, got 'cubic'");
  EXPECT_EQ(message_of([&] { set_knob(k, "interpolation", 1); }),
            "interpolation must be one of lerp slerp motion upsampler, got 1");
  EXPECT_EQ(message_of([&] { set_knob(k, "thermal_guard", 2); }),
            "thermal_guard must be true or false, got 2");
  EXPECT_EQ(message_of([&] { (void)find_knob("colour"); }).rfind("knob 'colour' is not a knob", 0),
            0u);
  k = Knobs{};
  k.activation_budget_mb = -1;
  EXPECT_EQ(message_of([&] { validate_knobs(k); }),
            "activation_budget_mb must be an integer in [0, 1048576], got -1");
}

TEST(KnobTable, WindowAndFarFieldChecksAreTheTables) {
  EXPECT_EQ(message_of([] {
              validate_window_spec(WindowSpec{-7, false, 0});
            }),
            "window must be an integer in [-1, 256], got -7");
  EXPECT_EQ(message_of([] {
              validate_window_spec(WindowSpec{1, false, 17});
            }),
            "far_field must be an integer in [0, 16], got 17");
}

}  // namespace
}  // namespace ltx2eff
