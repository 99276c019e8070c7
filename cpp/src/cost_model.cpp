#include "ltx2eff/cost_model.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>

#include "ltx2eff/error.hpp"
#include "ltx2eff/knobs.hpp"
#include "ltx2eff/sampling_limits.hpp"

namespace ltx2eff {
namespace {

// Smallest token chunk worth running; below it launch overhead dominates.
constexpr std::int64_t kMinChunkTokens = 256;

void validate_dims(const ModelDims& d) {
  require_in_range("blocks", d.blocks, 1, 1024);
  require_in_range("heads", d.heads, 1, 1024);
  require_in_range("head_dim", d.head_dim, 1, 1024);
  require_in_range("ff_mult", d.ff_mult, 1, 64);
  require_in_range("text_tokens", d.text_tokens, 0, 1 << 20);
  require_in_range("context_dim", d.context_dim, 1, 1 << 20);
  require_in_range("in_channels", d.in_channels, 1, 1 << 16);
  require_in_range("weight_bytes", d.weight_bytes, 1, 8);
  require_in_range("activation_bytes", d.activation_bytes, 1, 8);
}

// Peak live activations of one block, in units of (width * activation_bytes * batch):
// attention holds x, k, v and the output buffer at full length plus q and o for one chunk;
// the feed-forward holds x and the output buffer plus the normed input, hidden and GELU output
// for one chunk. Unchunked, attention holds x, q, k, v, o and the feed-forward x, xn, h, gelu(h).
double peak_units(double tokens, double chunk, int ff_mult) {
  if (chunk >= tokens) return std::max(5.0 * tokens, (2.0 + 2.0 * ff_mult) * tokens);
  return std::max(3.0 * tokens + 2.0 * chunk, 2.0 * tokens + (1.0 + 2.0 * ff_mult) * chunk);
}

}  // namespace

double ModelDims::block_params() const {
  const double d = static_cast<double>(width());
  const double c = context_dim;
  const double m = ff_mult;
  const double self_attn = 4.0 * (d * d + d) + 2.0 * d;  // q, k, v, out + q/k norm
  const double cross_attn = 2.0 * (d * d + d) + 2.0 * (c * d + d) + 2.0 * d;
  const double ff = d * m * d + m * d + m * d * d + d;
  const double modulation = 6.0 * d;
  return self_attn + cross_attn + ff + modulation;
}

double CallCost::total_flops() const {
  return self_attention_core.flops + self_attention_linear.flops + cross_attention.flops +
         feed_forward.flops + other.flops;
}

double CallCost::total_bytes() const {
  return self_attention_core.bytes + self_attention_linear.bytes + cross_attention.bytes +
         feed_forward.bytes + other.bytes + weight_bytes;
}

CallCost model_call_cost(const ModelDims& dims, const WindowPlan& plan, int batch,
                         int activation_budget_mb) {
  validate_dims(dims);
  check_sampling("batch", batch);
  check_knob("activation_budget_mb", activation_budget_mb);

  const double d = static_cast<double>(dims.width());
  const double t = static_cast<double>(plan.grid().tokens() + plan.global_tokens());
  const double l = dims.text_tokens;
  const double c = dims.context_dim;
  const double m = dims.ff_mult;
  const double ab = dims.activation_bytes;
  const double nb = dims.blocks;
  const double b = batch;
  const PairCounts pairs = plan.pairs();

  CallCost cost;
  cost.tokens = plan.grid().tokens() + plan.global_tokens();
  cost.batch = batch;
  // 2 FLOPs per multiply-add. Attention: QK^T and PV are 2*D each per pair and head.
  cost.self_attention_linear = {nb * b * 8.0 * t * d * d, nb * b * ab * 6.0 * t * d};
  cost.self_attention_core = {nb * b * 4.0 * d * (pairs.exact + pairs.pooled),
                              nb * b * ab * 4.0 * t * d};
  cost.cross_attention = {nb * b * (4.0 * t * d * d + 4.0 * l * c * d + 4.0 * t * l * d),
                          nb * b * ab * (6.0 * t * d + 4.0 * l * d)};
  cost.feed_forward = {nb * b * 4.0 * m * t * d * d, nb * b * ab * (2.0 + 3.0 * m) * t * d};
  // Patchify in/out once per call; norms, modulation and residual adds per block.
  cost.other = {b * 4.0 * t * dims.in_channels * d + nb * b * 10.0 * t * d,
                nb * b * ab * 8.0 * t * d};
  cost.weight_bytes = nb * dims.block_params() * dims.weight_bytes;

  const double unit = d * ab * b;
  auto chunk = static_cast<std::int64_t>(t);
  double peak = peak_units(t, t, dims.ff_mult) * unit;
  if (activation_budget_mb > 0) {
    const double budget = static_cast<double>(activation_budget_mb) * 1024.0 * 1024.0;
    if (peak > budget) {
      // Largest chunk whose peak fits; both phases grow linearly in the chunk.
      const double attn_room = (budget / unit - 3.0 * t) / 2.0;
      const double ff_room = (budget / unit - 2.0 * t) / (1.0 + 2.0 * m);
      const double room = std::min(attn_room, ff_room);
      chunk = std::max<std::int64_t>(kMinChunkTokens, static_cast<std::int64_t>(room));
      chunk = std::min<std::int64_t>(chunk, static_cast<std::int64_t>(t));
      peak = peak_units(t, static_cast<double>(chunk), dims.ff_mult) * unit;
      cost.budget_met = peak <= budget;
    }
  }
  cost.chunk_tokens = chunk;
  cost.peak_activation_bytes = peak;
  cost.windowed_core_share = plan.is_dense() ? 0.0 : 1.0;
  return cost;
}

CallCost blended_call_cost(const ModelDims& dims, const WindowPlan& window_plan,
                           const WindowPlan& dense_plan, int dense_first, int dense_last, int batch,
                           int activation_budget_mb) {
  check_knob("dense_first_blocks", dense_first);
  check_knob("dense_last_blocks", dense_last);
  if (window_plan.grid().tokens() + window_plan.global_tokens() !=
      dense_plan.grid().tokens() + dense_plan.global_tokens()) {
    fail("dense_plan", "must cover the window plan's tokens");
  }
  const CallCost w = model_call_cost(dims, window_plan, batch, activation_budget_mb);
  const int windowed = std::max(0, dims.blocks - dense_first - dense_last);
  if (windowed == dims.blocks) return w;
  const CallCost d = model_call_cost(dims, dense_plan, batch, activation_budget_mb);
  // Every per-block part is linear in the block count; patchify and weights are the same in both.
  const double fw = static_cast<double>(windowed) / dims.blocks;
  const auto blend = [fw](const PartCost& a, const PartCost& b) {
    return PartCost{a.flops * fw + b.flops * (1.0 - fw), a.bytes * fw + b.bytes * (1.0 - fw)};
  };
  CallCost c = d;
  c.self_attention_core = blend(w.self_attention_core, d.self_attention_core);
  c.self_attention_linear = blend(w.self_attention_linear, d.self_attention_linear);
  c.cross_attention = blend(w.cross_attention, d.cross_attention);
  c.feed_forward = blend(w.feed_forward, d.feed_forward);
  c.other = blend(w.other, d.other);
  const double windowed_core = w.self_attention_core.flops * fw;
  c.windowed_core_share = c.self_attention_core.flops > 0 && !window_plan.is_dense()
                              ? windowed_core / c.self_attention_core.flops
                              : 0.0;
  return c;
}

namespace {

// One field of DeviceProfile: its range, and whether 0 means "none" (then allowed too).
struct DeviceField {
  const char* name;
  double DeviceProfile::*member;
  double lo;
  double hi;
  bool zero_means_none;
};

constexpr DeviceField kDeviceFields[] = {
    {"linear_flops_per_s", &DeviceProfile::linear_flops_per_s, 1e6, 1e18, false},
    {"attention_flops_per_s", &DeviceProfile::attention_flops_per_s, 1e6, 1e18, false},
    {"window_efficiency", &DeviceProfile::window_efficiency, 1e-3, 1.0, false},
    {"memory_bytes_per_s", &DeviceProfile::memory_bytes_per_s, 1e6, 1e15, false},
    {"offload_bytes_per_s", &DeviceProfile::offload_bytes_per_s, 1e6, 1e15, true},
    {"per_block_overhead_s", &DeviceProfile::per_block_overhead_s, 1e-9, 1.0, true},
    {"per_call_overhead_s", &DeviceProfile::per_call_overhead_s, 1e-9, 1e3, true},
    {"sustained_fraction", &DeviceProfile::sustained_fraction, 1e-3, 1.0, false},
};

}  // namespace

void validate_device_profile_field(std::string_view name, double value) {
  for (const DeviceField& f : kDeviceFields) {
    if (name != f.name) continue;
    // Written so that NaN fails too; the lower bounds keep out subnormals.
    if ((f.zero_means_none && value == 0.0) || (value >= f.lo && value <= f.hi)) return;
    std::ostringstream os;
    os << "must be " << (f.zero_means_none ? "0 (none) or " : "") << "in [" << f.lo << ", " << f.hi
       << "], got " << value;
    fail(std::string("DeviceProfile.") + f.name, os.str());
  }
  fail("DeviceProfile", "has no field " + std::string(name));
}

void validate_device_profile(const DeviceProfile& device) {
  for (const DeviceField& f : kDeviceFields)
    validate_device_profile_field(f.name, device.*f.member);
}

double predict_call_seconds(const CallCost& cost, const ModelDims& dims,
                            const DeviceProfile& device, bool windowed) {
  validate_device_profile(device);
  const double share = windowed ? cost.windowed_core_share : 0.0;
  const double core = cost.self_attention_core.flops;
  const double compute = (cost.self_attention_linear.flops + cost.cross_attention.flops +
                          cost.feed_forward.flops + cost.other.flops) /
                             device.linear_flops_per_s +
                         core * (1.0 - share) / device.attention_flops_per_s +
                         core * share / (device.attention_flops_per_s * device.window_efficiency);
  double seconds = (std::max(compute, cost.total_bytes() / device.memory_bytes_per_s) +
                    dims.blocks * device.per_block_overhead_s) /
                       device.sustained_fraction +
                   device.per_call_overhead_s;
  if (device.offload_bytes_per_s > 0) {
    // Streaming the next block's weights overlaps with computing the current one.
    seconds = std::max(seconds, cost.weight_bytes / device.offload_bytes_per_s);
  }
  return seconds;
}

}  // namespace ltx2eff
