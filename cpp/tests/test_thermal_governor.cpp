// The governor against the simulated GPU: it settles on the target without oscillating,
// recovers after a load change, pauses near the slowdown threshold, and does nothing (but says
// why) when there is no sensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ltx2eff/error.hpp"
#include "ltx2eff/thermal_governor.hpp"
#include "ltx2eff/thermal_nvml.hpp"
#include "ltx2eff/thermal_pi.hpp"
#include "ltx2eff/thermal_sim.hpp"

namespace ltx2eff {
namespace {

// One point per work unit, taken when the unit and its wait are over.
struct Point {
  double t;
  double temperature;  // the model's true temperature
  double energy;
  double work;
  double duty;
  bool emergency;
};

struct Trace {
  std::vector<Point> points;
  double waited = 0.0;
  int emergency_decisions = 0;

  // Average power over [from, to] from the model's energy.
  [[nodiscard]] double average_power(double from, double to) const {
    const Point* a = nullptr;
    const Point* b = nullptr;
    for (const Point& p : points) {
      if (a == nullptr && p.t >= from) a = &p;
      if (p.t <= to) b = &p;
    }
    EXPECT_TRUE(a != nullptr && b != nullptr && b->t > a->t);
    return (b->energy - a->energy) / (b->t - a->t);
  }
  [[nodiscard]] double work_rate(double from, double to) const {
    const Point* a = nullptr;
    const Point* b = nullptr;
    for (const Point& p : points) {
      if (a == nullptr && p.t >= from) a = &p;
      if (p.t <= to) b = &p;
    }
    return (b->work - a->work) / (b->t - a->t);
  }
  // Largest power averaged over `window` seconds, over windows starting in [from, to].
  [[nodiscard]] double peak_power(double from, double to, double window) const {
    double peak = 0.0;
    for (double t = from; t + window <= to; t += window / 2) {
      peak = std::max(peak, average_power(t, t + window));
    }
    return peak;
  }
  template <class F>
  [[nodiscard]] std::pair<double, double> range(double from, double to, F field) const {
    double lo = 1e300;
    double hi = -1e300;
    for (const Point& p : points) {
      if (p.t < from || p.t > to) continue;
      lo = std::min(lo, field(p));
      hi = std::max(hi, field(p));
    }
    return {lo, hi};
  }
};

// A sampler: units of `unit` seconds of work, paced by the governor, until `until`.
void run_paced(SimulatedGpu& gpu, ThermalGovernor& governor, double unit, double until,
               Trace& trace) {
  while (gpu.now() < until) {
    gpu.work(unit);
    PaceDecision d = governor.pace(gpu.now());
    while (d.wait_s > 0.0) {
      gpu.advance(d.wait_s, 0.0);
      trace.waited += d.wait_s;
      governor.resumed(gpu.now());
      if (!d.emergency) break;
      ++trace.emergency_decisions;
      d = governor.recheck(gpu.now());
    }
    trace.points.push_back({gpu.now(), gpu.temperature(), gpu.energy(), gpu.work_done(),
                            governor.state().duty, governor.state().emergency});
  }
}

std::shared_ptr<SimulatedGpu> make_gpu(double tau = 30.0) {
  SimulatedGpuSpec spec;  // 40 W idle, 320 W demand against a 300 W limit
  spec.time_constant_s = tau;
  return std::make_shared<SimulatedGpu>(spec);
}

GovernorConfig power_target(double fraction) {
  GovernorConfig c;
  c.target_power_fraction = fraction;
  return c;
}

GovernorConfig temperature_target(double celsius) {
  GovernorConfig c;
  c.target_temperature_c = celsius;
  return c;
}

TEST(PiDutyLoop, EngagesOnlyPastTheTargetAndHoldsInsideTheDeadband) {
  PiDutyLoop loop({0.1, 0.05, 0.5, 2.0}, 0.05);
  EXPECT_DOUBLE_EQ(loop.update(3.0, 1.0), 1.0);  // under the target: not engaged
  EXPECT_FALSE(loop.engaged());
  const double d1 = loop.update(-2.0, 1.0);  // past it: pace
  EXPECT_TRUE(loop.engaged());
  EXPECT_LT(d1, 1.0);
  const double d2 = loop.update(-0.3, 1.0);  // inside the deadband: no change at all
  EXPECT_DOUBLE_EQ(d2, loop.update(0.4, 5.0));
  EXPECT_GT(d2, d1);  // the proportional part of the last error is gone
}

TEST(PiDutyLoop, AntiWindupRecoversAtOnceAfterLongSaturation) {
  PiDutyLoop loop({0.1, 0.05, 0.0, 100.0}, 0.05);
  for (int i = 0; i < 1000; ++i) loop.update(-50.0, 1.0);  // far too hot for a long time
  EXPECT_DOUBLE_EQ(loop.duty(), 0.05);
  // Without anti-windup the integrator would sit thousands below and the duty would stay at the
  // minimum for a long time; with it, the first update with room to spare raises the duty.
  EXPECT_GT(loop.update(1.0, 1.0), 0.05 + 0.1 * 1.0 - 1e-12);
}

TEST(PiDutyLoop, ReleasesOnlyWellUnderTheTarget) {
  PiDutyLoop loop({0.1, 0.5, 0.0, 2.0}, 0.05);
  loop.update(-1.0, 1.0);
  ASSERT_TRUE(loop.engaged());
  for (int i = 0; i < 20; ++i) loop.update(1.0, 1.0);  // slightly under: full duty, engaged
  EXPECT_DOUBLE_EQ(loop.duty(), 1.0);
  EXPECT_TRUE(loop.engaged());
  loop.update(3.0, 1.0);  // a whole release band under: stop pacing
  EXPECT_FALSE(loop.engaged());
}

TEST(GovernorConfig, RejectsOutOfRangeValuesNamingThem) {
  GovernorConfig c = power_target(1.5);
  try {
    c.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "target_power_fraction must be in [0.1, 1], got 1.5");
  }
  c = temperature_target(20.0);
  EXPECT_THROW(c.validate(), InvalidArgument);
  c = temperature_target(70.0);
  c.emergency_margin_c = 0.0;
  EXPECT_THROW(c.validate(), InvalidArgument);
  EXPECT_EQ(power_target(0.6).describe(), "power 60% of the limit");
  EXPECT_EQ(GovernorConfig{}.describe(), "watch only");
}

TEST(ThermalGovernor, HoldsAPowerTargetWithoutOscillating) {
  // Work units from 20 ms (a block) to 2 s (a large denoising step).
  for (const double unit : {0.02, 0.25, 2.0}) {
    SCOPED_TRACE("unit " + std::to_string(unit));
    auto gpu = make_gpu();
    ThermalGovernor governor(gpu, power_target(0.6));
    Trace trace;
    run_paced(*gpu, governor, unit, 110.0, trace);
    const double target = 180.0;
    EXPECT_NEAR(trace.average_power(40.0, 100.0), target, 0.02 * target);
    // Bounded overshoot once the loop has had a few seconds.
    EXPECT_LT(trace.peak_power(10.0, 100.0, std::max(2.0, 8 * unit)), 1.1 * target);
    // No limit cycle: the duty barely moves once settled.
    const auto [lo, hi] = trace.range(40.0, 100.0, [](const Point& p) { return p.duty; });
    EXPECT_LT(hi - lo, 0.05);
    // Work done in proportion to the power given up (the model's idle power costs a little).
    const double expected_duty = (target - 40.0) / (300.0 - 40.0);
    EXPECT_NEAR(lo, expected_duty, 0.03);
  }
}

TEST(ThermalGovernor, HoldsATemperatureTargetWithoutOscillating) {
  // Thermal time constants from a bare die to a heavy cooler.
  for (const double tau : {10.0, 40.0, 120.0}) {
    SCOPED_TRACE("tau " + std::to_string(tau));
    auto gpu = make_gpu(tau);
    const double target = 64.0;  // about 70% duty on this model
    ThermalGovernor governor(gpu, temperature_target(target));
    Trace trace;
    const double settle = 8.0 * tau;
    run_paced(*gpu, governor, 0.25, settle + 120.0, trace);
    auto temperature = [](const Point& p) { return p.temperature; };
    const auto [peak_lo, peak] = trace.range(0.0, settle + 120.0, temperature);
    EXPECT_LT(peak, target + 3.5);  // bounded overshoot
    // Settled: within the sensor's whole-degree resolution and the deadband.
    const auto [lo, hi] = trace.range(settle, settle + 120.0, temperature);
    EXPECT_GT(lo, target - 1.0);
    EXPECT_LT(hi, target + 1.5);
    const auto [dlo, dhi] =
        trace.range(settle, settle + 120.0, [](const Point& p) { return p.duty; });
    EXPECT_LT(dhi - dlo, 0.05);
    EXPECT_EQ(trace.emergency_decisions, 0);
  }
}

TEST(ThermalGovernor, RecoversAfterALoadChange) {
  auto gpu = make_gpu(20.0);
  ThermalGovernor governor(gpu, power_target(0.6));
  Trace trace;
  run_paced(*gpu, governor, 0.1, 60.0, trace);
  EXPECT_NEAR(trace.average_power(30.0, 60.0), 180.0, 3.6);
  gpu->set_load(0.7);  // lighter kernels: 236 W at full duty
  run_paced(*gpu, governor, 0.1, 120.0, trace);
  EXPECT_NEAR(trace.average_power(80.0, 120.0), 180.0, 3.6);
  gpu->set_load(1.0);  // back to heavy kernels
  run_paced(*gpu, governor, 0.1, 180.0, trace);
  EXPECT_NEAR(trace.average_power(140.0, 180.0), 180.0, 3.6);
  EXPECT_LT(trace.peak_power(121.0, 180.0, 2.0), 1.15 * 180.0);  // the step back is caught
}

TEST(ThermalGovernor, TemperatureRecoversAfterALoadChange) {
  auto gpu = make_gpu(20.0);
  ThermalGovernor governor(gpu, temperature_target(64.0));
  Trace trace;
  run_paced(*gpu, governor, 0.25, 200.0, trace);
  gpu->set_load(0.8);
  run_paced(*gpu, governor, 0.25, 400.0, trace);
  const auto [lo, hi] = trace.range(300.0, 400.0, [](const Point& p) { return p.temperature; });
  EXPECT_GT(lo, 63.0);
  EXPECT_LT(hi, 65.5);
  // Lighter load, same temperature: the governor paces less.
  EXPECT_GT(trace.points.back().duty,
            trace.range(150.0, 200.0, [](const Point& p) { return p.duty; }).second + 0.05);
}

TEST(ThermalGovernor, EmergencyPauseNearTheSlowdownThreshold) {
  SimulatedGpuSpec spec;
  spec.thermal_resistance_c_per_w = 0.3;  // 300 W would settle at 120 C, far past slowdown (90)
  spec.time_constant_s = 4.0;
  auto gpu = std::make_shared<SimulatedGpu>(spec);
  ThermalGovernor governor(gpu, power_target(1.0));  // the power target never binds
  Trace trace;
  run_paced(*gpu, governor, 0.1, 120.0, trace);
  EXPECT_GE(trace.emergency_decisions, 1);
  const ThermalReport report = governor.report(gpu->now());
  EXPECT_GE(report.emergency_pauses, 1);
  EXPECT_LE(report.emergency_pauses, 3);  // then the safety loop holds: no stop/start cycling
  EXPECT_GT(report.emergency_s, 0.0);
  // The GPU never reached its slowdown threshold, so it never throttled itself.
  const auto [lo, peak] = trace.range(0.0, 120.0, [](const Point& p) { return p.temperature; });
  EXPECT_LT(peak, spec.slowdown_c);
  EXPECT_FALSE(report.clock_event_reasons & clock_event::kHwThermalSlowdown);
  const auto [tlo, thi] = trace.range(60.0, 120.0, [](const Point& p) { return p.temperature; });
  EXPECT_GT(tlo, 78.0);  // held just under the emergency point, not far below it
  EXPECT_LT(thi, 85.0);
}

TEST(ThermalGovernor, EmergencyPauseEndsAfterItsLimitAndSaysSo) {
  SimulatedGpuSpec spec;
  spec.ambient_c = 88.0;  // hotter than the emergency point (85) even when idle
  auto gpu = std::make_shared<SimulatedGpu>(spec);
  GovernorConfig config = temperature_target(70.0);
  config.max_emergency_pause_s = 5.0;
  ThermalGovernor governor(gpu, config);
  Trace trace;
  run_paced(*gpu, governor, 0.1, 30.0, trace);
  const ThermalReport report = governor.report(gpu->now());
  EXPECT_NEAR(report.emergency_s, 5.0, 0.5);
  // Work went on at the minimum duty (without the limit it would stop after the first unit).
  EXPECT_GT(gpu->work_done(), 0.5);
  bool noted = false;
  for (const std::string& n : report.notes)
    noted |= n.find("emergency margin") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(ThermalGovernor, TighterOfTwoTargetsWins) {
  {
    auto gpu = make_gpu();
    GovernorConfig c = temperature_target(55.0);
    c.target_power_fraction = 0.9;
    ThermalGovernor governor(gpu, c);
    Trace trace;
    run_paced(*gpu, governor, 0.1, 250.0, trace);
    EXPECT_EQ(governor.state().limiting, "temperature");
  }
  {
    auto gpu = make_gpu();
    GovernorConfig c = temperature_target(80.0);
    c.target_power_fraction = 0.5;
    ThermalGovernor governor(gpu, c);
    Trace trace;
    run_paced(*gpu, governor, 0.1, 100.0, trace);
    EXPECT_EQ(governor.state().limiting, "power");
    EXPECT_NEAR(trace.average_power(50.0, 100.0), 150.0, 3.0);
  }
}

TEST(ThermalGovernor, LowersATemperatureTargetAboveTheEmergencyPoint) {
  auto gpu = make_gpu();
  ThermalGovernor governor(gpu, temperature_target(95.0));
  governor.start(gpu->now());
  ASSERT_TRUE(governor.state().temperature_target_c.has_value());
  EXPECT_DOUBLE_EQ(*governor.state().temperature_target_c, 90.0 - 5.0 - 3.0);
  ASSERT_EQ(governor.notes().size(), 1u);
  EXPECT_NE(governor.notes()[0].find("lowered to 82 C"), std::string::npos);
}

TEST(ThermalGovernor, TimeSlicedDutyHoldsPower) {
  // The `thermal hold` way: no work units, a duty per fixed time slice of a paused process.
  auto gpu = make_gpu();
  ThermalGovernor governor(gpu, power_target(0.5));
  governor.start(gpu->now());
  const double period = 0.05;
  double energy_at_30 = 0.0;
  while (gpu->now() < 90.0) {
    const GovernorState& s = governor.update(gpu->now());
    const double duty = s.emergency ? 0.0 : s.duty;
    gpu->advance(period, duty);
    governor.record_pause((1.0 - duty) * period, s.emergency);
    if (energy_at_30 == 0.0 && gpu->now() >= 30.0) energy_at_30 = gpu->energy();
  }
  EXPECT_NEAR((gpu->energy() - energy_at_30) / (gpu->now() - 30.0), 150.0, 3.0);
}

TEST(ThermalGovernor, ReportMatchesTheSimulation) {
  auto gpu = make_gpu();
  const double e0 = gpu->energy();
  const double t0 = gpu->now();
  ThermalGovernor governor(gpu, power_target(0.6));
  governor.start(t0);
  Trace trace;
  run_paced(*gpu, governor, 0.1, 60.0, trace);
  const ThermalReport r = governor.report(gpu->now());
  ASSERT_TRUE(r.available);
  EXPECT_NEAR(r.duration_s, gpu->now() - t0, 1e-9);
  ASSERT_TRUE(r.energy_j.has_value());
  EXPECT_TRUE(r.energy_from_counter);
  EXPECT_NEAR(*r.energy_j, gpu->energy() - e0, 0.01);
  ASSERT_TRUE(r.average_power_w.has_value());
  EXPECT_NEAR(*r.average_power_w, (gpu->energy() - e0) / (gpu->now() - t0), 0.01);
  EXPECT_NEAR(r.paced_s, trace.waited, 1e-6);
  EXPECT_EQ(r.work_units, static_cast<int>(trace.points.size()));
  ASSERT_TRUE(r.peak_power_w && r.peak_temperature_c && r.average_temperature_c);
  EXPECT_LE(*r.peak_power_w, 300.0 + 1e-9);
  EXPECT_GE(*r.peak_temperature_c, *r.average_temperature_c);
  // Unpaced at first, the model hit its power limit; the pauses' "idle" is not reported.
  EXPECT_TRUE(r.clock_event_reasons & clock_event::kSwPowerCap);
  EXPECT_FALSE(r.clock_event_reasons & clock_event::kGpuIdle);
  const std::string line = r.summary_line();
  EXPECT_NE(line.find("power 60% of 300 W (180 W)"), std::string::npos) << line;
  EXPECT_NE(line.find("throttle: sw_power_cap"), std::string::npos) << line;
  EXPECT_NE(r.to_json().find("\"clock_event_reasons\":[\"sw_power_cap\"]"), std::string::npos);
}

TEST(ThermalGovernor, UnavailableNvmlIsHandled) {
  NvmlDeviceSelector selector;
  selector.library_path = "/nonexistent/libnvidia-ml.so.1";
  const NvmlStatus status = nvml_status(selector.library_path);
  EXPECT_FALSE(status.available);
  EXPECT_FALSE(status.reason.empty());
  const std::shared_ptr<Sensor> sensor = open_nvml_sensor(selector);
  EXPECT_FALSE(sensor->available());
  EXPECT_EQ(sensor->unavailable_reason(), status.reason);
  EXPECT_THROW((void)sensor->read(), Unavailable);

  ThermalGovernor governor(sensor, power_target(0.6));
  EXPECT_FALSE(governor.available());
  EXPECT_FALSE(governor.governing());
  for (int i = 0; i < 3; ++i) {
    const PaceDecision d = governor.pace(1.0 + i);
    EXPECT_EQ(d.wait_s, 0.0);
    EXPECT_EQ(d.duty, 1.0);
  }
  const ThermalReport r = governor.report(4.0);
  EXPECT_FALSE(r.available);
  EXPECT_EQ(r.unavailable_reason, status.reason);
  EXPECT_EQ(r.summary_line(), "not paced (" + status.reason + ")");
}

#if defined(__linux__)
TEST(ThermalGovernor, ALibraryThatIsNotNvmlIsUnavailable) {
  NvmlDeviceSelector selector;
  selector.library_path = "libm.so.6";  // loads, but has no NVML entry points
  const std::shared_ptr<Sensor> sensor = open_nvml_sensor(selector);
  EXPECT_FALSE(sensor->available());
  EXPECT_NE(sensor->unavailable_reason().find("not a usable NVML library"), std::string::npos);
}
#endif

}  // namespace
}  // namespace ltx2eff
