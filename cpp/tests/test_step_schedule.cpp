#include <gtest/gtest.h>

#include <algorithm>

#include "ltx2eff/error.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/step_schedule.hpp"

namespace ltx2eff {
namespace {

Knobs windowed(double start, double end) {
  Knobs k;
  k.attention = WindowSpec{2, true, 0};
  k.window_start = start;
  k.window_end = end;
  return k;
}

TEST(StepSchedule, DefaultsAreTodaysBehaviour) {
  const StepSchedule dense = make_step_schedule(Knobs{}, 30);
  EXPECT_FALSE(dense.windowed());
  EXPECT_FALSE(dense.keyframed());
  for (const StepPlan& s : dense.per_step) {
    EXPECT_FALSE(s.window);
    EXPECT_FALSE(s.keyframes);
  }
  const StepSchedule w = make_step_schedule(windowed(0.0, 1.0), 30);
  EXPECT_EQ(w.windowed_steps(), 30);
  Knobs stride;
  stride.frame_stride = 2;
  stride.refine_steps = 3;
  stride.refine_strength = 0.35;
  const StepSchedule refine = make_step_schedule(stride, 20);
  EXPECT_EQ(refine.keyframe_begin, 0);
  EXPECT_EQ(refine.keyframe_end, 20);
  EXPECT_EQ(refine.refine_steps, 3);
  EXPECT_EQ(refine.expand_before(), 20);
}

TEST(StepSchedule, WindowRangeRoundsFractionsOfTheSteps) {
  for (int steps : {1, 7, 8, 20, 30, 50}) {
    for (double start : {0.0, 0.3, 0.5, 0.7}) {
      for (double end : {0.7, 0.9, 1.0}) {
        if (end < start) continue;
        const StepSchedule s = make_step_schedule(windowed(start, end), steps);
        int on = 0;
        for (int i = 0; i < steps; ++i) {
          const bool want = i >= step_at(start, steps) && i < step_at(end, steps);
          EXPECT_EQ(s.at(i).window, want) << steps << " " << start << " " << end << " " << i;
          on += want ? 1 : 0;
        }
        EXPECT_EQ(s.windowed_steps(), on);
      }
    }
  }
  EXPECT_EQ(make_step_schedule(windowed(0.3, 1.0), 30).window_begin, 9);
}

TEST(StepSchedule, BottleneckRunsKeyframesInTheMiddle) {
  Knobs k;
  k.frame_stride = 2;
  k.keyframe_mode = KeyframeMode::kBottleneck;
  k.keyframe_start = 0.2;
  k.keyframe_end = 0.8;
  const StepSchedule s = make_step_schedule(k, 20);
  EXPECT_EQ(s.restrict_before(), 4);
  EXPECT_EQ(s.expand_before(), 16);
  EXPECT_EQ(s.refine_steps, 0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.at(i).keyframes, i >= 4 && i < 16) << i;
  // An empty range strides nothing.
  k.keyframe_start = k.keyframe_end = 0.5;
  EXPECT_FALSE(make_step_schedule(k, 20).keyframed());
}

TEST(StepSchedule, DenseFirstAndLastBlocks) {
  Knobs k = windowed(0.0, 1.0);
  k.dense_first_blocks = 1;
  k.dense_last_blocks = 2;
  const StepSchedule s = make_step_schedule(k, 10);
  EXPECT_FALSE(s.block_windowed(0, 10));
  EXPECT_TRUE(s.block_windowed(1, 10));
  EXPECT_TRUE(s.block_windowed(7, 10));
  EXPECT_FALSE(s.block_windowed(8, 10));
  EXPECT_EQ(s.windowed_blocks(10), 7);
  EXPECT_EQ(s.windowed_blocks(2), 0);
  EXPECT_NE(s.summary(10).find("blocks 2-8 of 10"), std::string::npos) << s.summary(10);
}

TEST(StepSchedule, SummarySaysWhichStepsRanWhat) {
  Knobs k = windowed(0.5, 1.0);
  k.frame_stride = 2;
  k.keyframe_mode = KeyframeMode::kBottleneck;
  k.keyframe_start = 0.25;
  k.keyframe_end = 0.75;
  const std::string text = make_step_schedule(k, 20).summary(48);
  EXPECT_NE(text.find("window on steps 11-20 of 20"), std::string::npos) << text;
  EXPECT_NE(text.find("keyframes on steps 6-15 of 20 (bottleneck)"), std::string::npos) << text;
}

TEST(StepSchedule, RejectsBadRanges) {
  Knobs k;
  k.window_start = 0.8;
  k.window_end = 0.5;
  EXPECT_THROW((void)make_step_schedule(k, 10), InvalidArgument);
  k = Knobs{};
  k.window_start = -0.1;
  EXPECT_THROW(validate_knobs(k), InvalidArgument);
  k = Knobs{};
  k.keyframe_end = 1.5;
  EXPECT_THROW(validate_knobs(k), InvalidArgument);
  k = Knobs{};
  k.keyframe_start = 0.9;
  k.keyframe_end = 0.2;
  try {
    validate_knobs(k);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), "keyframe_end");
  }
  k = Knobs{};
  k.dense_first_blocks = -1;
  EXPECT_THROW(validate_knobs(k), InvalidArgument);
  EXPECT_THROW((void)make_step_schedule(Knobs{}, 0), InvalidArgument);
  EXPECT_THROW((void)parse_keyframe_mode("middle"), InvalidArgument);
  EXPECT_EQ(parse_keyframe_mode("bottleneck"), KeyframeMode::kBottleneck);
}

TEST(StepSchedule, ReuseForecastMatchesTheBoundAndSkipsTransitions) {
  for (int steps : {8, 20, 30}) {
    for (int cap : {1, 2, 3}) {
      const std::vector<bool> f = reuse_forecast(steps, 0.3, cap);
      EXPECT_EQ(static_cast<int>(std::count(f.begin(), f.end(), true)),
                max_reusable_steps(steps, 0.3, cap));
      EXPECT_FALSE(f.back());
    }
  }
  const std::vector<bool> f = reuse_forecast(20, 0.2, 8, {10});
  EXPECT_FALSE(f[10]);
  EXPECT_TRUE(f[11]);
}

TEST(StepSchedule, PlanSumsPerStepCosts) {
  const PixelShape pixels{1280, 704, 121, 24.0};
  SamplingSpec sampling;
  sampling.steps = 30;
  const GenerationPlan dense = make_plan(pixels, Knobs{}, sampling);
  EXPECT_NEAR(dense.predicted_speedup(), 1.0, 1e-12);

  const GenerationPlan all = make_plan(pixels, windowed(0.0, 1.0), sampling);
  const GenerationPlan late = make_plan(pixels, windowed(0.5, 1.0), sampling);
  EXPECT_GT(all.predicted_speedup(), late.predicted_speedup());
  EXPECT_GT(late.predicted_speedup(), 1.0);
  double sum = 0;
  for (const StepCost& c : late.step_costs) sum += c.seconds;
  EXPECT_NEAR(sum, late.keyframe_phase.seconds, 1e-9 * sum);
  // Half the steps windowed: the saving is half of the all-steps window's.
  const double saved_all = dense.plan_seconds() - all.plan_seconds();
  const double saved_late = dense.plan_seconds() - late.plan_seconds();
  EXPECT_NEAR(saved_late / saved_all, 0.5, 1e-9);

  Knobs blocks = windowed(0.0, 1.0);
  blocks.dense_first_blocks = 12;
  blocks.dense_last_blocks = 12;  // half of 48 blocks
  const GenerationPlan half = make_plan(pixels, blocks, sampling);
  EXPECT_NEAR((dense.plan_seconds() - half.plan_seconds()) / saved_all, 0.5, 1e-9);
}

TEST(StepSchedule, BottleneckCostsLessThanDenseAndMoreThanRefineMode) {
  const PixelShape pixels{1280, 704, 121, 24.0};
  SamplingSpec sampling;
  sampling.steps = 30;
  Knobs bottleneck;
  bottleneck.frame_stride = 2;
  bottleneck.keyframe_mode = KeyframeMode::kBottleneck;
  bottleneck.keyframe_start = 0.2;
  bottleneck.keyframe_end = 0.8;
  const GenerationPlan b = make_plan(pixels, bottleneck, sampling);
  int key_steps = 0;
  for (const StepCost& c : b.step_costs) key_steps += c.keyframes ? 1 : 0;
  EXPECT_EQ(key_steps, 18);
  EXPECT_GT(b.predicted_speedup(), 1.3);
  Knobs refine;
  refine.frame_stride = 2;
  const GenerationPlan r = make_plan(pixels, refine, sampling);
  EXPECT_GT(r.predicted_speedup(), b.predicted_speedup());
  // Reuse never lands on the transitions.
  bottleneck.reuse_start = 0.15;
  bottleneck.reuse_threshold = 0.1;
  bottleneck.max_consecutive_reuse = 8;
  const GenerationPlan br = make_plan(pixels, bottleneck, sampling);
  EXPECT_FALSE(br.step_costs[6].reused);
  EXPECT_FALSE(br.step_costs[24].reused);
  EXPECT_GT(br.reused_steps, 10);
}

TEST(StepSchedule, RegimeFollowsStepsAndGuidance) {
  EXPECT_EQ(regime_for(8, 1), Regime::kDistilled);
  EXPECT_EQ(regime_for(12, 1), Regime::kDistilled);
  EXPECT_EQ(regime_for(8, 2), Regime::kDev);
  EXPECT_EQ(regime_for(30, 1), Regime::kDev);
  SamplingSpec distilled;
  distilled.steps = 8;
  distilled.calls_per_step = 1;
  EXPECT_EQ(make_plan(PixelShape{1280, 704, 121, 24.0}, Knobs{}, distilled).regime,
            Regime::kDistilled);
  EXPECT_EQ(parse_regime("distilled"), Regime::kDistilled);
  EXPECT_THROW((void)parse_regime("turbo"), InvalidArgument);
  for (const std::string& name : preset_names()) {
    EXPECT_NO_THROW(validate_knobs(resolve_preset(name, Regime::kDistilled))) << name;
  }
}

}  // namespace
}  // namespace ltx2eff
