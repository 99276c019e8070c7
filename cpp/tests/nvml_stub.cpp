// A stand-in NVML for tests: one GPU whose strings fill their buffers without a terminating NUL,
// whose enforced power limit is 0 W and whose temperature sensor reads 4294967295 C. The real
// library's ABI for the functions the core binds.
#include <cstring>

namespace {
int g_device = 0;

void fill_unterminated(char* buffer, unsigned int length) {
  std::memset(buffer, 'A', length);  // no NUL anywhere: the caller must bound its copy
}
}  // namespace

extern "C" {

int nvmlInit_v2() {
  return 0;
}
const char* nvmlErrorString(int) {
  return "stub error";
}
int nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  fill_unterminated(version, length);
  return 0;
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 1;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int, void** device) {
  *device = &g_device;
  return 0;
}
int nvmlDeviceGetName(void*, char* name, unsigned int length) {
  fill_unterminated(name, length);
  return 0;
}
int nvmlDeviceGetTemperature(void*, int, unsigned int* celsius) {
  *celsius = 4294967295u;
  return 0;
}
int nvmlDeviceGetTemperatureThreshold(void*, int, unsigned int* celsius) {
  *celsius = 90;
  return 0;
}
int nvmlDeviceGetPowerUsage(void*, unsigned int* milliwatts) {
  *milliwatts = 100000;
  return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(void*, unsigned int* milliwatts) {
  *milliwatts = 0;
  return 0;
}
}
