#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "ltx2eff/error.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/reuse_policy.hpp"

namespace ltx2eff {
namespace {

// Drives a policy over a synthetic run: the input changes by input_change(step) per step and the
// output by rate * input change; returns the decisions.
template <class InputChange>
std::vector<ReuseDecision> run(ReusePolicy& policy, InputChange input_change, double rate) {
  std::vector<ReuseDecision> decisions;
  double since_computed = 0.0;
  bool have_computed = false;
  for (int step = 0; step < policy.config().steps; ++step) {
    const double change = step == 0 ? 0.0 : input_change(step);
    since_computed += change;
    const ReuseDecision d = policy.decide(step, change);
    if (!d.reuse) {
      if (have_computed) policy.record_computed(since_computed, rate * since_computed);
      have_computed = true;
      since_computed = 0.0;
    }
    decisions.push_back(d);
  }
  return decisions;
}

TEST(ReusePolicy, NeverReusesOutsideWindowOrOverCap) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> small(0.0, 0.004);
  for (int steps : {8, 20, 30, 47}) {
    for (double start : {0.0, 0.1, 0.3, 0.6}) {
      for (int cap : {1, 2, 3, 8}) {
        ReusePolicy policy({steps, start, 0.5, cap});
        const auto decisions = run(
            policy, [&](int) { return small(rng); }, 1.3);
        const int first = static_cast<int>(std::ceil(std::max(start, 0.15) * steps));
        EXPECT_EQ(policy.first_reusable_step(), first);
        int run_length = 0;
        for (int s = 0; s < steps; ++s) {
          const ReuseDecision& d = decisions[static_cast<std::size_t>(s)];
          if (s < first || s == steps - 1) {
            EXPECT_FALSE(d.reuse) << "step " << s;
          }
          run_length = d.reuse ? run_length + 1 : 0;
          EXPECT_LE(run_length, cap);
        }
        EXPECT_FALSE(decisions.back().reuse);
        // Slow changes and a generous threshold: exactly the upper bound the plan promises.
        EXPECT_EQ(policy.stats().reused, max_reusable_steps(steps, start, cap))
            << "steps=" << steps << " start=" << start << " cap=" << cap;
        EXPECT_EQ(policy.stats().computed + policy.stats().reused, steps);
      }
    }
  }
}

TEST(ReusePolicy, ReusesOnSlowlyChangingSequence) {
  ReusePolicy policy({30, 0.2, 0.05, 3});
  const auto decisions = run(
      policy, [](int) { return 0.01; }, 1.0);
  EXPECT_GT(policy.stats().reused, 8);
  // Each reuse accumulates 0.01; a fourth in a row would still fit the threshold, so the cap
  // is what stops the runs.
  EXPECT_GT(policy.stats().by_reason[static_cast<int>(ReuseReason::kConsecutiveCap)], 0);
  EXPECT_NEAR(policy.transformation_rate(), 1.0, 1e-12);
  for (const ReuseDecision& d : decisions) {
    if (d.reuse) {
      EXPECT_NEAR(d.predicted_change, 0.01, 1e-12);
      EXPECT_LT(d.accumulated, 0.05);
    }
  }
}

TEST(ReusePolicy, ThresholdBoundsTheAccumulatedChange) {
  // Input change 0.02 per step at rate 1.5 predicts 0.03 per step: one reuse fits under 0.05,
  // the second would reach 0.06.
  ReusePolicy policy({40, 0.0, 0.05, 8});
  const auto decisions = run(
      policy, [](int) { return 0.02; }, 1.5);
  int longest = 0;
  int current = 0;
  for (const ReuseDecision& d : decisions) {
    current = d.reuse ? current + 1 : 0;
    longest = std::max(longest, current);
    if (d.reuse) {
      EXPECT_LT(d.accumulated, 0.05);
    }
  }
  EXPECT_EQ(longest, 1);
  EXPECT_GT(policy.stats().by_reason[static_cast<int>(ReuseReason::kThreshold)], 0);
}

TEST(ReusePolicy, RecomputesOnJump) {
  ReusePolicy policy({30, 0.2, 0.05, 8});
  const int jump_step = 12;  // six reuses in (steps 6..11), well under the cap of 8
  const auto decisions = run(
      policy, [&](int step) { return step == jump_step ? 0.5 : 0.005; }, 1.0);
  EXPECT_TRUE(decisions[static_cast<std::size_t>(jump_step - 1)].reuse);
  const ReuseDecision& at_jump = decisions[static_cast<std::size_t>(jump_step)];
  EXPECT_FALSE(at_jump.reuse);
  EXPECT_EQ(at_jump.reason, ReuseReason::kThreshold);
  EXPECT_NEAR(at_jump.predicted_change, 0.5, 1e-12);
}

TEST(ReusePolicy, NeedsAMeasuredRate) {
  // reuse_start 0 with 4 steps: only step 0 is warm-up, so step 1 has no rate yet.
  ReusePolicy policy({4, 0.0, 1.0, 2});
  EXPECT_EQ(policy.first_reusable_step(), 1);
  EXPECT_FALSE(policy.decide(0, 0.0).reuse);
  const ReuseDecision d = policy.decide(1, 0.01);
  EXPECT_FALSE(d.reuse);
  EXPECT_EQ(d.reason, ReuseReason::kNotCalibrated);
  policy.record_computed(0.01, 0.02);
  EXPECT_NEAR(policy.transformation_rate(), 2.0, 1e-12);
  EXPECT_TRUE(policy.decide(2, 0.01).reuse);
  EXPECT_EQ(policy.decide(3, 0.01).reason, ReuseReason::kLastStep);
}

TEST(ReusePolicy, DisabledComputesEverything) {
  for (const ReusePolicyConfig& config :
       {ReusePolicyConfig{12, 1.0, 0.5, 2}, ReusePolicyConfig{12, 0.2, 0.5, 0},
        ReusePolicyConfig{12, 0.2, 0.0, 2}}) {
    ReusePolicy policy(config);
    EXPECT_FALSE(policy.enabled());
    run(
        policy, [](int) { return 0.0001; }, 1.0);
    EXPECT_EQ(policy.stats().reused, 0);
    EXPECT_EQ(policy.stats().by_reason[static_cast<int>(ReuseReason::kDisabled)], 12);
  }
}

TEST(ReusePolicy, ResetStartsOver) {
  ReusePolicy policy({10, 0.0, 1.0, 2});
  run(
      policy, [](int) { return 0.001; }, 1.0);
  EXPECT_GT(policy.stats().reused, 0);
  policy.reset();
  EXPECT_EQ(policy.stats().reused, 0);
  EXPECT_LT(policy.transformation_rate(), 0.0);
  EXPECT_NO_THROW(policy.decide(0, 0.0));
}

TEST(ReusePolicy, BadInputThrows) {
  EXPECT_THROW(ReusePolicy({0, 0.2, 0.1, 2}), InvalidArgument);
  EXPECT_THROW(ReusePolicy({10, 1.5, 0.1, 2}), InvalidArgument);
  EXPECT_THROW(ReusePolicy({10, 0.2, -0.1, 2}), InvalidArgument);
  EXPECT_THROW(ReusePolicy({10, 0.2, 0.1, 99}), InvalidArgument);
  try {
    ReusePolicy({10, 0.2, 0.1, -1});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), "max_consecutive_reuse");
  }
  ReusePolicy policy({10, 0.0, 0.1, 2});
  policy.decide(0, 0.0);
  EXPECT_THROW(policy.decide(0, 0.0), InvalidArgument);   // decided twice
  EXPECT_THROW(policy.decide(10, 0.0), InvalidArgument);  // past the end
  policy.decide(1, 0.0);
  policy.record_computed(0.1, 0.1);
  EXPECT_THROW(policy.decide(2, std::numeric_limits<double>::quiet_NaN()), InvalidArgument);
  EXPECT_THROW(policy.record_computed(-1.0, 0.1), InvalidArgument);
  EXPECT_THROW(policy.record_computed(0.1, std::numeric_limits<double>::infinity()),
               InvalidArgument);
}

TEST(ReusePolicy, ComputedInsteadCountsTheStepComputedAndRestartsTheRun) {
  ReusePolicy policy({12, 0.2, 1.0, 2});
  // Steps 0-2 are warm-up (ceil(0.2 * 12) = 3); calibrate on them.
  for (int step = 0; step < 3; ++step) {
    policy.decide(step, 0.01);
    policy.record_computed(0.01, 0.01);
  }
  ASSERT_TRUE(policy.decide(3, 0.01).reuse);
  EXPECT_EQ(policy.stats().longest_reuse_run, 1);
  policy.computed_instead();
  EXPECT_EQ(policy.stats().reused, 0);
  EXPECT_EQ(policy.stats().computed, 4);
  EXPECT_EQ(policy.stats().longest_reuse_run, 0);
  EXPECT_EQ(policy.stats().by_reason[static_cast<int>(ReuseReason::kNoCachedOutput)], 1);
  EXPECT_EQ(policy.stats().by_reason[static_cast<int>(ReuseReason::kReused)], 0);
  // The run starts again: two reuses in a row are allowed after the computed step.
  EXPECT_TRUE(policy.decide(4, 0.01).reuse);
  EXPECT_TRUE(policy.decide(5, 0.01).reuse);
  EXPECT_FALSE(policy.decide(6, 0.01).reuse);
  // Undoing a computed decision, or twice, is an error naming the call.
  try {
    policy.computed_instead();
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("computed_instead"), std::string::npos);
  }
}

}  // namespace
}  // namespace ltx2eff
