// The Hopper (sm_90a) window-attention kernel: warpgroup MMA (wgmma) with the same schedule,
// semantics and parameter block as the portable kernel. Compiled only for compute_90a, and only
// when the build targets sm_90 (LTX2EFF_HAVE_SM90A); the launcher uses it on 9.0 devices alone.
#pragma once

#include <cuda_runtime.h>

#include "attention_common.cuh"
#include "ltx2eff/cuda/attention_launch.hpp"

namespace ltx2eff::cuda::detail {

// Whether the sm_90a kernel handles this dtype and head dim (the 8-bit far field stays on the
// portable kernel).
bool sm90a_supports(ElemType dtype, int head_dim);

// Launches the kernel for `batch` x p.heads x p.tiles.total_tiles CTAs on `stream`; throws
// std::runtime_error on a CUDA error.
void launch_window_attention_sm90a(const AttentionParams& p, ElemType dtype, int batch,
                                   cudaStream_t stream);

}  // namespace ltx2eff::cuda::detail
