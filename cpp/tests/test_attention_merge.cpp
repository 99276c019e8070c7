// merge_attention: partial attentions over disjoint key sets merge, by log-sum-exp, into the
// attention over their union.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "attention_reference.hpp"
#include "ltx2eff/attention.hpp"
#include "ltx2eff/attention_split.hpp"
#include "ltx2eff/error.hpp"

namespace ltx2eff {
namespace {

using testing::HostLse;
using testing::HostTensor;
using testing::KeyRef;
using testing::ReferenceResult;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const LatentShape kGrid{5, 3, 7};
constexpr std::int64_t kGlobal = 3;
constexpr std::int64_t kBatch = 2;
constexpr std::int64_t kHeads = 3;
constexpr std::int64_t kTokens = 5 * 3 * 7 + kGlobal;

HostTensor random_tensor(DType dtype, std::int64_t d, std::mt19937& rng, double stddev) {
  HostTensor t(dtype, kBatch, kHeads, kTokens, d);
  t.fill_random(rng, stddev);
  return t;
}

// A partial attention held in `dtype` (the reference output rounded) with its float32 lse.
struct Partial {
  HostTensor out;
  HostLse lse;
};

Partial as_partial(const ReferenceResult& ref, DType dtype) {
  Partial p{HostTensor(dtype, ref.b, ref.h, ref.t, ref.d), HostLse(ref.b, ref.h, ref.t)};
  p.out.for_each(
      [&](auto b, auto h, auto t, auto d) { p.out.set(b, h, t, d, ref.at(b, h, t, d)); });
  for (std::int64_t b = 0; b < ref.b; ++b)
    for (std::int64_t h = 0; h < ref.h; ++h)
      for (std::int64_t t = 0; t < ref.t; ++t)
        p.lse.data[static_cast<std::size_t>((b * ref.h + h) * ref.t + t)] =
            static_cast<float>(ref.lse_at(b, h, t));
  return p;
}

Partial merged(const Partial& a, const Partial& b) {
  Partial m{HostTensor(a.out.dtype(), kBatch, kHeads, kTokens, a.out.size(3)),
            HostLse(kBatch, kHeads, kTokens)};
  m.out.fill(kNaN);
  std::fill(m.lse.data.begin(), m.lse.data.end(), std::numeric_limits<float>::quiet_NaN());
  merge_attention(a.out.view(), a.lse.view(), b.out.view(), b.lse.view(), m.out.view(),
                  m.lse.view());
  return m;
}

TEST(AttentionMerge, DisjointRandomKeySetsMergeIntoTheirUnion) {
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    std::mt19937 rng(7);
    const std::int64_t d = 40;
    const HostTensor q = random_tensor(DType::kFloat32, d, rng, 1.5);
    const HostTensor k = random_tensor(DType::kFloat32, d, rng, 1.5);
    const HostTensor v = random_tensor(DType::kFloat32, d, rng, 1.0);
    // Every query sees a random subset of keys, split at random between two partials.
    std::vector<std::vector<KeyRef>> all(kTokens), part_a(kTokens), part_b(kTokens);
    std::bernoulli_distribution keep(0.6), side(0.5);
    for (std::int64_t t = 0; t < kTokens; ++t) {
      for (std::int64_t key = 0; key < kTokens; ++key) {
        if (!keep(rng)) continue;
        all[static_cast<std::size_t>(t)].push_back({key, false});
        (side(rng) ? part_a : part_b)[static_cast<std::size_t>(t)].push_back({key, false});
      }
    }
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    const ReferenceResult whole = testing::reference_attention(q, k, v, all, kGrid, 0, scale);
    const Partial m =
        merged(as_partial(testing::reference_attention(q, k, v, part_a, kGrid, 0, scale), dtype),
               as_partial(testing::reference_attention(q, k, v, part_b, kGrid, 0, scale), dtype));
    // Rounding the partials to the dtype and the output once more: twice the output bound.
    EXPECT_LE(testing::relative_error(m.out, whole), 2 * testing::error_bound(dtype))
        << to_string(dtype);
    EXPECT_LE(testing::max_lse_error(m.lse, whole), 1e-5) << to_string(dtype);
  }
}

TEST(AttentionMerge, OwnFrameAndOtherFramePartialsMergeIntoWindowAttention) {
  for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
    std::mt19937 rng(8);
    const std::int64_t d = 64;
    const HostTensor q = random_tensor(dtype, d, rng, 1.5);
    const HostTensor k = random_tensor(dtype, d, rng, 1.5);
    const HostTensor v = random_tensor(dtype, d, rng, 1.0);
    const WindowSpec spec{1, true, 2};
    const AttentionOptions options{kGrid, kGlobal, spec, Precision::kAuto, 0.0};
    auto partial = [&](KeySubset subset) {
      Partial p{HostTensor(dtype, kBatch, kHeads, kTokens, d), HostLse(kBatch, kHeads, kTokens)};
      p.out.fill(kNaN);
      const TensorView lse = p.lse.view();
      window_attention_subset(q.view(), k.view(), v.view(), p.out.view(), &lse, options, subset);
      return p;
    };
    const Partial m = merged(partial(KeySubset::kOwnFrame), partial(KeySubset::kOtherFrames));
    const ReferenceResult whole = testing::reference_attention(
        q, k, v, testing::reference_key_sets(kGrid, kGlobal, spec, KeySubset::kAll), kGrid, 2,
        1.0 / std::sqrt(static_cast<double>(d)));
    EXPECT_LE(testing::relative_error(m.out, whole), 2 * testing::error_bound(dtype))
        << to_string(dtype);
    EXPECT_LE(testing::max_lse_error(m.lse, whole), 1e-4) << to_string(dtype);
  }
}

TEST(AttentionMerge, EmptyPartialContributesNothing) {
  std::mt19937 rng(9);
  const HostTensor a = random_tensor(DType::kFloat32, 16, rng, 1.0);
  HostLse lse_a(kBatch, kHeads, kTokens);
  for (float& x : lse_a.data) x = std::normal_distribution<float>(0.0f, 3.0f)(rng);
  HostTensor garbage(DType::kFloat32, kBatch, kHeads, kTokens, 16);
  garbage.fill(kNaN);  // an empty partial's output is never read
  HostLse empty(kBatch, kHeads, kTokens);
  std::fill(empty.data.begin(), empty.data.end(), kNegInf);

  for (bool empty_first : {false, true}) {
    const Partial m = empty_first ? merged(Partial{garbage, empty}, Partial{a, lse_a})
                                  : merged(Partial{a, lse_a}, Partial{garbage, empty});
    a.for_each([&](auto b, auto h, auto t, auto d) {
      ASSERT_EQ(m.out.get(b, h, t, d), a.get(b, h, t, d));
    });
    EXPECT_EQ(m.lse.data, lse_a.data);
  }
  const Partial none = merged(Partial{garbage, empty}, Partial{garbage, empty});
  none.out.for_each(
      [&](auto b, auto h, auto t, auto d) { ASSERT_EQ(none.out.get(b, h, t, d), 0.0); });
  for (float x : none.lse.data) EXPECT_EQ(x, kNegInf);
}

TEST(AttentionMerge, MayWriteOverTheFirstPartial) {
  std::mt19937 rng(10);
  const Partial a{random_tensor(DType::kFloat16, 32, rng, 1.0), HostLse(kBatch, kHeads, kTokens)};
  const Partial b{random_tensor(DType::kFloat16, 32, rng, 1.0), HostLse(kBatch, kHeads, kTokens)};
  Partial a_copy = a;
  for (std::size_t i = 0; i < a.lse.data.size(); ++i) {
    a_copy.lse.data[i] = static_cast<float>(i % 7) - 3.0f;
  }
  Partial b_copy = b;
  for (std::size_t i = 0; i < b.lse.data.size(); ++i) {
    b_copy.lse.data[i] = static_cast<float>(i % 5) - 2.0f;
  }
  const Partial expected = merged(a_copy, b_copy);
  merge_attention(a_copy.out.view(), a_copy.lse.view(), b_copy.out.view(), b_copy.lse.view(),
                  a_copy.out.view(), a_copy.lse.view());
  expected.out.for_each([&](auto bi, auto h, auto t, auto d) {
    ASSERT_EQ(a_copy.out.get(bi, h, t, d), expected.out.get(bi, h, t, d));
  });
  EXPECT_EQ(a_copy.lse.data, expected.lse.data);
}

void expect_invalid(const std::string& parameter, const std::function<void()>& call) {
  try {
    call();
    ADD_FAILURE() << "expected InvalidArgument for " << parameter;
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), parameter) << e.what();
  }
}

TEST(AttentionMerge, RejectsBadInputsNamingTheParameter) {
  std::mt19937 rng(11);
  const HostTensor a = random_tensor(DType::kFloat32, 16, rng, 1.0);
  const HostTensor b = random_tensor(DType::kFloat32, 16, rng, 1.0);
  HostTensor out(DType::kFloat32, kBatch, kHeads, kTokens, 16);
  HostLse la(kBatch, kHeads, kTokens), lb(kBatch, kHeads, kTokens), lo(kBatch, kHeads, kTokens);
  struct Views {
    TensorView oa, la, ob, lb, o, lo;
    void call() const { merge_attention(oa, la, ob, lb, o, lo); }
  };
  const Views good{a.view(), la.view(), b.view(), lb.view(), out.view(), lo.view()};
  EXPECT_NO_THROW(good.call());
  auto with = [&](const std::function<void(Views&)>& edit) {
    Views v = good;
    edit(v);
    return [v] { v.call(); };
  };
  expect_invalid("out_a", with([](Views& v) { v.oa.dtype = DType::kFloat64; }));
  expect_invalid("out_b", with([](Views& v) { v.ob.shape[3] = 8; }));
  expect_invalid("out_b", with([](Views& v) { v.ob.dtype = DType::kBFloat16; }));
  expect_invalid("out_b", with([](Views& v) { v.ob.device = DeviceKind::kCuda; }));
  expect_invalid("out", with([](Views& v) { v.o.ndim = 3; }));
  expect_invalid("lse_a", with([](Views& v) { v.la.dtype = DType::kFloat16; }));
  expect_invalid("lse_b", with([](Views& v) { v.lb.shape[1] = 1; }));
  expect_invalid("lse_out", with([](Views& v) { v.lo.ndim = 4; }));
}

}  // namespace
}  // namespace ltx2eff
