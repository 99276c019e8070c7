// The key subsets that split window attention into an intra-frame and a cross-frame part, for
// "spatial freeze": keep the intra-frame partial (output, LSE) of the last full step and recompute
// only the cross-frame part, merged by log-sum-exp (merge_attention). For every query,
//   merge(attention over kOwnFrame, attention over kOtherFrames) == attention over kAll.
#pragma once

#include "ltx2eff/attention.hpp"

namespace ltx2eff {

enum class KeySubset {
  kAll,          // the window plan's key set (what window_attention computes)
  kOwnFrame,     // grid queries: the keys of their own frame only; global queries: no key
  kOtherFrames,  // grid queries: the window plan's key set minus their own frame (other near
                 // frames, anchor, global keys, far field); global queries: every key
};

// Like window_attention over the chosen subset of each query's keys. A query without keys gets
// out = 0 and lse = -inf (so it contributes nothing to a merge). The CPU and CUDA kernels both
// compute every subset.
AttentionBackend window_attention_subset(const TensorView& q, const TensorView& k,
                                         const TensorView& v, const TensorView& out,
                                         const TensorView* lse, const AttentionOptions& options,
                                         KeySubset subset);

const char* to_string(KeySubset subset);
const char* to_string(AttentionBackend backend);

}  // namespace ltx2eff
