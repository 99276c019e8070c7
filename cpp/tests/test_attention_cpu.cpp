// The CPU window-attention kernel against a float64 reference with explicit key sets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "attention_reference.hpp"
#include "ltx2eff/attention.hpp"
#include "ltx2eff/attention_cpu.hpp"
#include "ltx2eff/attention_split.hpp"
#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

using testing::HostLse;
using testing::HostTensor;
using testing::KeyRef;
using testing::ReferenceResult;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Case {
  LatentShape grid{5, 3, 7};
  std::int64_t global_tokens = 3;
  WindowSpec spec{1, false, 0};
  std::int64_t batch = 2;
  std::int64_t heads = 3;
  std::int64_t head_dim = 16;
  DType dtype = DType::kFloat32;
  bool token_major = false;  // q/out laid out [B, T, heads, D] (strided views)
  Precision precision = Precision::kAuto;

  [[nodiscard]] std::int64_t tokens() const { return grid.tokens() + global_tokens; }
  [[nodiscard]] double scale() const { return 1.0 / std::sqrt(static_cast<double>(head_dim)); }
};

struct Inputs {
  HostTensor q, k, v;
};

Inputs random_inputs(const Case& c, unsigned seed) {
  std::mt19937 rng(seed);
  Inputs in{HostTensor(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim, c.token_major),
            HostTensor(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim),
            HostTensor(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim, c.token_major)};
  in.q.fill_random(rng, 1.5);
  in.k.fill_random(rng, 1.5);
  in.v.fill_random(rng, 1.0);
  return in;
}

struct Result {
  HostTensor out;
  HostLse lse;
};

// Runs the kernel on outputs poisoned with NaN; through the public dispatcher unless an
// instruction set (and thread count) is forced.
Result run(const Case& c, const Inputs& in, KeySubset subset = KeySubset::kAll,
           std::optional<CpuIsa> isa = std::nullopt, int threads = 2) {
  Result r{HostTensor(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim, c.token_major),
           HostLse(c.batch, c.heads, c.tokens())};
  r.out.fill(kNaN);
  std::fill(r.lse.data.begin(), r.lse.data.end(), std::numeric_limits<float>::quiet_NaN());
  const TensorView lse = r.lse.view();
  AttentionOptions options{c.grid, c.global_tokens, c.spec, c.precision, 0.0};
  if (isa.has_value()) {
    CpuAttentionCall call;
    call.q = in.q.view();
    call.k = in.k.view();
    call.v = in.v.view();
    call.out = r.out.view();
    call.lse = &lse;
    call.options = options;
    call.options.scale = c.scale();
    call.subset = subset;
    call.threads = threads;
    call.isa = *isa;
    cpu_window_attention(call);
  } else {
    EXPECT_EQ(window_attention_subset(in.q.view(), in.k.view(), in.v.view(), r.out.view(), &lse,
                                      options, subset),
              AttentionBackend::kCpu);
  }
  return r;
}

ReferenceResult reference(const Case& c, const Inputs& in, KeySubset subset = KeySubset::kAll) {
  return testing::reference_attention(
      in.q, in.k, in.v, testing::reference_key_sets(c.grid, c.global_tokens, c.spec, subset),
      c.grid, c.spec.far_field, c.scale());
}

std::string describe_case(const Case& c) {
  return "grid " + std::to_string(c.grid.frames) + "x" + std::to_string(c.grid.height) + "x" +
         std::to_string(c.grid.width) + " +" + std::to_string(c.global_tokens) +
         " K=" + std::to_string(c.spec.window) + " anchor=" + std::to_string(c.spec.anchor_frame) +
         " p=" + std::to_string(c.spec.far_field) + " D=" + std::to_string(c.head_dim) + " " +
         to_string(c.dtype);
}

void expect_matches(const Result& got, const ReferenceResult& ref, DType dtype,
                    const std::string& what) {
  const double err = testing::relative_error(got.out, ref);
  EXPECT_LE(err, testing::error_bound(dtype)) << what;  // NaN fails too
  const double lse_err = testing::max_lse_error(got.lse, ref);
  EXPECT_LE(lse_err, 1e-4) << what << " (lse)";
}

TEST(AttentionCpu, MatchesFloat64ReferenceForEveryDtypeHeadDimAndInstructionSet) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (std::int64_t d : {8, 64, 80, 128}) {
      Case c;
      c.spec = {1, true, 2};
      c.head_dim = d;
      c.dtype = dtype;
      c.token_major = d == 80;
      const Inputs in =
          random_inputs(c, static_cast<unsigned>(d) * 7u + static_cast<unsigned>(dtype));
      const ReferenceResult ref = reference(c, in);
      for (CpuIsa isa : available_cpu_isas()) {
        expect_matches(run(c, in, KeySubset::kAll, isa), ref, dtype,
                       describe_case(c) + " isa " + to_string(isa));
      }
    }
  }
}

TEST(AttentionCpu, MatchesReferenceAcrossGridsWindowsAndKnobs) {
  const std::vector<LatentShape> grids = {{5, 3, 7}, {1, 4, 4}, {7, 2, 3}, {4, 5, 5}};
  const std::vector<WindowSpec> specs = {{0, false, 0},         {1, false, 0}, {2, true, 0},
                                         {1, false, 2},         {0, true, 3},  {1, true, 7},
                                         {kWindowOff, false, 0}};
  unsigned seed = 1;
  for (const LatentShape& grid : grids) {
    for (const WindowSpec& spec : specs) {
      for (std::int64_t global : {0, 3}) {
        Case c;
        c.grid = grid;
        c.spec = spec;
        c.global_tokens = global;
        c.batch = 1;
        c.heads = 2;
        c.head_dim = 24;  // not a multiple of the 16-wide panels
        const Inputs in = random_inputs(c, seed++);
        expect_matches(run(c, in), reference(c, in), c.dtype, describe_case(c));
      }
    }
  }
}

// Softmax over every key, written without any window plan.
ReferenceResult dense_reference(const Case& c, const Inputs& in) {
  std::vector<std::vector<KeyRef>> all(static_cast<std::size_t>(c.tokens()));
  for (auto& keys : all) {
    for (std::int64_t k = 0; k < c.tokens(); ++k) keys.push_back({k, false});
  }
  return testing::reference_attention(in.q, in.k, in.v, all, c.grid, 0, c.scale());
}

TEST(AttentionCpu, WindowCoveringAllFramesIsDenseAttention) {
  for (int window : {4, 9, kWindowOff}) {  // F = 5: K >= F - 1
    Case c;
    c.spec = {window, window == 4, 0};
    const Inputs in = random_inputs(c, 11);
    expect_matches(run(c, in), dense_reference(c, in), c.dtype, "K=" + std::to_string(window));
  }
}

TEST(AttentionCpu, FarFieldWithPoolOneIsDenseOverThoseFrames) {
  Case c;
  c.spec = {1, false, 1};
  c.global_tokens = 0;
  const Inputs in = random_inputs(c, 12);
  expect_matches(run(c, in), dense_reference(c, in), c.dtype, "p=1");
}

TEST(AttentionCpu, GlobalTokensAttendToAllAndAreSeenByAll) {
  Case c;
  c.spec = {0, false, 0};  // grid queries: own frame + global keys only
  const std::int64_t hw = c.grid.tokens_per_frame();
  std::vector<std::vector<KeyRef>> sets(static_cast<std::size_t>(c.tokens()));
  for (std::int64_t t = 0; t < c.tokens(); ++t) {
    auto& keys = sets[static_cast<std::size_t>(t)];
    if (t >= c.grid.tokens()) {
      for (std::int64_t k = 0; k < c.tokens(); ++k) keys.push_back({k, false});
    } else {
      const std::int64_t f = t / hw;
      for (std::int64_t k = f * hw; k < (f + 1) * hw; ++k) keys.push_back({k, false});
      for (std::int64_t k = c.grid.tokens(); k < c.tokens(); ++k) keys.push_back({k, false});
    }
  }
  const Inputs in = random_inputs(c, 13);
  expect_matches(run(c, in),
                 testing::reference_attention(in.q, in.k, in.v, sets, c.grid, 0, c.scale()),
                 c.dtype, "global tokens");
}

TEST(AttentionCpu, AnchorFrameIsVisibleToEveryFrame) {
  Case c;
  c.spec = {0, true, 0};
  c.global_tokens = 0;
  const std::int64_t hw = c.grid.tokens_per_frame();
  std::vector<std::vector<KeyRef>> sets(static_cast<std::size_t>(c.tokens()));
  for (std::int64_t t = 0; t < c.tokens(); ++t) {
    const std::int64_t f = t / hw;
    auto& keys = sets[static_cast<std::size_t>(t)];
    for (std::int64_t k = 0; k < hw; ++k) keys.push_back({k, false});
    if (f != 0) {
      for (std::int64_t k = f * hw; k < (f + 1) * hw; ++k) keys.push_back({k, false});
    }
  }
  const Inputs in = random_inputs(c, 14);
  expect_matches(run(c, in),
                 testing::reference_attention(in.q, in.k, in.v, sets, c.grid, 0, c.scale()),
                 c.dtype, "anchor");
}

TEST(AttentionCpu, FarFieldPoolsOddEdgeCellsWithTheirTokenCount) {
  Case c;  // H = 3, W = 7 with p = 2: edge cells hold 2 or 1 tokens
  c.spec = {0, false, 2};
  c.global_tokens = 0;
  const Inputs in = random_inputs(c, 15);
  const Result got = run(c, in);
  expect_matches(got, reference(c, in), c.dtype, "p=2 on 3x7");
  const ReferenceResult unbiased = testing::reference_attention(
      in.q, in.k, in.v, testing::reference_key_sets(c.grid, 0, c.spec, KeySubset::kAll), c.grid, 2,
      c.scale(), /*log_count_bias=*/false);
  EXPECT_GT(testing::relative_error(got.out, unbiased), 100 * testing::error_bound(c.dtype))
      << "the log(count) bias of pooled keys must matter";
}

TEST(AttentionCpu, KeySubsetsMatchReference) {
  for (KeySubset subset : {KeySubset::kOwnFrame, KeySubset::kOtherFrames}) {
    Case c;
    c.spec = {1, true, 2};
    const Inputs in = random_inputs(c, 16);
    const ReferenceResult ref = reference(c, in, subset);
    const Result got = run(c, in, subset);
    expect_matches(got, ref, c.dtype, to_string(subset));
    if (subset == KeySubset::kOwnFrame) {  // global queries have no key: zero and -inf
      for (std::int64_t t = c.grid.tokens(); t < c.tokens(); ++t) {
        EXPECT_EQ(got.lse.at(1, 2, t), -std::numeric_limits<float>::infinity());
        EXPECT_EQ(got.out.get(1, 2, t, 5), 0.0);
      }
    }
  }
}

TEST(AttentionCpu, SingleFrameWithoutGlobalTokensHasNoOtherFrameKeys) {
  Case c;
  c.grid = {1, 3, 7};
  c.global_tokens = 0;
  const Inputs in = random_inputs(c, 17);
  const Result got = run(c, in, KeySubset::kOtherFrames);
  expect_matches(got, reference(c, in, KeySubset::kOtherFrames), c.dtype, "no keys");
  EXPECT_EQ(got.lse.at(0, 0, 0), -std::numeric_limits<float>::infinity());
}

TEST(AttentionCpu, ReadsExactlyTheWindowsKeysAndPropagatesNaN) {
  Case c;  // F = 5, K = 1: frames 0 and 1 see frames 0-2 only
  c.global_tokens = 0;
  c.spec = {1, false, 0};
  Inputs in = random_inputs(c, 23);
  const ReferenceResult ref = reference(c, in);
  const std::int64_t hw = c.grid.tokens_per_frame();
  for (std::int64_t t = 3 * hw; t < 5 * hw; ++t) {  // frames 3 and 4 become NaN
    in.k.set(0, 1, t, 2, kNaN);
    in.v.set(0, 1, t, 5, kNaN);
  }
  for (CpuIsa isa : available_cpu_isas()) {
    const Result got = run(c, in, KeySubset::kAll, isa);
    for (std::int64_t t = 0; t < c.tokens(); ++t) {
      const bool sees_nan = t >= 2 * hw;  // frames 2-4 have frame 3 in their window
      for (std::int64_t d = 0; d < c.head_dim; ++d) {
        const double x = got.out.get(0, 1, t, d);
        if (sees_nan) {
          ASSERT_TRUE(std::isnan(x)) << "token " << t << " isa " << to_string(isa);
        } else {
          ASSERT_NEAR(x, ref.at(0, 1, t, d), 1e-5) << "token " << t << " isa " << to_string(isa);
        }
      }
    }
  }
}

TEST(AttentionCpu, ResultDoesNotDependOnThreadCount) {
  Case c;
  c.spec = {1, true, 2};
  c.head_dim = 64;
  const Inputs in = random_inputs(c, 18);
  const CpuIsa isa = default_cpu_isa();
  const Result one = run(c, in, KeySubset::kAll, isa, 1);
  const Result three = run(c, in, KeySubset::kAll, isa, 3);
  one.out.for_each([&](auto b, auto h, auto t, auto d) {
    ASSERT_EQ(one.out.get(b, h, t, d), three.out.get(b, h, t, d));
  });
  EXPECT_EQ(one.lse.data, three.lse.data);
}

TEST(AttentionCpu, CastPrecisionEqualsRunningOnCastInputs) {
  Case c;
  c.spec = {1, false, 2};
  c.head_dim = 64;
  const Inputs in = random_inputs(c, 19);
  for (auto [precision, narrow] : {std::pair{Precision::kBf16, DType::kBFloat16},
                                   std::pair{Precision::kFp16, DType::kFloat16}}) {
    Case cast = c;
    cast.precision = precision;
    const Result emulated = run(cast, in);
    // The same inputs rounded to the narrow type, held in float32.
    Inputs rounded = random_inputs(c, 19);
    for (HostTensor* t : {&rounded.q, &rounded.k, &rounded.v}) {
      t->for_each([&](auto b, auto h, auto s, auto d) {
        t->set(b, h, s, d, testing::round_to(narrow, t->get(b, h, s, d)));
      });
    }
    const ReferenceResult ref_rounded = reference(c, rounded);
    expect_matches(emulated, ref_rounded, c.dtype, to_string(precision));
    EXPECT_GT(testing::relative_error(emulated.out, reference(c, in)), 1e-4)
        << "casting the inputs must change the result";
  }
}

TEST(AttentionCpu, EightBitFarFieldStaysCloseToFloat32) {
  Case c;
  c.grid = {7, 4, 6};
  c.spec = {1, false, 2};
  c.head_dim = 64;
  const Inputs in = random_inputs(c, 20);
  const ReferenceResult ref = reference(c, in);
  Case eight = c;
  eight.precision = Precision::kFp8FarField;
  const Result exact = run(c, in);
  const Result quantized = run(eight, in);
  const double err_exact = testing::relative_error(exact.out, ref);
  const double err_8bit = testing::relative_error(quantized.out, ref);
  EXPECT_LE(err_exact, 1e-5);
  EXPECT_GT(err_8bit, err_exact) << "the 8-bit far field must actually quantise";
  EXPECT_LE(err_8bit, 5e-3) << "8-bit far-field QK error vs float64";
  std::printf("8-bit far-field QK: relative error %.2e (float32 path %.2e)\n", err_8bit, err_exact);
}

// ---- validation ----

void expect_invalid(const std::string& parameter, const std::function<void()>& call) {
  try {
    call();
    ADD_FAILURE() << "expected InvalidArgument for " << parameter;
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), parameter) << e.what();
    EXPECT_NE(std::string(e.what()).find(parameter), std::string::npos) << e.what();
  }
}

struct Views {
  TensorView q, k, v, out, lse;
  AttentionOptions options;
  void call() const {
    (void)window_attention(q, k, v, out, lse.data != nullptr ? &lse : nullptr, options);
  }
};

TEST(AttentionCpu, RejectsBadInputsNamingTheParameter) {
  Case c;
  const Inputs in = random_inputs(c, 21);
  HostTensor out(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim);
  HostLse lse(c.batch, c.heads, c.tokens());
  const Views good{
      in.q.view(), in.k.view(),
      in.v.view(), out.view(),
      lse.view(),  AttentionOptions{c.grid, c.global_tokens, c.spec, Precision::kAuto, 0.0}};
  EXPECT_NO_THROW(good.call());

  auto with = [&](const std::function<void(Views&)>& edit) {
    Views v = good;
    edit(v);
    return [v] { v.call(); };
  };
  expect_invalid("q", with([](Views& v) { v.q.ndim = 3; }));
  expect_invalid("q", with([](Views& v) { v.q.dtype = DType::kInt8; }));
  expect_invalid("q", with([](Views& v) { v.q.strides[3] = 2; }));
  expect_invalid("k", with([](Views& v) { v.k.shape[3] = 8; }));
  expect_invalid("k", with([](Views& v) { v.k.dtype = DType::kFloat16; }));
  expect_invalid("v", with([](Views& v) { v.v.dtype = DType::kFloat64; }));
  expect_invalid("out", with([](Views& v) { v.out.shape[2] = 7; }));
  expect_invalid("out", with([](Views& v) { v.out.data = v.q.data; }));
  expect_invalid("k", with([](Views& v) { v.k.device = DeviceKind::kCuda; }));
  expect_invalid("q", with([](Views& v) { v.options.global_tokens = 2; }));  // T mismatch
  expect_invalid("global_tokens", with([](Views& v) { v.options.global_tokens = -1; }));
  expect_invalid("window", with([](Views& v) { v.options.window.window = -7; }));
  expect_invalid("window", with([](Views& v) { v.options.window.window = 257; }));
  expect_invalid("far_field", with([](Views& v) { v.options.window.far_field = 17; }));
  expect_invalid("latent_frames", with([](Views& v) { v.options.grid.frames = 0; }));
  expect_invalid("scale", with([](Views& v) { v.options.scale = -1.0; }));
  expect_invalid("scale", with([](Views& v) { v.options.scale = std::nan(""); }));
  expect_invalid("lse", with([](Views& v) { v.lse.dtype = DType::kFloat16; }));
  expect_invalid("lse", with([](Views& v) { v.lse.shape[2] = 3; }));
  expect_invalid("lse", with([](Views& v) { v.lse.strides[2] = 2; }));

#if !defined(_WIN32)
  ::setenv("LTX2EFF_NUM_THREADS", "lots", 1);
  expect_invalid("LTX2EFF_NUM_THREADS", [&] { good.call(); });
  ::setenv("LTX2EFF_NUM_THREADS", "1", 1);
  EXPECT_NO_THROW(good.call());
  ::unsetenv("LTX2EFF_NUM_THREADS");
#endif
}

#if !defined(LTX2EFF_HAVE_CUDA)
TEST(AttentionCpu, CudaViewsWithoutCudaBuildAreUnavailable) {
  Case c;
  const Inputs in = random_inputs(c, 22);
  HostTensor out(c.dtype, c.batch, c.heads, c.tokens(), c.head_dim);
  TensorView q = in.q.view(), k = in.k.view(), v = in.v.view(), o = out.view();
  for (TensorView* view : {&q, &k, &v, &o}) view->device = DeviceKind::kCuda;
  const AttentionOptions options{c.grid, c.global_tokens, c.spec, Precision::kAuto, 0.0};
  EXPECT_THROW((void)window_attention(q, k, v, o, nullptr, options), Unavailable);
}
#endif

}  // namespace
}  // namespace ltx2eff
