#include <gtest/gtest.h>

#include <string>

#include "ltx2eff/error.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/plan_report.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff {
namespace {

TEST(Presets, AllNamedPresetsResolveAndValidate) {
  const auto names = preset_names();
  ASSERT_EQ(names.size(), 5u);
  for (const std::string& name : names) {
    const Knobs k = resolve_preset(name);
    EXPECT_NO_THROW(validate_knobs(k)) << name;
    EXPECT_FALSE(describe_preset(name).empty());
  }
  const Knobs off = resolve_preset("off");
  EXPECT_EQ(off.frame_stride, 1);
  EXPECT_EQ(off.attention.window, kWindowOff);
  EXPECT_FALSE(off.reuse_enabled());
  EXPECT_THROW((void)resolve_preset("turbo"), InvalidArgument);
}

TEST(Presets, LadderDoesLessWork) {
  // Each faster preset must do less predicted work at every reference size.
  const PixelShape sizes[] = {{896, 512, 97, 24}, {1280, 704, 121, 24}, {1920, 1088, 121, 24}};
  for (const PixelShape& px : sizes) {
    double previous = 0;
    for (const char* name : {"off", "quality", "balanced", "fast"}) {
      const GenerationPlan p = make_plan(px, resolve_preset(name));
      EXPECT_GT(p.flops_ratio(), previous) << name << " at " << px.width;
      previous = p.flops_ratio();
    }
  }
}

TEST(Presets, ParseNames) {
  EXPECT_EQ(parse_interpolation("slerp"), Interpolation::kSlerp);
  EXPECT_EQ(parse_precision("fp8-far-field"), Precision::kFp8FarField);
  EXPECT_THROW((void)parse_interpolation("cubic"), InvalidArgument);
  EXPECT_THROW((void)parse_precision("int4"), InvalidArgument);
}

TEST(Knobs, ValidationNamesParameter) {
  Knobs k;
  k.reuse_start = 1.5;
  try {
    validate_knobs(k);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), "reuse_start");
    EXPECT_STREQ(e.what(), "reuse_start must be a number in [0, 1], got 1.5");
  }
  k = Knobs{};
  k.frame_stride = 2;
  k.refine_steps = 3;
  k.refine_strength = 0.0;
  EXPECT_THROW(validate_knobs(k), InvalidArgument);
}

TEST(Plan, MaxReusableSteps) {
  EXPECT_EQ(max_reusable_steps(30, 1.0, 3), 0);
  EXPECT_EQ(max_reusable_steps(30, 0.5, 0), 0);
  // Start at step 15, last step computed: steps 15..28 eligible (14), pattern RC: 7 reused.
  EXPECT_EQ(max_reusable_steps(30, 0.5, 1), 7);
  // reuse_start below 15% is clamped: first = ceil(0.15 * 20) = 3; eligible 16; cap 3 -> 12.
  EXPECT_EQ(max_reusable_steps(20, 0.0, 3), 12);
  EXPECT_EQ(max_reusable_steps(8, 0.3, 2), 3);  // steps 3..6 eligible: R R C R
}

TEST(Plan, OffPresetIsTheBaseline) {
  const GenerationPlan p = make_plan({1280, 704, 121, 24}, resolve_preset("off"));
  EXPECT_DOUBLE_EQ(p.flops_ratio(), 1.0);
  EXPECT_DOUBLE_EQ(p.predicted_speedup(), 1.0);
  EXPECT_EQ(p.keyframe_phase.calls, 60);
  EXPECT_EQ(p.refine_phase.calls, 0);
  EXPECT_EQ(p.keyframes.diffused_frames(), 16);
}

Knobs keyframe_knobs() {
  Knobs k;
  k.frame_stride = 2;
  k.attention = WindowSpec{2, true, 4};
  k.refine_steps = 3;
  k.refine_strength = 0.35;
  return k;
}

TEST(Plan, KeyframesAndWindowAtReferenceSize) {
  const GenerationPlan p = make_plan({1280, 704, 121, 24}, keyframe_knobs());
  EXPECT_EQ(p.latent.tokens(), 14080);
  EXPECT_EQ(p.keyframes.diffused_frames(), 9);
  EXPECT_EQ(p.keyframe_latent.tokens(), 9 * 880);
  EXPECT_EQ(p.refine_phase.steps, 3);
  EXPECT_EQ(p.keyframe_phase.calls + p.refine_phase.calls, 66);
  EXPECT_GT(p.predicted_speedup(), 1.3);
  const std::string json = plan_to_json(p, "custom");
  EXPECT_NE(json.find("\"predicted_speedup\":"), std::string::npos);
  EXPECT_NE(json.find("\"tokens\":14080"), std::string::npos);
  const std::string text = plan_to_text(p, "custom");
  EXPECT_NE(text.find("14,080 per call"), std::string::npos);
  EXPECT_NE(text.find("9 of 16 latent frames (65 of 121 pixel frames)"), std::string::npos);
  EXPECT_NE(p.summary().find("9 of 16 latent frames diffused"), std::string::npos);
}

TEST(Plan, MeasuredReuseReplacesTheBound) {
  Knobs k;
  k.reuse_start = 0.2;
  k.reuse_threshold = 0.1;
  k.max_consecutive_reuse = 2;
  const PixelShape px{1280, 704, 121, 24};
  const GenerationPlan forecast = make_plan(px, k);
  EXPECT_GT(forecast.max_reused_steps, 0);
  EXPECT_EQ(forecast.reused_steps, forecast.max_reused_steps);
  SamplingSpec none;
  none.reused_steps = 0;
  const GenerationPlan measured = make_plan(px, k, none);
  EXPECT_EQ(measured.reused_steps, 0);
  EXPECT_EQ(measured.keyframe_phase.calls, 60);
  EXPECT_DOUBLE_EQ(measured.predicted_speedup(), 1.0);
  EXPECT_NE(measured.summary().find("0/30 steps reused"), std::string::npos);
  SamplingSpec too_many;
  too_many.reused_steps = 30;
  EXPECT_THROW((void)make_plan(px, k, too_many), InvalidArgument);
}

TEST(Report, Formatting) {
  EXPECT_EQ(group_thousands(5824), "5,824");
  EXPECT_EQ(group_thousands(32640), "32,640");
  EXPECT_EQ(group_thousands(999), "999");
  EXPECT_EQ(group_thousands(-1234567), "-1,234,567");
  EXPECT_EQ(format_bytes(1536.0 * 1024 * 1024), "1.50 GiB");
  EXPECT_EQ(format_flops(2.5e12), "2.50 TFLOP");
}

TEST(Plan, WindowedHeadShareBlendsTheWindowedCall) {
  // Head-wise windows: a measured share of the heads windows, the rest attend densely.
  const PixelShape px{1280, 704, 121, 24};
  Knobs k;
  k.attention.window = 1;
  k.window_head_recall = 0.6;
  SamplingSpec s;
  const double forecast = make_plan(px, k, s).predicted_speedup();
  s.windowed_head_share = 1.0;
  EXPECT_DOUBLE_EQ(make_plan(px, k, s).predicted_speedup(), forecast);
  s.windowed_head_share = 0.0;
  EXPECT_NEAR(make_plan(px, k, s).predicted_speedup(), 1.0, 1e-9);
  s.windowed_head_share = 0.5;
  const double half = make_plan(px, k, s).predicted_speedup();
  EXPECT_GT(half, 1.0);
  EXPECT_LT(half, forecast);
  EXPECT_NE(make_plan(px, k, s).summary().find("50% of the heads windowed"), std::string::npos);
  s.windowed_head_share = 1.5;
  try {
    (void)make_plan(px, k, s);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), "windowed_head_share");
  }
}

}  // namespace
}  // namespace ltx2eff
