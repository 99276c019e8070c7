// The CUDA attention entry points for builds without a CUDA toolkit: nothing is supported, and
// calling a launcher says why (the dispatcher checks window_attention_supported first).
#include "ltx2eff/cuda/attention_launch.hpp"
#include "ltx2eff/error.hpp"

#if !defined(LTX2EFF_HAVE_CUDA)

namespace ltx2eff::cuda {

bool window_attention_supported(const AttentionLaunch& /*launch*/) {
  return false;
}

void window_attention(const AttentionLaunch& /*launch*/) {
  throw Unavailable("this build has no CUDA attention kernel (no CUDA toolkit at build time)");
}

void merge_attention(const MergeLaunch& /*launch*/) {
  throw Unavailable("this build has no CUDA merge kernel (no CUDA toolkit at build time)");
}

}  // namespace ltx2eff::cuda

#endif
