#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "ltx2eff/cost_model.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/knobs.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {
namespace {

// Hand-computed for d = 4096, L = 1024, C = 4096, FF x4, 48 blocks, batch 1:
//   self-attn linear 8*T*d^2, core 4*d*pairs, cross 4*T*d^2 + 4*L*C*d + 4*T*L*d, FF 16*T*d^2,
//   other 4*T*128*d + 48*10*T*d. Totals per call for dense and window K=1 (no anchor).
struct Reference {
  LatentShape grid;
  double self_linear, core, cross, ff, other, total, total_k1, peak;
};

const Reference kReferences[] = {
    {{13, 16, 28},
     37520834297856.0,
     26674968133632.0,
     26749056319488.0,
     75041668595712.0,
     23664263168.0,
     166010191609856.0,
     145490985353216.0,
     477102080.0},
    {{16, 22, 40},
     90709709291520.0,
     155907312844800.0,
     59992103190528.0,
     181419418583040.0,
     57210306560.0,
     488085754216448.0,
     361411062530048.0,
     1153433600.0},
    {{16, 34, 60},
     210281598812160.0,
     837840745267200.0,
     134724534140928.0,
     420563197624320.0,
     132623892480.0,
     1603542699737088.0,
     922797094207488.0,
     2673868800.0},
};

TEST(CostModel, DenseReferenceSizes) {
  for (const Reference& r : kReferences) {
    const CallCost c = model_call_cost(ModelDims{}, WindowPlan(r.grid, 0, {}));
    EXPECT_EQ(c.tokens, r.grid.tokens());
    EXPECT_DOUBLE_EQ(c.self_attention_linear.flops, r.self_linear);
    EXPECT_DOUBLE_EQ(c.self_attention_core.flops, r.core);
    EXPECT_DOUBLE_EQ(c.cross_attention.flops, r.cross);
    EXPECT_DOUBLE_EQ(c.feed_forward.flops, r.ff);
    EXPECT_DOUBLE_EQ(c.other.flops, r.other);
    EXPECT_DOUBLE_EQ(c.total_flops(), r.total);
    EXPECT_DOUBLE_EQ(c.peak_activation_bytes, r.peak);
    EXPECT_TRUE(c.budget_met);
  }
}

TEST(CostModel, WindowOneReferenceSizes) {
  for (const Reference& r : kReferences) {
    const CallCost c = model_call_cost(ModelDims{}, WindowPlan(r.grid, 0, {1, false, 0}));
    EXPECT_NEAR(c.total_flops() / r.total_k1, 1.0, 1e-12);
    EXPECT_DOUBLE_EQ(c.self_attention_linear.flops, r.self_linear);  // linear work unchanged
  }
}

TEST(CostModel, IsolatedBlocksMatchIsolatedBlockH100) {
  // One LTX-2-sized video block timed alone on an H100 (bf16, torch 2.11 SDPA, dense) takes
  // 5.2 / 15.9 / 50.7 ms at 5,824 / 14,080 / 32,640 tokens: 0.25 / 0.76 / 2.43 s for 48 blocks.
  const double measured[] = {0.25, 0.76, 2.43};
  for (int i = 0; i < 3; ++i) {
    const CallCost c = model_call_cost(ModelDims{}, WindowPlan(kReferences[i].grid, 0, {}));
    const double s = predict_call_seconds(c, ModelDims{}, DeviceProfile::isolated_blocks(), false);
    EXPECT_NEAR(s / measured[i], 1.0, 0.10) << i;
  }
}

TEST(CostModel, DefaultProfileMatchesMeasuredSamplingLoops) {
  // bench/e2e.py on an H200, complete 30-step CFG loops of the 19B audio-video model
  // (docs/BENCHMARKS.md "End to end"): seconds per model call, dense.
  const struct {
    LatentShape grid;
    double seconds;
  } measured[] = {
      {{16, 11, 20}, 0.371}, {{13, 16, 28}, 0.493}, {{16, 22, 40}, 1.118}, {{16, 34, 60}, 3.312}};
  for (const auto& m : measured) {
    const CallCost c = model_call_cost(ModelDims{}, WindowPlan(m.grid, 0, {}));
    const double s = predict_call_seconds(c, ModelDims{}, DeviceProfile{}, false);
    EXPECT_NEAR(s / m.seconds, 1.0, 0.05) << m.grid.tokens();
  }
  // Window K=2 + anchor at 1920x1088x121 ran 2.767 s per call (1.20x); within 15%.
  const LatentShape big{16, 34, 60};
  const double dense = predict_call_seconds(model_call_cost(ModelDims{}, WindowPlan(big, 0, {})),
                                            ModelDims{}, DeviceProfile{}, false);
  const double windowed =
      predict_call_seconds(model_call_cost(ModelDims{}, WindowPlan(big, 0, {2, true, 0})),
                           ModelDims{}, DeviceProfile{}, true);
  EXPECT_NEAR(windowed / 2.767, 1.0, 0.15);
  EXPECT_NEAR((dense / windowed) / 1.20, 1.0, 0.15);
}

TEST(CostModel, ActivationBudgetChunks) {
  const WindowPlan plan({16, 22, 40}, 0, {});
  const CallCost unbounded = model_call_cost(ModelDims{}, plan, 1, 0);
  const CallCost bounded = model_call_cost(ModelDims{}, plan, 1, 512);
  EXPECT_EQ(unbounded.chunk_tokens, 14080);
  EXPECT_LT(bounded.chunk_tokens, 14080);
  EXPECT_GE(bounded.chunk_tokens, 256);
  EXPECT_LE(bounded.peak_activation_bytes, 512.0 * 1024 * 1024);
  EXPECT_TRUE(bounded.budget_met);
  EXPECT_LT(bounded.peak_activation_bytes, unbounded.peak_activation_bytes);
  // A budget below the full-length residual stream cannot be met; the result says so.
  const CallCost impossible = model_call_cost(ModelDims{}, plan, 1, 64);
  EXPECT_FALSE(impossible.budget_met);
  EXPECT_EQ(impossible.chunk_tokens, 256);
  EXPECT_DOUBLE_EQ(bounded.total_flops(), unbounded.total_flops());
}

TEST(CostModel, BatchScalesLinearly) {
  const WindowPlan plan({13, 16, 28}, 0, {2, true, 4});
  const CallCost one = model_call_cost(ModelDims{}, plan, 1);
  const CallCost two = model_call_cost(ModelDims{}, plan, 2);
  EXPECT_DOUBLE_EQ(two.total_flops(), 2 * one.total_flops());
  EXPECT_DOUBLE_EQ(two.peak_activation_bytes, 2 * one.peak_activation_bytes);
  EXPECT_DOUBLE_EQ(two.weight_bytes, one.weight_bytes);
}

TEST(CostModel, RejectsBadInput) {
  const WindowPlan plan({4, 4, 4}, 0, {});
  ModelDims bad;
  bad.blocks = 0;
  EXPECT_THROW((void)model_call_cost(bad, plan), InvalidArgument);
  EXPECT_THROW((void)model_call_cost(ModelDims{}, plan, 0), InvalidArgument);
  EXPECT_THROW((void)model_call_cost(ModelDims{}, plan, 1, -1), InvalidArgument);
  DeviceProfile slow;
  slow.window_efficiency = 0;
  const CallCost c = model_call_cost(ModelDims{}, plan);
  EXPECT_THROW((void)predict_call_seconds(c, ModelDims{}, slow, true), InvalidArgument);
}

// The knobs among the cost model's inputs are checked by their knob table rows, with the rows'
// messages, and batch by the sampling limits.
std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

TEST(CostModel, KnobInputsUseTheKnobTable) {
  const WindowPlan window({4, 4, 4}, 0, {1, false, 0});
  const WindowPlan dense({4, 4, 4}, 0, {});
  const ModelDims dims;
  const std::string blocks = find_knob("dense_first_blocks").allowed();
  EXPECT_EQ(blocks, "an integer in [0, " + std::to_string(kMaxDenseBlocks) + "]");
  EXPECT_EQ(
      message_of([&] { (void)blended_call_cost(dims, window, dense, kMaxDenseBlocks + 1, 0); }),
      "dense_first_blocks must be " + blocks + ", got " + std::to_string(kMaxDenseBlocks + 1));
  EXPECT_EQ(message_of([&] { (void)blended_call_cost(dims, window, dense, 0, -1); }),
            "dense_last_blocks must be " + find_knob("dense_last_blocks").allowed() + ", got -1");
  EXPECT_EQ(
      message_of([&] { (void)model_call_cost(dims, dense, 1, -1); }),
      "activation_budget_mb must be " + find_knob("activation_budget_mb").allowed() + ", got -1");
  EXPECT_EQ(message_of([&] { (void)model_call_cost(dims, dense, kMaxBatch + 1); }),
            "batch must be in [1, " + std::to_string(kMaxBatch) + "], got " +
                std::to_string(kMaxBatch + 1));
  EXPECT_EQ(message_of([] { (void)reuse_forecast(30, 1.5, 2); }),
            "reuse_start must be " + find_knob("reuse_start").allowed() + ", got 1.5");
  EXPECT_EQ(message_of([] { (void)reuse_forecast(30, 0.3, kMaxConsecutiveReuse + 1); }),
            "max_consecutive_reuse must be " + find_knob("max_consecutive_reuse").allowed() +
                ", got " + std::to_string(kMaxConsecutiveReuse + 1));
}

TEST(SamplingLimits, MakePlanChecksEveryField) {
  const PixelShape pixels{768, 512, 97, 24.0};
  const struct {
    int SamplingSpec::*field;
    const char* name;
    int max;
  } fields[] = {{&SamplingSpec::steps, "steps", kMaxSteps},
                {&SamplingSpec::calls_per_step, "calls_per_step", kMaxCallsPerStep},
                {&SamplingSpec::batch, "batch", kMaxBatch},
                {&SamplingSpec::global_tokens, "global_tokens", kMaxGlobalTokens}};
  for (const auto& f : fields) {
    SamplingSpec top;
    top.*f.field = f.max;
    EXPECT_NO_THROW(validate_sampling(top)) << f.name;
    SamplingSpec over;
    over.*f.field = f.max + 1;
    const std::string expected = std::string(f.name) + " must be in [" +
                                 std::to_string(find_sampling_limit(f.name).min) + ", " +
                                 std::to_string(f.max) + "], got " + std::to_string(f.max + 1);
    EXPECT_EQ(message_of([&] { (void)make_plan(pixels, Knobs{}, over); }), expected);
  }
  EXPECT_EQ(message_of([] { reject_sampling("steps", "'x'"); }),
            "steps must be an integer in [1, " + std::to_string(kMaxSteps) + "], got 'x'");
  EXPECT_THROW((void)find_sampling_limit("colour"), InvalidArgument);
}

}  // namespace
}  // namespace ltx2eff
