// A small fork-join helper for the CPU kernels: std::thread only, no pool kept between calls.
#pragma once

#include <cstdint>
#include <functional>

namespace ltx2eff {

inline constexpr int kMaxCpuThreads = 1024;

// Worker threads for CPU kernels: LTX2EFF_NUM_THREADS when set (an integer in [1, 1024]; any
// other value throws InvalidArgument naming the variable), else std::thread::hardware_concurrency
// (1 when unknown).
int cpu_thread_count();

// Runs body(item, worker) for every item in [0, count) on up to `threads` threads (worker in
// [0, threads)); items are handed out one at a time, so uneven items balance themselves. The
// calling thread works too. The first exception thrown by a body is rethrown after all threads
// have joined.
void parallel_for(std::int64_t count, int threads,
                  const std::function<void(std::int64_t item, int worker)>& body);

}  // namespace ltx2eff
