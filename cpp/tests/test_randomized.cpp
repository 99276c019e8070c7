// Randomized drivers kept from the fault audit, bounded to a few seconds: the planner on random
// requests and knobs (either a named InvalidArgument or a plan whose numbers hold together), and
// the CPU attention kernel on random layouts against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "attention_reference.hpp"
#include "ltx2eff/attention.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/presets.hpp"

namespace ltx2eff {
namespace {

constexpr unsigned kSeed = 20260;

int pick(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}
double uniform(std::mt19937& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
bool coin(std::mt19937& rng, double p = 0.5) {
  return std::bernoulli_distribution(p)(rng);
}

// Mostly valid requests, with an edge or an out-of-range value now and then.
PixelShape random_pixels(std::mt19937& rng) {
  PixelShape p;
  p.width = coin(rng, 0.9) ? 32 * pick(rng, 1, 60) : pick(rng, -64, 9000);
  p.height = coin(rng, 0.9) ? 32 * pick(rng, 1, 34) : pick(rng, -64, 9000);
  p.frames = coin(rng, 0.9) ? 8 * pick(rng, 0, 32) + 1 : pick(rng, -8, 300);
  p.fps = coin(rng, 0.95) ? uniform(rng, 1.0, 60.0) : uniform(rng, -10.0, 1000.0);
  return p;
}

Knobs random_knobs(std::mt19937& rng) {
  const std::vector<std::string> presets = preset_names();
  Knobs k = resolve_preset(
      presets[static_cast<std::size_t>(pick(rng, 0, static_cast<int>(presets.size()) - 1))]);
  if (coin(rng)) k.frame_stride = pick(rng, 0, 17);
  if (coin(rng)) k.attention.window = coin(rng, 0.1) ? kWindowOff : pick(rng, -2, 20);
  if (coin(rng)) k.attention.anchor_frame = coin(rng);
  if (coin(rng)) k.attention.far_field = pick(rng, -1, 17);
  if (coin(rng)) k.reuse_start = uniform(rng, -0.1, 1.1);
  if (coin(rng)) k.reuse_threshold = uniform(rng, -0.1, 2.0);
  if (coin(rng)) k.max_consecutive_reuse = pick(rng, -1, 9);
  if (coin(rng)) k.refine_steps = pick(rng, -1, 51);
  if (coin(rng)) k.refine_strength = uniform(rng, -0.1, 1.1);
  if (coin(rng)) k.activation_budget_mb = coin(rng) ? 0 : pick(rng, -1, 1 << 14);
  return k;
}

SamplingSpec random_sampling(std::mt19937& rng) {
  SamplingSpec s;
  s.steps = pick(rng, 0, 60);
  s.calls_per_step = pick(rng, 0, 4);
  s.batch = pick(rng, 1, 4);
  s.global_tokens = coin(rng, 0.8) ? 0 : pick(rng, -1, 512);
  s.reused_steps = coin(rng, 0.8) ? -1 : pick(rng, -2, 60);
  return s;
}

void expect_plan_holds_together(const GenerationPlan& p, const std::string& what) {
  EXPECT_TRUE(std::isfinite(p.plan_seconds()) && p.plan_seconds() > 0) << what;
  EXPECT_TRUE(std::isfinite(p.dense.seconds) && p.dense.seconds > 0) << what;
  EXPECT_TRUE(std::isfinite(p.predicted_speedup()) && p.predicted_speedup() > 0) << what;
  EXPECT_TRUE(std::isfinite(p.flops_ratio()) && p.flops_ratio() > 0) << what;
  EXPECT_GT(p.peak_activation_bytes(), 0) << what;
  EXPECT_GE(p.keyframes.diffused_frames(), 1) << what;
  EXPECT_LE(p.keyframes.diffused_frames(), p.latent.frames) << what;
  EXPECT_GE(p.reused_steps, 0) << what;
  EXPECT_LE(p.reused_steps, p.sampling.steps - 1) << what;
  EXPECT_LE(p.keyframe_phase.computed_steps, p.keyframe_phase.steps) << what;
  for (const PairCounts& pairs : {p.keyframe_pairs, p.refine_pairs}) {
    if (pairs.dense == 0) continue;
    EXPECT_GE(pairs.exact_fraction(), 0.0) << what;
    EXPECT_LE(pairs.exact_fraction(), 1.0 + 1e-12) << what;
  }
  EXPECT_FALSE(p.summary().empty()) << what;
}

TEST(RandomizedPlanner, EveryRequestIsANamedErrorOrAConsistentPlan) {
  std::mt19937 rng(kSeed);
  int planned = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const PixelShape pixels = random_pixels(rng);
    const Knobs knobs = random_knobs(rng);
    const SamplingSpec sampling = random_sampling(rng);
    const std::string what = "case " + std::to_string(i) + ": " + std::to_string(pixels.width) +
                             "x" + std::to_string(pixels.height) + "x" +
                             std::to_string(pixels.frames);
    try {
      expect_plan_holds_together(make_plan(pixels, knobs, sampling), what);
      ++planned;
    } catch (const InvalidArgument& e) {
      EXPECT_FALSE(e.parameter().empty()) << what;
      EXPECT_NE(std::string(e.what()).find(e.parameter()), std::string::npos) << e.what();
      ++refused;
    }
  }
  // Both sides of the driver were exercised.
  EXPECT_GT(planned, 2000);
  EXPECT_GT(refused, 2000);
}

TEST(RandomizedAttention, RandomLayoutsMatchTheFloat64Reference) {
  std::mt19937 rng(kSeed + 1);
  const DType dtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};
  for (int i = 0; i < 300; ++i) {
    const LatentShape grid{pick(rng, 1, 6), pick(rng, 1, 4), pick(rng, 1, 4)};
    const std::int64_t global = coin(rng, 0.7) ? 0 : pick(rng, 1, 3);
    WindowSpec spec{coin(rng, 0.15) ? kWindowOff : pick(rng, 0, 4), coin(rng),
                    coin(rng, 0.6) ? 0 : pick(rng, 1, 3)};
    if (spec.window == kWindowOff) spec.far_field = 0;
    const DType dtype = dtypes[pick(rng, 0, 2)];
    const std::int64_t batch = pick(rng, 1, 2);
    const std::int64_t heads = pick(rng, 1, 3);
    const std::int64_t head_dim = pick(rng, 1, 70);
    const bool token_major = coin(rng);
    const std::int64_t tokens = grid.tokens() + global;
    testing::HostTensor q(dtype, batch, heads, tokens, head_dim, token_major);
    testing::HostTensor k(dtype, batch, heads, tokens, head_dim);
    testing::HostTensor v(dtype, batch, heads, tokens, head_dim, token_major);
    q.fill_random(rng, 1.5);
    k.fill_random(rng, 1.5);
    v.fill_random(rng, 1.0);
    testing::HostTensor out(dtype, batch, heads, tokens, head_dim, coin(rng));
    testing::HostLse lse(batch, heads, tokens);
    const TensorView lse_view = lse.view();
    const AttentionOptions options{grid, global, spec, Precision::kAuto, 0.0};
    const std::string what = "case " + std::to_string(i) + ": grid " + std::to_string(grid.frames) +
                             "x" + std::to_string(grid.height) + "x" + std::to_string(grid.width) +
                             " +" + std::to_string(global) + " K=" + std::to_string(spec.window) +
                             " p=" + std::to_string(spec.far_field) +
                             " D=" + std::to_string(head_dim) + " " + to_string(dtype);
    (void)window_attention(q.view(), k.view(), v.view(), out.view(), &lse_view, options);
    const testing::ReferenceResult ref = testing::reference_attention(
        q, k, v, testing::reference_key_sets(grid, global, spec, KeySubset::kAll), grid,
        spec.far_field, 1.0 / std::sqrt(static_cast<double>(head_dim)));
    EXPECT_LE(testing::relative_error(out, ref), testing::error_bound(dtype)) << what;
    EXPECT_LE(testing::max_lse_error(lse, ref), 1e-4) << what;
  }
}

}  // namespace
}  // namespace ltx2eff
