// Hostile inputs the audit found: tensor views whose sizes overflow or whose outputs overlap,
// attention scales that make every result non-finite, impossible device profiles and sensor
// readings. Each is an InvalidArgument naming the parameter (or, for a sensor, a reason).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "attention_reference.hpp"
#include "ltx2eff/attention.hpp"
#include "ltx2eff/cost_model.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/interpolation.hpp"
#include "ltx2eff/keyframe_plan.hpp"
#include "ltx2eff/plan.hpp"
#include "ltx2eff/tensor_view.hpp"
#include "ltx2eff/thermal_governor.hpp"

namespace ltx2eff {
namespace {

using testing::HostLse;
using testing::HostTensor;

void expect_invalid(const std::string& parameter, const std::function<void()>& call,
                    const std::string& says = "") {
  try {
    call();
    ADD_FAILURE() << "expected InvalidArgument for " << parameter;
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.parameter(), parameter) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TensorView view4(void* data, std::array<std::int64_t, 4> shape,
                 std::array<std::int64_t, 4> strides) {
  TensorView v;
  v.data = data;
  v.ndim = 4;
  for (std::size_t i = 0; i < 4; ++i) {
    v.shape[i] = shape[i];
    v.strides[i] = strides[i];
  }
  return v;
}

TEST(TensorViewBounds, NumelSaturatesInsteadOfOverflowing) {
  float x = 0;
  const std::int64_t big = std::int64_t{1} << 40;
  EXPECT_EQ(view4(&x, {big, big, big, 1}, {1, 1, 1, 1}).numel(),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(view4(&x, {2, 3, 4, 5}, {60, 20, 5, 1}).numel(), 120);
  EXPECT_EQ(view4(&x, {2, 0, big, big}, {1, 1, 1, 1}).numel(), 0);
  EXPECT_EQ(view4(&x, {2, -3, 4, 5}, {1, 1, 1, 1}).numel(), 0);
}

TEST(TensorViewBounds, SelfOverlapIsFoundForZeroAndShiftedStrides) {
  float x = 0;
  EXPECT_FALSE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {60, 20, 5, 1})));
  EXPECT_FALSE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {60, 5, 15, 1})));    // permuted
  EXPECT_FALSE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {-60, 20, -5, 1})));  // flipped
  EXPECT_FALSE(overlaps_itself(view4(&x, {1, 1, 4, 5}, {0, 0, 5, 1})));      // size-1 dims
  EXPECT_TRUE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {60, 20, 0, 1})));     // stride 0
  EXPECT_TRUE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {60, 20, 4, 1})));  // rows shifted by 4 < 5
  EXPECT_TRUE(overlaps_itself(view4(&x, {2, 3, 4, 5}, {20, 20, 5, 1})));  // batches alias heads
  const std::int64_t huge = std::int64_t{1} << 62;
  EXPECT_TRUE(overlaps_itself(view4(&x, {4, 4, 4, 4}, {huge, huge, 1, 4})));
  EXPECT_TRUE(views_overlap(view4(&x, {4, 4, 4, 4}, {huge, 1, 1, 1}),
                            view4(&x, {1, 1, 1, 1}, {1, 1, 1, 1})));
}

struct Attention {
  LatentShape grid{3, 2, 2};
  HostTensor q{DType::kFloat32, 1, 2, 12, 8}, k{DType::kFloat32, 1, 2, 12, 8},
      v{DType::kFloat32, 1, 2, 12, 8}, out{DType::kFloat32, 1, 2, 12, 8};
  HostLse lse{1, 2, 12};
  AttentionOptions options{grid, 0, WindowSpec{1, false, 0}, Precision::kAuto, 0.0};

  Attention() {
    std::mt19937 rng(3);
    q.fill_random(rng, 1.0);
    k.fill_random(rng, 1.0);
    v.fill_random(rng, 1.0);
  }
  void call(const TensorView& o, const TensorView* l) const {
    (void)window_attention(q.view(), k.view(), v.view(), o, l, options);
  }
};

TEST(AttentionHardening, OutputsThatOverlapThemselvesAreRejected) {
  Attention a;
  const TensorView lse = a.lse.view();
  EXPECT_NO_THROW(a.call(a.out.view(), &lse));
  TensorView zero = a.out.view();
  zero.strides[2] = 0;  // every token writes one row
  expect_invalid(
      "out", [&] { a.call(zero, &lse); }, "must not overlap itself");
  TensorView shifted = a.out.view();
  shifted.strides[2] = 4;  // rows of 8 that start 4 apart
  expect_invalid(
      "out", [&] { a.call(shifted, &lse); }, "must not overlap itself");
  TensorView heads = a.out.view();
  heads.strides[1] = 8;  // head 1 starts on token 1 of head 0
  expect_invalid(
      "out", [&] { a.call(heads, &lse); }, "strides [192, 8, 8, 1]");
}

TEST(AttentionHardening, ScalesThatMakeTheResultNonFiniteAreRejectedWithTheRange) {
  Attention a;
  for (const double scale : {1e308, 1e4, -1.0, 5e-324, std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN()}) {
    a.options.scale = scale;
    expect_invalid(
        "scale", [&] { a.call(a.out.view(), nullptr); }, "or in [1e-12, 1000]");
  }
  for (const double scale : {0.0, 1e-12, 0.125, 1000.0}) {
    a.options.scale = scale;
    EXPECT_NO_THROW(a.call(a.out.view(), nullptr)) << scale;
  }
}

TEST(AttentionHardening, MergeRejectsOutputsOverlappingThemselvesOrTheirInputs) {
  HostTensor out_a(DType::kFloat32, 1, 2, 6, 4), out_b(DType::kFloat32, 1, 2, 6, 4),
      out(DType::kFloat32, 1, 2, 6, 4);
  HostLse lse_a(1, 2, 6), lse_b(1, 2, 6), lse_out(1, 2, 6);
  auto merge = [&](const TensorView& o, const TensorView& l) {
    merge_attention(out_a.view(), lse_a.view(), out_b.view(), lse_b.view(), o, l);
  };
  EXPECT_NO_THROW(merge(out.view(), lse_out.view()));
  EXPECT_NO_THROW(merge(out_b.view(), lse_b.view()));  // exactly over a partial: in place
  TensorView zero = out.view();
  zero.strides[2] = 0;
  expect_invalid(
      "out", [&] { merge(zero, lse_out.view()); }, "must not overlap itself");
  TensorView zero_lse = lse_out.view();
  zero_lse.strides[2] = 0;
  expect_invalid(
      "lse_out", [&] { merge(out.view(), zero_lse); }, "must not overlap itself");
  // Over out_a, one token along: neither out_a exactly nor apart from it.
  std::vector<float> wide(static_cast<std::size_t>(2 * 7 * 4), 0.0f);
  const TensorView a_in_wide = view4(wide.data(), {1, 2, 6, 4}, {56, 28, 4, 1});
  TensorView over_a = a_in_wide;
  over_a.data = wide.data() + 4;
  expect_invalid(
      "out",
      [&] {
        merge_attention(a_in_wide, lse_a.view(), out_b.view(), lse_b.view(), over_a,
                        lse_out.view());
      },
      "must be out_a or out_b exactly");
  std::vector<float> lse_wide(static_cast<std::size_t>(13), 0.0f);
  TensorView lse_in_wide = lse_a.view();
  lse_in_wide.data = lse_wide.data();
  TensorView over_lse = lse_in_wide;
  over_lse.data = lse_wide.data() + 1;
  expect_invalid(
      "lse_out",
      [&] {
        merge_attention(out_a.view(), lse_in_wide, out_b.view(), lse_b.view(), out.view(),
                        over_lse);
      },
      "must be lse_a or lse_b exactly");
}

TEST(InterpolationHardening, AnOutputThatOverlapsItselfIsRejected) {
  const KeyframePlan plan = make_keyframe_plan(9, 4, 24.0);
  std::vector<float> keys(static_cast<std::size_t>(plan.diffused_frames() * 2 * 3 * 4), 0.5f);
  std::vector<float> outs(static_cast<std::size_t>(9 * 2 * 3 * 4), 0.0f);
  auto view5 = [](float* data, std::int64_t frames, std::array<std::int64_t, 5> strides) {
    TensorView v;
    v.data = data;
    v.ndim = 5;
    v.shape = {1, 2, frames, 3, 4};
    for (std::size_t i = 0; i < 5; ++i) v.strides[i] = strides[i];
    return v;
  };
  const std::int64_t kf = plan.diffused_frames();
  const TensorView keyframes = view5(keys.data(), kf, {2 * kf * 12, kf * 12, 12, 4, 1});
  EXPECT_NO_THROW(
      interpolate_frames(keyframes, plan, view5(outs.data(), 9, {216, 108, 12, 4, 1}), {}));
  expect_invalid(
      "out",
      [&] {
        interpolate_frames(keyframes, plan, view5(outs.data(), 9, {216, 108, 0, 4, 1}), {});
      },
      "must not overlap itself");
}

TEST(DeviceProfileValidation, RejectsNaNInfNegativeAndSubnormalNamingTheField) {
  const PixelShape pixels{896, 512, 97, 24.0};
  const Knobs knobs = resolve_preset("balanced");
  EXPECT_NO_THROW((void)make_plan(pixels, knobs, {}, {}, DeviceProfile{}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double DeviceProfile::*field :
       {&DeviceProfile::linear_flops_per_s, &DeviceProfile::attention_flops_per_s,
        &DeviceProfile::window_efficiency, &DeviceProfile::memory_bytes_per_s,
        &DeviceProfile::offload_bytes_per_s, &DeviceProfile::per_block_overhead_s,
        &DeviceProfile::per_call_overhead_s, &DeviceProfile::sustained_fraction}) {
    for (const double bad : {nan, inf, -inf, -1.0, 5e-324, 1e300}) {
      DeviceProfile device;
      device.*field = bad;
      try {
        (void)make_plan(pixels, knobs, {}, {}, device);
        ADD_FAILURE() << "accepted " << bad;
      } catch (const InvalidArgument& e) {
        EXPECT_EQ(e.parameter().rfind("DeviceProfile.", 0), 0u) << e.what();
        EXPECT_NE(std::string(e.what()).find("must be"), std::string::npos) << e.what();
      }
    }
  }
  DeviceProfile none;
  none.offload_bytes_per_s = 0;  // 0 means "not offloaded"
  none.per_block_overhead_s = 0;
  none.per_call_overhead_s = 0;
  EXPECT_NO_THROW((void)make_plan(pixels, knobs, {}, {}, none));
  expect_invalid(
      "DeviceProfile.per_block_overhead_s",
      [] { validate_device_profile_field("per_block_overhead_s", 5e-324); },
      "must be 0 (none) or in [1e-09, 1], got 4.94066e-324");
}

// A sensor that reports what it is told to.
class ScriptedSensor : public Sensor {
 public:
  ThermalLimits limits_value;
  ThermalReading reading;
  [[nodiscard]] bool available() const override { return true; }
  [[nodiscard]] std::string unavailable_reason() const override { return {}; }
  [[nodiscard]] std::string description() const override { return "scripted"; }
  [[nodiscard]] ThermalLimits limits() override { return limits_value; }
  [[nodiscard]] ThermalReading read() override { return reading; }
};

TEST(ThermalHardening, AZeroWattPowerLimitIsNoTarget) {
  auto sensor = std::make_shared<ScriptedSensor>();
  sensor->limits_value.slowdown_c = 90.0;
  sensor->limits_value.enforced_power_limit_w = 0.0;
  sensor->reading.temperature_c = 50.0;
  sensor->reading.power_w = 100.0;
  sensor->reading.power_limit_w = 0.0;
  GovernorConfig config;
  config.target_power_fraction = 0.5;
  ThermalGovernor governor(sensor, config);
  governor.start(0.0);
  (void)governor.update(0.5);
  EXPECT_FALSE(governor.state().power_target_w.has_value());
  bool said = false;
  for (const std::string& n : governor.notes())
    said |= n.find("no power limit") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(ThermalHardening, ImpossibleReadingsAreSensorErrors) {
  for (const bool bad_temperature : {true, false}) {
    auto sensor = std::make_shared<ScriptedSensor>();
    sensor->limits_value.slowdown_c = 90.0;
    sensor->limits_value.enforced_power_limit_w = 300.0;
    sensor->reading.temperature_c = bad_temperature ? 4294967295.0 : 60.0;
    sensor->reading.power_w = bad_temperature ? 100.0 : 4294967.295;
    GovernorConfig config;
    config.target_temperature_c = 70.0;
    ThermalGovernor governor(sensor, config);
    governor.start(0.0);
    EXPECT_FALSE(governor.available());
    EXPECT_NE(governor.unavailable_reason().find("impossible reading"), std::string::npos)
        << governor.unavailable_reason();
    EXPECT_FALSE(governor.governing());
  }
}

}  // namespace
}  // namespace ltx2eff
