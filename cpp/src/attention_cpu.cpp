// CPU window attention: flash-style online softmax per query tile over exactly the key ranges of
// the window plan, in float32 whatever the input dtype.
//
// Per (batch, head) the keys and values are converted once to float32: K in panels of 16 keys
// stored [D][16] (so the score micro-kernel streams a contiguous panel), V row-major, both with
// the head dim padded to a multiple of 16 and the rows of every frame padded to a multiple of 16
// (padding rows get a -inf logit bias), so every key range of the plan is whole panels and never
// touches a key it does not see. With a far field the p x p average-pooled K/V of every frame
// are built from those buffers, with log(count) of each cell as the logit bias. A work item is
// one tile of up to 32 queries of one frame (or of the global tokens); it walks its list of key
// ranges in blocks of 128 keys: S = Q K^T by a 4x16 (8x16 on AVX-512) register-blocked
// micro-kernel, + bias, online softmax (running max, denominator, rescaled accumulator), and
// acc += P V with the same micro-kernel.
//
// Inner loops are branch-free over contiguous, padded data so the compiler vectorizes them; on
// x86-64 with GCC or Clang the tile routine is also compiled for AVX2+FMA and AVX-512 and the best
// one the CPU supports is picked at run time (the generic build targets baseline x86-64 only).
#include "ltx2eff/attention_cpu.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ltx2eff/error.hpp"
#include "ltx2eff/half_float.hpp"
#include "ltx2eff/parallel.hpp"
#include "ltx2eff/window_plan.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define LTX2EFF_X86_DISPATCH 1
// Forced inlining makes the generic tile code part of each ISA-specific entry point, so it is
// compiled once per instruction set.
#define LTX2EFF_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define LTX2EFF_X86_DISPATCH 0
#define LTX2EFF_ALWAYS_INLINE inline
#endif

namespace ltx2eff {
namespace {

constexpr int kPanel = 16;      // keys per K panel = columns of the micro-kernel
constexpr int kKeyBlock = 128;  // keys per online-softmax step (a multiple of kPanel)
constexpr int kQueryTile = 32;  // queries per work item (a multiple of every row blocking)
// Float32 copies of K/V are made for this many bytes' worth of (batch, head) pairs at a time.
constexpr std::int64_t kPrepBudgetBytes = std::int64_t{256} << 20;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::int64_t round_up(std::int64_t value, std::int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// ---- loading and storing rows of the caller's tensors ----

enum class Rounding { kNone, kBf16, kFp16 };

Rounding rounding_for(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return Rounding::kBf16;
    case Precision::kFp16:
      return Rounding::kFp16;
    default:
      return Rounding::kNone;
  }
}

// dst[0, d) = float32(src row) (rounded through bf16/fp16 when emulating a cast) * scale.
void load_row(const TensorView& view, std::int64_t offset, int d, Rounding rounding, float scale,
              float* dst) {
  switch (view.dtype) {
    case DType::kFloat32: {
      const float* src = static_cast<const float*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = src[i];
      break;
    }
    case DType::kFloat16: {
      const std::uint16_t* src = static_cast<const std::uint16_t*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = half_to_float(src[i]);
      break;
    }
    case DType::kBFloat16: {
      const std::uint16_t* src = static_cast<const std::uint16_t*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = bfloat16_to_float(src[i]);
      break;
    }
    default:
      fail("q", "dtype " + to_string(view.dtype) + " is not supported by the CPU kernel");
  }
  if (rounding == Rounding::kBf16) {
    for (int i = 0; i < d; ++i) dst[i] = round_to_bfloat16(dst[i]);
  } else if (rounding == Rounding::kFp16) {
    for (int i = 0; i < d; ++i) dst[i] = round_to_half(dst[i]);
  }
  if (scale != 1.0f) {
    for (int i = 0; i < d; ++i) dst[i] *= scale;
  }
}

// view row = src[0, d) * multiplier, converted to the view's dtype.
void store_row(const TensorView& view, std::int64_t offset, int d, const float* src,
               float multiplier) {
  switch (view.dtype) {
    case DType::kFloat32: {
      float* dst = static_cast<float*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = src[i] * multiplier;
      break;
    }
    case DType::kFloat16: {
      std::uint16_t* dst = static_cast<std::uint16_t*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = float_to_half(src[i] * multiplier);
      break;
    }
    case DType::kBFloat16: {
      std::uint16_t* dst = static_cast<std::uint16_t*>(view.data) + offset;
      for (int i = 0; i < d; ++i) dst[i] = float_to_bfloat16(src[i] * multiplier);
      break;
    }
    default:
      fail("out", "dtype " + to_string(view.dtype) + " is not supported by the CPU kernel");
  }
}

std::int64_t row_offset(const TensorView& view, std::int64_t b, std::int64_t h, std::int64_t t) {
  return b * view.stride(0) + h * view.stride(1) + t * view.stride(2);
}

// Symmetric per-row 8-bit quantisation, returned dequantised (q8 * scale): the products of two
// such rows equal the integer dot product times both scales, which is what an 8-bit QK computes.
void quantize_row_8bit(float* row, int d) {
  float amax = 0.0f;
  for (int i = 0; i < d; ++i) amax = std::max(amax, std::fabs(row[i]));
  if (!(amax > 0.0f) || !std::isfinite(amax)) return;  // zeros stay zeros; NaN/inf propagate
  const float step = amax / 127.0f;
  for (int i = 0; i < d; ++i) {
    const float level = std::clamp(std::nearbyint(row[i] / step), -127.0f, 127.0f);
    row[i] = level * step;
  }
}

// ---- the plan: which key ranges each query tile visits ----

// Keys live in float32 buffers whose rows are padded per frame: frame f occupies rows
// [f * frame_rows, (f + 1) * frame_rows) with frame_rows = round_up(H * W, 16), the global tokens
// follow, padded the same way, and pooled keys use round_up(cells, 16) rows per frame. Every key
// range therefore starts and ends on a panel boundary, no range reads a key of a frame it does
// not see, and padding rows carry a -inf logit bias (real rows 0, pooled rows log(count)).
struct KeyRange {
  std::int64_t begin = 0;  // rows of the exact buffers, or of the pooled ones
  std::int64_t end = 0;
  bool pooled = false;
};

struct QueryTile {
  std::int64_t begin = 0;  // first query token
  int count = 0;
  int ranges = 0;  // index into TilePlan::ranges
};

struct TilePlan {
  std::vector<std::vector<KeyRange>> ranges;  // per frame, then one list for global queries
  std::vector<QueryTile> tiles;               // the same for every (batch, head)
  std::int64_t frame_rows = 0;                // padded rows per frame (exact buffers)
  std::int64_t exact_rows = 0;                // padded rows of the exact buffers
  std::vector<float> exact_bias;              // 0 for tokens, -inf for padding rows
  std::int64_t cells_per_frame = 0;           // pooled keys per frame
  std::int64_t pooled_frame_rows = 0;         // padded rows per frame (pooled buffers)
  std::int64_t pooled_rows = 0;               // 0 without far field
  std::vector<float> pooled_bias;             // log(count) per pooled key, -inf for padding

  // The buffer row of token t.
  [[nodiscard]] std::int64_t row_of(std::int64_t t, std::int64_t hw, int frames) const {
    const std::int64_t grid_tokens = hw * frames;
    return t < grid_tokens ? (t / hw) * frame_rows + t % hw : frames * frame_rows + t - grid_tokens;
  }
};

void add_range(std::vector<KeyRange>& list, std::int64_t begin, std::int64_t end, bool pooled) {
  if (end > begin) list.push_back({begin, end, pooled});
}

// Sorts exact ranges and joins touching ones so contiguous keys are walked in one pass.
std::vector<KeyRange> normalized(std::vector<KeyRange> exact, std::vector<KeyRange> pooled) {
  std::sort(exact.begin(), exact.end(),
            [](const KeyRange& a, const KeyRange& b) { return a.begin < b.begin; });
  std::vector<KeyRange> out;
  for (const KeyRange& r : exact) {
    if (!out.empty() && out.back().end == r.begin) {
      out.back().end = r.end;
    } else {
      out.push_back(r);
    }
  }
  out.insert(out.end(), pooled.begin(), pooled.end());
  return out;
}

// Rows of the exact buffers (frames, then the global tokens, each padded to whole panels) and
// their bias, and the pooled rows per frame.
void lay_out_rows(const AttentionOptions& o, const WindowPlan& window, TilePlan& plan) {
  const int frames = o.grid.frames;
  const std::int64_t hw = o.grid.tokens_per_frame();
  const std::int64_t tokens = o.grid.tokens() + o.global_tokens;
  plan.frame_rows = round_up(hw, kPanel);
  plan.exact_rows = frames * plan.frame_rows + round_up(o.global_tokens, kPanel);
  plan.exact_bias.assign(static_cast<std::size_t>(plan.exact_rows), kNegInf);
  for (std::int64_t t = 0; t < tokens; ++t) {
    plan.exact_bias[static_cast<std::size_t>(plan.row_of(t, hw, frames))] = 0.0f;
  }
  plan.cells_per_frame = window.pooled_tokens_per_frame();
  plan.pooled_frame_rows = round_up(plan.cells_per_frame, kPanel);
}

// The key ranges the queries of frame f visit; sets `any_far` when they include pooled keys.
std::vector<KeyRange> frame_ranges(const CpuAttentionCall& call, const FramePlan& fp, int f,
                                   const TilePlan& plan, bool far_field, bool& any_far) {
  const std::int64_t fr = plan.frame_rows;
  const std::int64_t pr = plan.pooled_frame_rows;
  const std::int64_t global_begin = call.options.grid.frames * fr;
  const std::int64_t global_end = plan.exact_rows;
  std::vector<KeyRange> exact;
  std::vector<KeyRange> pooled;
  const std::int64_t near_begin = fp.near.begin * fr;
  const std::int64_t near_end = fp.near.end * fr;
  const std::int64_t own_begin = f * fr;
  const std::int64_t own_end = own_begin + fr;
  switch (call.subset) {
    case KeySubset::kAll:
      add_range(exact, near_begin, near_end, false);
      break;
    case KeySubset::kOwnFrame:
      add_range(exact, own_begin, own_end, false);
      break;
    case KeySubset::kOtherFrames:
      add_range(exact, near_begin, own_begin, false);
      add_range(exact, own_end, near_end, false);
      break;
  }
  if (call.subset != KeySubset::kOwnFrame) {
    if (fp.anchor) add_range(exact, 0, fr, false);
    add_range(exact, global_begin, global_end, false);
  }
  if (far_field) {
    // Runs of consecutive far frames are contiguous in the frame-major pooled buffers.
    for (std::size_t i = 0; i < fp.far.size();) {
      std::size_t j = i + 1;
      while (j < fp.far.size() && fp.far[j] == fp.far[j - 1] + 1) ++j;
      add_range(pooled, fp.far[i] * pr, (fp.far[j - 1] + 1) * pr, true);
      any_far = true;
      i = j;
    }
  }
  return normalized(std::move(exact), std::move(pooled));
}

// Tiles of up to kQueryTile queries: each frame's, then the global tokens'.
std::vector<QueryTile> query_tiles(const AttentionOptions& o) {
  const int frames = o.grid.frames;
  const std::int64_t hw = o.grid.tokens_per_frame();
  const std::int64_t grid_tokens = o.grid.tokens();
  const std::int64_t tokens = grid_tokens + o.global_tokens;
  std::vector<QueryTile> tiles;
  for (int f = 0; f < frames; ++f) {
    for (std::int64_t t = 0; t < hw; t += kQueryTile) {
      tiles.push_back(
          {f * hw + t, static_cast<int>(std::min<std::int64_t>(kQueryTile, hw - t)), f});
    }
  }
  for (std::int64_t t = grid_tokens; t < tokens; t += kQueryTile) {
    tiles.push_back({t, static_cast<int>(std::min<std::int64_t>(kQueryTile, tokens - t)), frames});
  }
  return tiles;
}

// log(count) of every pooled key (a pooled key stands for the tokens of its cell), -inf for the
// padding rows.
void lay_out_pooled_rows(const AttentionOptions& o, TilePlan& plan) {
  const int frames = o.grid.frames;
  const std::int64_t pr = plan.pooled_frame_rows;
  plan.pooled_rows = frames * pr;
  plan.pooled_bias.assign(static_cast<std::size_t>(plan.pooled_rows), kNegInf);
  const int p = o.window.far_field;
  const int cells_w = (o.grid.width + p - 1) / p;
  for (int f = 0; f < frames; ++f) {
    for (std::int64_t cell = 0; cell < plan.cells_per_frame; ++cell) {
      const int ch = static_cast<int>(cell / cells_w);
      const int cw = static_cast<int>(cell % cells_w);
      const int count_h = std::min(p, o.grid.height - ch * p);
      const int count_w = std::min(p, o.grid.width - cw * p);
      plan.pooled_bias[static_cast<std::size_t>(f * pr + cell)] =
          std::log(static_cast<float>(count_h * count_w));
    }
  }
}

TilePlan make_tile_plan(const CpuAttentionCall& call) {
  const AttentionOptions& o = call.options;
  const WindowPlan window(o.grid, o.global_tokens, o.window);
  const int frames = o.grid.frames;
  const bool far_field = o.window.far_field > 0 && call.subset != KeySubset::kOwnFrame;

  TilePlan plan;
  lay_out_rows(o, window, plan);
  bool any_far = false;
  plan.ranges.reserve(static_cast<std::size_t>(frames) + 1);
  for (int f = 0; f < frames; ++f) {
    plan.ranges.push_back(frame_ranges(call, window.frame(f), f, plan, far_field, any_far));
  }
  std::vector<KeyRange> global_list;
  if (call.subset != KeySubset::kOwnFrame) add_range(global_list, 0, plan.exact_rows, false);
  plan.ranges.push_back(std::move(global_list));
  plan.tiles = query_tiles(o);
  if (any_far) lay_out_pooled_rows(o, plan);
  return plan;
}

// ---- float32 keys and values of one (batch, head) ----

struct HeadBuffers {
  std::vector<float> k_panels;   // exact_rows / 16 panels of [dp][16]
  std::vector<float> v_rows;     // exact_rows rows of dp
  std::vector<float> kp_panels;  // pooled keys, same layout
  std::vector<float> vp_rows;    // pooled values
};

struct KernelContext {
  const CpuAttentionCall* call = nullptr;
  const TilePlan* plan = nullptr;
  int d = 0;   // head dim
  int dp = 0;  // head dim padded to kPanel
  std::int64_t tokens = 0;
  Rounding rounding = Rounding::kNone;
  bool far_8bit = false;
};

float* panel_slot(std::vector<float>& panels, int dp, std::int64_t row, int dim) {
  return &panels[static_cast<std::size_t>((row / kPanel) * dp * kPanel + dim * kPanel +
                                          row % kPanel)];
}

void prepare_head(const KernelContext& ctx, std::int64_t bh, HeadBuffers& buf,
                  std::vector<float>& row) {
  const CpuAttentionCall& call = *ctx.call;
  const TilePlan& plan = *ctx.plan;
  const AttentionOptions& o = call.options;
  const std::int64_t heads = call.q.size(1);
  const std::int64_t b = bh / heads;
  const std::int64_t h = bh % heads;
  const int dp = ctx.dp;
  const std::int64_t hw = o.grid.tokens_per_frame();
  // Padding rows stay zero: their logits get -inf and their values add nothing.
  buf.k_panels.assign(static_cast<std::size_t>(plan.exact_rows * dp), 0.0f);
  buf.v_rows.assign(static_cast<std::size_t>(plan.exact_rows * dp), 0.0f);
  row.assign(static_cast<std::size_t>(dp), 0.0f);
  for (std::int64_t t = 0; t < ctx.tokens; ++t) {
    const std::int64_t r = plan.row_of(t, hw, o.grid.frames);
    load_row(call.k, row_offset(call.k, b, h, t), ctx.d, ctx.rounding, 1.0f, row.data());
    for (int i = 0; i < ctx.d; ++i) {
      *panel_slot(buf.k_panels, dp, r, i) = row[static_cast<std::size_t>(i)];
    }
    load_row(call.v, row_offset(call.v, b, h, t), ctx.d, ctx.rounding, 1.0f,
             &buf.v_rows[static_cast<std::size_t>(r * dp)]);
  }

  if (plan.pooled_rows == 0) return;
  const int p = o.window.far_field;
  const int cells_h = (o.grid.height + p - 1) / p;
  const int cells_w = (o.grid.width + p - 1) / p;
  buf.kp_panels.assign(static_cast<std::size_t>(plan.pooled_rows * dp), 0.0f);
  buf.vp_rows.assign(static_cast<std::size_t>(plan.pooled_rows * dp), 0.0f);
  std::vector<float> k_sum(static_cast<std::size_t>(dp));
  for (int f = 0; f < o.grid.frames; ++f) {
    for (int ch = 0; ch < cells_h; ++ch) {
      for (int cw = 0; cw < cells_w; ++cw) {
        const std::int64_t pooled = f * plan.pooled_frame_rows + ch * cells_w + cw;
        float* v_sum = &buf.vp_rows[static_cast<std::size_t>(pooled * dp)];
        std::fill(k_sum.begin(), k_sum.end(), 0.0f);
        const int h_end = std::min(o.grid.height, (ch + 1) * p);
        const int w_end = std::min(o.grid.width, (cw + 1) * p);
        for (int y = ch * p; y < h_end; ++y) {
          for (int x = cw * p; x < w_end; ++x) {
            const std::int64_t r =
                f * plan.frame_rows + static_cast<std::int64_t>(y) * o.grid.width + x;
            const float* v_src = &buf.v_rows[static_cast<std::size_t>(r * dp)];
            for (int i = 0; i < ctx.d; ++i) {
              k_sum[static_cast<std::size_t>(i)] += *panel_slot(buf.k_panels, dp, r, i);
              v_sum[i] += v_src[i];
            }
          }
        }
        const float inv_count = 1.0f / static_cast<float>((h_end - ch * p) * (w_end - cw * p));
        for (int i = 0; i < ctx.d; ++i) {
          k_sum[static_cast<std::size_t>(i)] *= inv_count;
          v_sum[i] *= inv_count;
        }
        if (ctx.far_8bit) quantize_row_8bit(k_sum.data(), ctx.d);
        for (int i = 0; i < ctx.d; ++i) {
          *panel_slot(buf.kp_panels, dp, pooled, i) = k_sum[static_cast<std::size_t>(i)];
        }
      }
    }
  }
}

// ---- the tile routine (compiled once per instruction set) ----

struct Scratch {
  std::vector<float> q;      // [kQueryTile][dp], scaled queries
  std::vector<float> q8;     // the same, 8-bit quantised (far field with 8-bit QK)
  std::vector<float> s;      // [kQueryTile][kKeyBlock] scores, then weights
  std::vector<float> acc;    // [kQueryTile][dp]
  std::vector<float> m;      // running max per query
  std::vector<float> l;      // running denominator per query
  std::vector<float> zeros;  // a zero row for queries without keys
  std::int64_t score_stride = kKeyBlock;

  explicit Scratch(int dp)
      : q(static_cast<std::size_t>(kQueryTile * dp)),
        q8(static_cast<std::size_t>(kQueryTile * dp)),
        s(static_cast<std::size_t>(kQueryTile * kKeyBlock)),
        acc(static_cast<std::size_t>(kQueryTile * dp)),
        m(kQueryTile),
        l(kQueryTile),
        zeros(static_cast<std::size_t>(dp), 0.0f) {}
};

// One row of the micro-kernel's accumulator: 16 lanes, a vector register or two.
struct PanelRow {
  float lane[kPanel];
};

template <bool kFma>
LTX2EFF_ALWAYS_INLINE void multiply_add_row(PanelRow& sum, float a, const float* b) {
  for (int j = 0; j < kPanel; ++j) {
    if constexpr (kFma) {
      sum.lane[j] = std::fma(a, b[j], sum.lane[j]);
    } else {
      sum.lane[j] += a * b[j];
    }
  }
}

// sum[r] += a[r * lda + k] * b_row for every r of the sequence, written out row by row.
template <bool kFma, std::size_t... kRow>
LTX2EFF_ALWAYS_INLINE void multiply_add_rows(PanelRow* sum, const float* a, std::int64_t lda,
                                             std::int64_t k, const float* b_row,
                                             std::index_sequence<kRow...> /*rows*/) {
  (multiply_add_row<kFma>(sum[kRow], a[static_cast<std::int64_t>(kRow) * lda + k], b_row), ...);
}

// c[kRows][16] (+)= a[kRows][depth] * b[depth][16]; rows of a, b, c are lda, ldb, ldc apart.
// The rows are expanded by a fold expression and each row's 16 lanes stay an inner loop, so the
// compiler vectorizes across the lanes and keeps kRows x 16 sums in registers (it would otherwise
// vectorize along `depth` with shuffles).
template <int kRows, bool kFma>
LTX2EFF_ALWAYS_INLINE void micro_kernel(const float* a, std::int64_t lda, const float* b,
                                        std::int64_t ldb, std::int64_t depth, float* c,
                                        std::int64_t ldc, bool accumulate) {
  PanelRow sum[kRows] = {};
  if (accumulate) {
    for (int r = 0; r < kRows; ++r) {
      for (int j = 0; j < kPanel; ++j) sum[r].lane[j] = c[r * ldc + j];
    }
  }
  for (std::int64_t k = 0; k < depth; ++k) {
    const float* b_row = b + k * ldb;
    multiply_add_rows<kFma>(sum, a, lda, k, b_row, std::make_index_sequence<kRows>{});
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kPanel; ++j) c[r * ldc + j] = sum[r].lane[j];
  }
}

// The softmax helpers below compare floats only through their bit patterns: the compiler
// must not turn a float comparison into a branch (it may not speculate one that could trap),
// and integer selects vectorize on every instruction set.

// exp(x) for x <= 0 (-inf -> 0, NaN -> NaN), branch-free: 2^n * P(r) with r = x - n ln2 in
// [-ln2/2, ln2/2] and a degree-6 Taylor polynomial (relative error < 2e-7).
LTX2EFF_ALWAYS_INLINE float exp_nonpositive(float x) {
  constexpr std::uint32_t kFloorMagnitude = 0x42ae0000u;  // |-87.0f|: exp underflows below
  constexpr std::uint32_t kFloorBits = 0xc2ae0000u;       // -87.0f
  constexpr std::uint32_t kInfMagnitude = 0x7f800000u;
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  // All ones when x is in [-87, 87], else zero (also for -inf and NaN). Selects are written as
  // masks so that nothing computed below is moved behind a branch.
  const std::uint32_t keep = 0u - static_cast<std::uint32_t>(magnitude <= kFloorMagnitude);
  const float clamped = std::bit_cast<float>((bits & keep) | (kFloorBits & ~keep));
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  const float n = (clamped * 1.44269504088896341f + magic) - magic;
  const float r = (clamped - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float poly = 1.0f / 720.0f;
  poly = poly * r + 1.0f / 120.0f;
  poly = poly * r + 1.0f / 24.0f;
  poly = poly * r + 1.0f / 6.0f;
  poly = poly * r + 0.5f;
  poly = poly * r + 1.0f;
  poly = poly * r + 1.0f;
  const float two_n =
      std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<int>(n) + 127) << 23);
  const std::uint32_t value = std::bit_cast<std::uint32_t>(poly * two_n);
  const std::uint32_t nan = 0u - static_cast<std::uint32_t>(magnitude > kInfMagnitude);
  return std::bit_cast<float>((value & keep) | (0x7fc00000u & nan));  // NaN stays NaN
}

// A key whose unsigned order is the float order (NaN above +inf when positive).
LTX2EFF_ALWAYS_INLINE std::uint32_t order_key(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  return (bits & 0x80000000u) != 0 ? ~bits : (bits | 0x80000000u);
}

LTX2EFF_ALWAYS_INLINE float from_order_key(std::uint32_t key) {
  return std::bit_cast<float>((key & 0x80000000u) != 0 ? (key & 0x7fffffffu) : ~key);
}

// max(row[0, keys)); keys is a multiple of kPanel.
LTX2EFF_ALWAYS_INLINE float row_max(const float* row, int keys) {
  std::uint32_t lane[kPanel] = {};
  for (int j0 = 0; j0 < keys; j0 += kPanel) {
    for (int j = 0; j < kPanel; ++j) lane[j] = std::max(lane[j], order_key(row[j0 + j]));
  }
  std::uint32_t top = 0;
  for (int j = 0; j < kPanel; ++j) top = std::max(top, lane[j]);
  return from_order_key(top);
}

// The working set of one query tile: views into its worker's Scratch.
struct TileState {
  float* q;    // [padded_rows][dp] scaled queries
  float* q8;   // the same, 8-bit quantised (far field with 8-bit QK)
  float* s;    // [padded_rows][kKeyBlock] scores, then weights
  float* acc;  // [padded_rows][dp]
  float* m;    // running max per query
  float* l;    // running denominator per query
  int rows;
  int padded_rows;
  // A run-time stride: with the constant the compiler loads P through vector loads plus
  // broadcasts instead of broadcasting from memory, which costs a fifth of the throughput.
  std::int64_t score_stride;
};

// A tile without keys contributes nothing to a merge: zero rows, lse -inf.
void store_empty_tile(const CpuAttentionCall& call, std::int64_t b, std::int64_t h,
                      const QueryTile& tile, const float* zeros, int d, float* lse) {
  for (int r = 0; r < tile.count; ++r) {
    store_row(call.out, row_offset(call.out, b, h, tile.begin + r), d, zeros, 1.0f);
    if (lse != nullptr) lse[tile.begin + r] = kNegInf;
  }
}

// The tile's queries scaled (and 8-bit quantised where pooled keys use them); the accumulators
// and the softmax statistics reset.
LTX2EFF_ALWAYS_INLINE void start_tile(const KernelContext& ctx, std::int64_t b, std::int64_t h,
                                      const QueryTile& tile, bool quantise, const TileState& st) {
  const CpuAttentionCall& call = *ctx.call;
  const int d = ctx.d;
  const int dp = ctx.dp;
  const float scale = static_cast<float>(call.options.scale);
  std::fill(st.q, st.q + st.padded_rows * dp, 0.0f);
  for (int r = 0; r < st.rows; ++r) {
    load_row(call.q, row_offset(call.q, b, h, tile.begin + r), d, ctx.rounding, scale,
             st.q + r * dp);
  }
  if (quantise) {
    std::copy(st.q, st.q + st.padded_rows * dp, st.q8);
    for (int r = 0; r < st.rows; ++r) quantize_row_8bit(st.q8 + r * dp, d);
  }
  std::fill(st.acc, st.acc + st.padded_rows * dp, 0.0f);
  std::fill(st.m, st.m + st.padded_rows, kNegInf);
  std::fill(st.l, st.l + st.padded_rows, 0.0f);
}

// S = Q K^T + bias for the `keys` keys from row `block`. The bias is log(count) for pooled keys
// (a pooled key stands for the tokens of its cell), -inf for padding rows, 0 for tokens.
template <int kRows, bool kFma>
LTX2EFF_ALWAYS_INLINE void block_scores(const float* q_used, const float* k_panels,
                                        const float* bias, std::int64_t block, int keys, int dp,
                                        const TileState& st) {
  for (int panel = 0; panel < keys / kPanel; ++panel) {
    const float* k_panel = k_panels + (block / kPanel + panel) * dp * kPanel;
    for (int r0 = 0; r0 < st.padded_rows; r0 += kRows) {
      micro_kernel<kRows, kFma>(q_used + r0 * dp, dp, k_panel, kPanel, dp,
                                st.s + r0 * kKeyBlock + panel * kPanel, kKeyBlock, false);
    }
  }
  for (int r = 0; r < st.padded_rows; ++r) {
    float* s_row = st.s + r * kKeyBlock;
    for (int j = 0; j < keys; ++j) s_row[j] += bias[j];
  }
}

// Online softmax over one block: the new running max, what was accumulated rescaled to it, and
// the block's scores turned into weights.
LTX2EFF_ALWAYS_INLINE void softmax_step(int keys, int dp, const TileState& st) {
  for (int r = 0; r < st.padded_rows; ++r) {
    float* s_row = st.s + r * kKeyBlock;
    const float block_max = row_max(s_row, keys);
    // Finite unless the inputs hold NaN/inf: a block always holds a real key, since padding
    // comes in runs of fewer than 16 rows.
    const float new_max = order_key(block_max) > order_key(st.m[r]) ? block_max : st.m[r];
    const float correction = exp_nonpositive(st.m[r] - new_max);
    float lane_sum[kPanel] = {};
    for (int j0 = 0; j0 < keys; j0 += kPanel) {
      for (int j = 0; j < kPanel; ++j) {
        const float weight = exp_nonpositive(s_row[j0 + j] - new_max);
        s_row[j0 + j] = weight;
        lane_sum[j] += weight;
      }
    }
    float block_sum = 0.0f;
    for (int j = 0; j < kPanel; ++j) block_sum += lane_sum[j];
    st.l[r] = st.l[r] * correction + block_sum;
    st.m[r] = new_max;
    float* acc_row = st.acc + r * dp;
    for (int i = 0; i < dp; ++i) acc_row[i] *= correction;
  }
}

// acc += P V for the block.
template <int kRows, bool kFma>
LTX2EFF_ALWAYS_INLINE void accumulate_values(const float* v_rows, std::int64_t block, int keys,
                                             int dp, const TileState& st) {
  for (int d0 = 0; d0 < dp; d0 += kPanel) {
    const float* v_block = v_rows + block * dp + d0;
    for (int r0 = 0; r0 < st.padded_rows; r0 += kRows) {
      micro_kernel<kRows, kFma>(st.s + r0 * st.score_stride, st.score_stride, v_block, dp, keys,
                                st.acc + r0 * dp + d0, dp, true);
    }
  }
}

// Every key of one range, block by block.
template <int kRows, bool kFma>
LTX2EFF_ALWAYS_INLINE void attend_range(const KernelContext& ctx, const HeadBuffers& buf,
                                        const KeyRange& range, const TileState& st) {
  const TilePlan& plan = *ctx.plan;
  const int dp = ctx.dp;
  const float* k_panels = range.pooled ? buf.kp_panels.data() : buf.k_panels.data();
  const float* v_rows = range.pooled ? buf.vp_rows.data() : buf.v_rows.data();
  const float* q_used = range.pooled && ctx.far_8bit ? st.q8 : st.q;
  const float* bias_rows = range.pooled ? plan.pooled_bias.data() : plan.exact_bias.data();
  for (std::int64_t block = range.begin; block < range.end; block += kKeyBlock) {
    const int keys = static_cast<int>(std::min<std::int64_t>(kKeyBlock, range.end - block));
    block_scores<kRows, kFma>(q_used, k_panels, bias_rows + block, block, keys, dp, st);
    softmax_step(keys, dp, st);
    accumulate_values<kRows, kFma>(v_rows, block, keys, dp, st);
  }
}

template <int kRows, bool kFma>
LTX2EFF_ALWAYS_INLINE void attend_tile_impl(const KernelContext& ctx, const HeadBuffers& buf,
                                            std::int64_t bh, const QueryTile& tile,
                                            Scratch& scratch) {
  const CpuAttentionCall& call = *ctx.call;
  const std::int64_t heads = call.q.size(1);
  const std::int64_t b = bh / heads;
  const std::int64_t h = bh % heads;
  const std::vector<KeyRange>& ranges = ctx.plan->ranges[static_cast<std::size_t>(tile.ranges)];
  float* lse =
      call.lse != nullptr ? static_cast<float*>(call.lse->data) + bh * ctx.tokens : nullptr;
  if (ranges.empty()) {
    store_empty_tile(call, b, h, tile, scratch.zeros.data(), ctx.d, lse);
    return;
  }

  const TileState st{scratch.q.data(),    scratch.q8.data(),
                     scratch.s.data(),    scratch.acc.data(),
                     scratch.m.data(),    scratch.l.data(),
                     tile.count,          static_cast<int>(round_up(tile.count, kRows)),
                     scratch.score_stride};
  bool has_pooled = false;
  for (const KeyRange& range : ranges) has_pooled = has_pooled || range.pooled;
  start_tile(ctx, b, h, tile, has_pooled && ctx.far_8bit, st);
  for (const KeyRange& range : ranges) attend_range<kRows, kFma>(ctx, buf, range, st);

  for (int r = 0; r < st.rows; ++r) {
    store_row(call.out, row_offset(call.out, b, h, tile.begin + r), ctx.d, st.acc + r * ctx.dp,
              1.0f / st.l[r]);
    if (lse != nullptr) lse[tile.begin + r] = st.m[r] + std::log(st.l[r]);
  }
}

using TileFunction = void (*)(const KernelContext&, const HeadBuffers&, std::int64_t,
                              const QueryTile&, Scratch&);

// Where FMA is a base instruction, the generic build uses it too; without it GCC vectorizes the
// plain multiply-add micro-kernel along its depth (in-order reductions), which is slower.
#if defined(__aarch64__) || defined(_M_ARM64)
constexpr bool kGenericFma = true;
#else
constexpr bool kGenericFma = false;
#endif

void attend_tile_generic(const KernelContext& ctx, const HeadBuffers& buf, std::int64_t bh,
                         const QueryTile& tile, Scratch& scratch) {
  attend_tile_impl<4, kGenericFma>(ctx, buf, bh, tile, scratch);
}

#if LTX2EFF_X86_DISPATCH
__attribute__((target("avx2,fma"))) void attend_tile_avx2(const KernelContext& ctx,
                                                          const HeadBuffers& buf, std::int64_t bh,
                                                          const QueryTile& tile, Scratch& scratch) {
  attend_tile_impl<4, true>(ctx, buf, bh, tile, scratch);
}

__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) void attend_tile_avx512(
    const KernelContext& ctx, const HeadBuffers& buf, std::int64_t bh, const QueryTile& tile,
    Scratch& scratch) {
  attend_tile_impl<8, true>(ctx, buf, bh, tile, scratch);
}
#endif

TileFunction tile_function(CpuIsa isa) {
  switch (isa) {
#if LTX2EFF_X86_DISPATCH
    case CpuIsa::kAvx2:
      return attend_tile_avx2;
    case CpuIsa::kAvx512:
      return attend_tile_avx512;
#endif
    default:
      return attend_tile_generic;
  }
}

bool cpu_supports(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kGeneric:
      return true;
#if LTX2EFF_X86_DISPATCH
    case CpuIsa::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuIsa::kAvx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default:
      return false;
  }
}

}  // namespace

std::string to_string(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kGeneric:
      return "generic";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
  }
  return "generic";
}

std::vector<CpuIsa> available_cpu_isas() {
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::kGeneric, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (cpu_supports(isa)) isas.push_back(isa);
  }
  return isas;
}

CpuIsa default_cpu_isa() {
  const std::vector<CpuIsa> isas = available_cpu_isas();
  if (const char* env = std::getenv("LTX2EFF_CPU_ISA"); env != nullptr && *env != '\0') {
    const std::string wanted(env);
    for (CpuIsa isa : isas) {
      if (to_string(isa) == wanted) return isa;
    }
    std::string allowed;
    for (CpuIsa isa : isas) {
      if (!allowed.empty()) allowed += ' ';
      allowed += to_string(isa);
    }
    fail("LTX2EFF_CPU_ISA", "must be one of " + allowed + " on this CPU, got '" + wanted + "'");
  }
  return isas.back();
}

void cpu_window_attention(const CpuAttentionCall& call) {
  const TilePlan plan = make_tile_plan(call);
  KernelContext ctx;
  ctx.call = &call;
  ctx.plan = &plan;
  ctx.d = static_cast<int>(call.q.size(3));
  ctx.dp = static_cast<int>(round_up(ctx.d, kPanel));
  ctx.tokens = call.q.size(2);
  ctx.rounding = rounding_for(call.options.precision);
  ctx.far_8bit = call.options.precision == Precision::kFp8FarField;
  const TileFunction attend_tile = tile_function(call.isa);

  const std::int64_t head_pairs = call.q.size(0) * call.q.size(1);
  const std::int64_t bytes_per_head =
      (plan.exact_rows + plan.pooled_rows) * ctx.dp * 2 * static_cast<std::int64_t>(sizeof(float));
  const std::int64_t group =
      std::clamp<std::int64_t>(kPrepBudgetBytes / bytes_per_head, 1, head_pairs);
  const int threads = std::max(1, call.threads);
  const auto tiles = static_cast<std::int64_t>(plan.tiles.size());

  std::vector<HeadBuffers> buffers(static_cast<std::size_t>(group));
  std::vector<std::vector<float>> rows(static_cast<std::size_t>(threads));
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads), Scratch(ctx.dp));
  for (std::int64_t first = 0; first < head_pairs; first += group) {
    const std::int64_t count = std::min(group, head_pairs - first);
    parallel_for(count, threads, [&](std::int64_t item, int worker) {
      prepare_head(ctx, first + item, buffers[static_cast<std::size_t>(item)],
                   rows[static_cast<std::size_t>(worker)]);
    });
    parallel_for(count * tiles, threads, [&](std::int64_t item, int worker) {
      const std::int64_t local = item / tiles;
      attend_tile(ctx, buffers[static_cast<std::size_t>(local)], first + local,
                  plan.tiles[static_cast<std::size_t>(item % tiles)],
                  scratch[static_cast<std::size_t>(worker)]);
    });
  }
}

void cpu_merge_attention(const TensorView& out_a, const TensorView& lse_a, const TensorView& out_b,
                         const TensorView& lse_b, const TensorView& out, const TensorView& lse_out,
                         int threads) {
  const std::int64_t batch = out.size(0);
  const std::int64_t heads = out.size(1);
  const std::int64_t tokens = out.size(2);
  const int d = static_cast<int>(out.size(3));
  const std::int64_t rows = batch * heads * tokens;
  constexpr std::int64_t kRowsPerItem = 256;
  auto lse_at = [](const TensorView& view, std::int64_t b, std::int64_t h, std::int64_t t) {
    return static_cast<float*>(view.data) + b * view.stride(0) + h * view.stride(1) +
           t * view.stride(2);
  };
  parallel_for((rows + kRowsPerItem - 1) / kRowsPerItem, threads,
               [&](std::int64_t item, int /*worker*/) {
                 std::vector<float> a(static_cast<std::size_t>(d));
                 std::vector<float> bv(static_cast<std::size_t>(d));
                 const std::int64_t end = std::min(rows, (item + 1) * kRowsPerItem);
                 for (std::int64_t row = item * kRowsPerItem; row < end; ++row) {
                   const std::int64_t t = row % tokens;
                   const std::int64_t h = (row / tokens) % heads;
                   const std::int64_t b = row / (tokens * heads);
                   const float la = *lse_at(lse_a, b, h, t);
                   const float lb = *lse_at(lse_b, b, h, t);
                   load_row(out_a, row_offset(out_a, b, h, t), d, Rounding::kNone, 1.0f, a.data());
                   load_row(out_b, row_offset(out_b, b, h, t), d, Rounding::kNone, 1.0f, bv.data());
                   const float top = std::max(la, lb);
                   float merged = kNegInf;
                   float wa = 0.0f;
                   float wb = 0.0f;
                   if (top != kNegInf) {
                     const float ea = std::exp(la - top);
                     const float eb = std::exp(lb - top);
                     merged = top + std::log(ea + eb);
                     wa = ea / (ea + eb);
                     wb = eb / (ea + eb);
                   }
                   // A zero weight reads nothing, so an empty partial (any out) adds nothing;
                   // NaN weights propagate.
                   for (int i = 0; i < d; ++i) {
                     const float from_a = wa == 0.0f ? 0.0f : wa * a[static_cast<std::size_t>(i)];
                     const float from_b = wb == 0.0f ? 0.0f : wb * bv[static_cast<std::size_t>(i)];
                     a[static_cast<std::size_t>(i)] = from_a + from_b;
                   }
                   store_row(out, row_offset(out, b, h, t), d, a.data(), 1.0f);
                   *lse_at(lse_out, b, h, t) = merged;
                 }
               });
}

}  // namespace ltx2eff
