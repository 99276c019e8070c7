// The CPU implementation behind window_attention / merge_attention. The dispatcher
// (attention.cpp) validates everything first; these functions assume valid views.
#pragma once

#include <string>
#include <vector>

#include "ltx2eff/attention_split.hpp"

namespace ltx2eff {

// Instruction sets the CPU kernel is compiled for; the best one the CPU supports is picked at
// run time (LTX2EFF_CPU_ISA=generic|avx2|avx512 forces one, for checks and measurements).
enum class CpuIsa { kGeneric, kAvx2, kAvx512 };

std::string to_string(CpuIsa isa);
// The instruction sets this build can run on this CPU, generic first.
std::vector<CpuIsa> available_cpu_isas();
// The instruction set the kernel uses by default (LTX2EFF_CPU_ISA, else the best available).
CpuIsa default_cpu_isa();

struct CpuAttentionCall {
  TensorView q, k, v, out;          // [B, heads, T, D], unit stride on D, one dtype
  const TensorView* lse = nullptr;  // contiguous float32 [B, heads, T], or null
  AttentionOptions options;         // scale already resolved (> 0)
  KeySubset subset = KeySubset::kAll;
  int threads = 1;
  CpuIsa isa = CpuIsa::kGeneric;
};

void cpu_window_attention(const CpuAttentionCall& call);

// Views already validated: out_* [B, heads, T, D] (unit stride on D), lse_* float32 [B, heads, T]
// with any strides.
void cpu_merge_attention(const TensorView& out_a, const TensorView& lse_a, const TensorView& out_b,
                         const TensorView& lse_b, const TensorView& out, const TensorView& lse_out,
                         int threads);

}  // namespace ltx2eff
