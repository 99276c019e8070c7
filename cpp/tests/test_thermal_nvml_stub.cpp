// NVML as a broken driver reports it (the stub in nvml_stub.cpp): strings that fill their buffers
// without a NUL are copied with a bound, a 0 W enforced limit is no limit, and a 4294967295 C
// reading makes the governor stop with a sensor error instead of acting on it.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ltx2eff/thermal_governor.hpp"
#include "ltx2eff/thermal_nvml.hpp"

#if defined(LTX2EFF_NVML_STUB)

namespace ltx2eff {
namespace {

TEST(NvmlStub, UnterminatedStringsAreCopiedWithABound) {
  const NvmlStatus status = nvml_status(LTX2EFF_NVML_STUB);
  ASSERT_TRUE(status.available) << status.reason;
  EXPECT_EQ(status.driver_version, std::string(96, 'A'));
  NvmlDeviceSelector selector;
  selector.library_path = LTX2EFF_NVML_STUB;
  const std::shared_ptr<Sensor> sensor = open_nvml_sensor(selector);
  ASSERT_TRUE(sensor->available()) << sensor->unavailable_reason();
  EXPECT_EQ(sensor->limits().name, std::string(96, 'A'));
  EXPECT_EQ(sensor->description().rfind(std::string(96, 'A'), 0), 0u);
}

TEST(NvmlStub, AZeroWattLimitIsNoneAndAnImpossibleTemperatureIsASensorError) {
  NvmlDeviceSelector selector;
  selector.library_path = LTX2EFF_NVML_STUB;
  const std::shared_ptr<Sensor> sensor = open_nvml_sensor(selector);
  ASSERT_TRUE(sensor->available());
  EXPECT_FALSE(sensor->limits().enforced_power_limit_w.has_value());
  EXPECT_FALSE(sensor->read().power_limit_w.has_value());
  GovernorConfig config;
  config.target_temperature_c = 70.0;
  ThermalGovernor governor(sensor, config);
  governor.start(0.0);
  EXPECT_FALSE(governor.governing());
  EXPECT_NE(governor.unavailable_reason().find("impossible reading (temperature 4294967295 C)"),
            std::string::npos)
      << governor.unavailable_reason();
}

}  // namespace
}  // namespace ltx2eff

#endif
