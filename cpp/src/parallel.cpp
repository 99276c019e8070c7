#include "ltx2eff/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ltx2eff/error.hpp"

namespace ltx2eff {

int cpu_thread_count() {
  if (const char* env = std::getenv("LTX2EFF_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || value < 1 || value > kMaxCpuThreads) {
      fail("LTX2EFF_NUM_THREADS",
           "must be an integer in [1, " + std::to_string(kMaxCpuThreads) + "], got '" + env + "'");
    }
    return static_cast<int>(value);
  }
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(std::min<unsigned>(hardware, kMaxCpuThreads));
}

void parallel_for(std::int64_t count, int threads,
                  const std::function<void(std::int64_t item, int worker)>& body) {
  if (count <= 0) return;
  const int workers = static_cast<int>(std::clamp<std::int64_t>(threads, 1, count));
  std::atomic<std::int64_t> next{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};

  auto work = [&](int worker) {
    try {
      for (std::int64_t item = next++; item < count && !failed.load(); item = next++) {
        body(item, worker);
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) {
    try {
      pool.emplace_back(work, w);
    } catch (const std::system_error&) {
      break;  // the OS refused another thread: the ones started (and this one) do the work
    }
  }
  work(0);
  for (std::thread& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ltx2eff
