// The simulated GPU follows its thermal model, so the governor's tests test the governor.
#include <gtest/gtest.h>

#include <cmath>

#include "ltx2eff/error.hpp"
#include "ltx2eff/thermal_sensor.hpp"
#include "ltx2eff/thermal_sim.hpp"

namespace ltx2eff {
namespace {

TEST(SimulatedGpu, FirstOrderResponseMatchesTheClosedForm) {
  SimulatedGpuSpec spec;
  spec.integer_temperature = false;
  spec.full_load_power_w = 250.0;  // under the limit: no clamp
  SimulatedGpu gpu(spec);
  const double t0 = gpu.temperature();
  const double t_inf = spec.ambient_c + 250.0 * spec.thermal_resistance_c_per_w;
  // dT/dt = (P R - (T - Ta)) / tau  =>  T(t) = T_inf + (T0 - T_inf) exp(-t / tau)
  for (const double t : {5.0, 30.0, 90.0}) {
    SimulatedGpu g(spec);
    g.advance(t, 1.0);
    const double expected = t_inf + (t0 - t_inf) * std::exp(-t / spec.time_constant_s);
    EXPECT_NEAR(g.temperature(), expected, 0.05) << "t=" << t;
  }
  gpu.advance(600.0, 1.0);
  EXPECT_NEAR(gpu.temperature(), t_inf, 0.01);
  EXPECT_NEAR(gpu.steady_temperature(1.0), t_inf, 1e-9);
  // Half duty: half the dynamic power.
  SimulatedGpu half(spec);
  half.advance(600.0, 0.5);
  EXPECT_NEAR(half.temperature(), half.steady_temperature(0.5), 0.01);
  EXPECT_NEAR(half.steady_power(0.5), spec.idle_power_w + 0.5 * (250.0 - spec.idle_power_w), 1e-9);
}

TEST(SimulatedGpu, PowerLimitClampsPowerAndSlowsWork) {
  SimulatedGpuSpec spec;  // demand 320 W against a 300 W limit
  SimulatedGpu gpu(spec);
  const double seconds = gpu.work(10.0);
  const double speed =
      (spec.power_limit_w - spec.idle_power_w) / (spec.full_load_power_w - spec.idle_power_w);
  EXPECT_NEAR(seconds, 10.0 / speed, 0.02);
  EXPECT_NEAR(gpu.instantaneous_power(), spec.power_limit_w, 1e-9);
  const ThermalReading r = gpu.read();
  ASSERT_TRUE(r.clock_event_reasons.has_value());
  EXPECT_TRUE(*r.clock_event_reasons & clock_event::kSwPowerCap);
  ASSERT_TRUE(r.power_w.has_value());
  EXPECT_NEAR(*r.power_w, spec.power_limit_w, 0.5);  // the trailing average, all at the limit
  ASSERT_TRUE(r.energy_j.has_value());
  EXPECT_NEAR(*r.energy_j, gpu.energy(), 1e-3);
  EXPECT_NEAR(gpu.energy(), spec.power_limit_w * seconds, 1.0);
}

TEST(SimulatedGpu, ReportedPowerIsATrailingAverage) {
  SimulatedGpuSpec spec;
  spec.power_average_window_s = 1.0;
  SimulatedGpu gpu(spec);
  gpu.advance(2.0, 0.0);
  gpu.advance(0.5, 1.0);  // half of the window busy at the limit, half idle
  const ThermalReading r = gpu.read();
  ASSERT_TRUE(r.power_w && r.utilization);
  EXPECT_NEAR(*r.power_w, 0.5 * (spec.power_limit_w + spec.idle_power_w), 2.0);
  EXPECT_NEAR(*r.utilization, 0.5, 0.02);
  EXPECT_EQ(*r.temperature_c, std::floor(*r.temperature_c));  // whole degrees, as NVML
}

TEST(SimulatedGpu, SlowdownAboveTheThresholdCutsPower) {
  SimulatedGpuSpec spec;
  spec.thermal_resistance_c_per_w = 0.3;  // 300 W would settle at 120 C
  spec.slowdown_power_factor = 0.4;       // 152 W: would settle at 76 C
  spec.time_constant_s = 5.0;
  SimulatedGpu gpu(spec);
  gpu.advance(60.0, 1.0);
  EXPECT_GE(gpu.temperature(), spec.slowdown_c - 0.5);
  EXPECT_LT(gpu.temperature(), spec.slowdown_c + 2.0);  // the slowdown holds it near there
  const ThermalReading r = gpu.read();
  ASSERT_TRUE(r.clock_event_reasons.has_value());
  EXPECT_TRUE(*r.clock_event_reasons & clock_event::kHwThermalSlowdown);
}

TEST(SimulatedGpu, RejectsBadSpecsAndInputs) {
  SimulatedGpuSpec spec;
  spec.time_constant_s = 0.0;
  EXPECT_THROW(SimulatedGpu{spec}, InvalidArgument);
  SimulatedGpu gpu;
  EXPECT_THROW(gpu.advance(1.0, 1.5), InvalidArgument);
  EXPECT_THROW(gpu.advance(-1.0, 0.5), InvalidArgument);
  EXPECT_THROW(gpu.set_load(-0.1), InvalidArgument);
  try {
    gpu.advance(1.0, 2.0);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "busy_fraction must be in [0, 1], got 2");
  }
}

TEST(ClockEventReasons, DecodeNames) {
  EXPECT_EQ(describe_clock_event_reasons(0), "none");
  EXPECT_EQ(
      describe_clock_event_reasons(clock_event::kSwPowerCap | clock_event::kHwThermalSlowdown),
      "sw_power_cap, hw_thermal");
  const auto names = clock_event_reason_names(clock_event::kGpuIdle | 0x10000);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "idle");
  EXPECT_EQ(names[1], "0x10000");
}

}  // namespace
}  // namespace ltx2eff
