#include "ltx2eff/interpolation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "ltx2eff/error.hpp"
#include "ltx2eff/half_float.hpp"
#include "ltx2eff/parallel.hpp"

namespace ltx2eff {
namespace {

// ---- frame access over strided 5-D views ----

std::int64_t offset_of(const TensorView& v, std::int64_t b, std::int64_t c, std::int64_t f,
                       std::int64_t h, std::int64_t w) {
  return b * v.stride(0) + c * v.stride(1) + f * v.stride(2) + h * v.stride(3) + w * v.stride(4);
}

// Frame (b, f) of a [B, C, F, H, W] view into dst[c * H * W + h * W + w].
void load_frame(const TensorView& v, std::int64_t b, std::int64_t f, float* dst) {
  const std::int64_t channels = v.size(1);
  const std::int64_t height = v.size(3);
  const std::int64_t width = v.size(4);
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t h = 0; h < height; ++h) {
      float* row = dst + (c * height + h) * width;
      const std::int64_t base = offset_of(v, b, c, f, h, 0);
      const std::int64_t sw = v.stride(4);
      switch (v.dtype) {
        case DType::kFloat32: {
          const auto* src = static_cast<const float*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) row[w] = src[w * sw];
          break;
        }
        case DType::kFloat16: {
          const auto* src = static_cast<const std::uint16_t*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) row[w] = half_to_float(src[w * sw]);
          break;
        }
        case DType::kBFloat16: {
          const auto* src = static_cast<const std::uint16_t*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) row[w] = bfloat16_to_float(src[w * sw]);
          break;
        }
        default:
          fail("keyframes", "dtype must be float32, float16 or bfloat16");
      }
    }
  }
}

void store_frame(const TensorView& v, std::int64_t b, std::int64_t f, const float* src) {
  const std::int64_t channels = v.size(1);
  const std::int64_t height = v.size(3);
  const std::int64_t width = v.size(4);
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t h = 0; h < height; ++h) {
      const float* row = src + (c * height + h) * width;
      const std::int64_t base = offset_of(v, b, c, f, h, 0);
      const std::int64_t sw = v.stride(4);
      switch (v.dtype) {
        case DType::kFloat32: {
          auto* dst = static_cast<float*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) dst[w * sw] = row[w];
          break;
        }
        case DType::kFloat16: {
          auto* dst = static_cast<std::uint16_t*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) dst[w * sw] = float_to_half(row[w]);
          break;
        }
        case DType::kBFloat16: {
          auto* dst = static_cast<std::uint16_t*>(v.data) + base;
          for (std::int64_t w = 0; w < width; ++w) dst[w * sw] = float_to_bfloat16(row[w]);
          break;
        }
        default:
          fail("out", "dtype must be float32, float16 or bfloat16");
      }
    }
  }
}

void validate_view(std::string_view name, const TensorView& v) {
  if (v.ndim != 5) {
    std::ostringstream os;
    os << "must be 5-D [B, C, F, H, W], got " << describe(v);
    fail(name, os.str());
  }
  if (v.device != DeviceKind::kCpu) fail(name, "must be on the CPU, got " + describe(v));
  if (v.dtype != DType::kFloat32 && v.dtype != DType::kFloat16 && v.dtype != DType::kBFloat16) {
    fail(name, "dtype must be float32, float16 or bfloat16, got " + describe(v));
  }
  for (int d = 0; d < 5; ++d) {
    if (v.size(d) < 1) fail(name, "must have no empty dimension, got " + describe(v));
  }
  if (v.data == nullptr) fail(name, "has no data");
}

void validate_plan(const KeyframePlan& plan) {
  require_in_range("plan.full_frames", plan.full_frames, 1, 1 << 20);
  if (static_cast<int>(plan.map.size()) != plan.full_frames) {
    fail("plan", "map must have one entry per full frame");
  }
  const int slots = plan.diffused_frames();
  for (const KeyframeSource& src : plan.map) {
    require_in_range("plan.map.left", src.left, 0, slots - 1);
    require_in_range("plan.map.right", src.right, 0, slots - 1);
    require_in_range("plan.map.t", src.t, 0.0, 1.0);
  }
}

// ---- lerp / slerp ----

void lerp_frame(const float* a, const float* b, double t, std::int64_t n, float* out) {
  const auto ta = static_cast<float>(1.0 - t);
  const auto tb = static_cast<float>(t);
  for (std::int64_t i = 0; i < n; ++i) out[i] = ta * a[i] + tb * b[i];
}

void slerp_frame(const float* a, const float* b, double t, std::int64_t channels,
                 std::int64_t tokens, double parallel_cos, float* out) {
  std::vector<double> dot(static_cast<std::size_t>(tokens), 0.0);
  std::vector<double> na(static_cast<std::size_t>(tokens), 0.0);
  std::vector<double> nb(static_cast<std::size_t>(tokens), 0.0);
  for (std::int64_t c = 0; c < channels; ++c) {
    const float* ac = a + c * tokens;
    const float* bc = b + c * tokens;
    for (std::int64_t p = 0; p < tokens; ++p) {
      const auto i = static_cast<std::size_t>(p);
      dot[i] += static_cast<double>(ac[p]) * bc[p];
      na[i] += static_cast<double>(ac[p]) * ac[p];
      nb[i] += static_cast<double>(bc[p]) * bc[p];
    }
  }
  // Per token: out = wa * a + wb * b.
  std::vector<float> wa(static_cast<std::size_t>(tokens));
  std::vector<float> wb(static_cast<std::size_t>(tokens));
  for (std::int64_t p = 0; p < tokens; ++p) {
    const auto i = static_cast<std::size_t>(p);
    const double la = std::sqrt(na[i]);
    const double lb = std::sqrt(nb[i]);
    double ca = 1.0 - t;
    double cb = t;
    if (la > 0.0 && lb > 0.0) {
      const double cos = std::clamp(dot[i] / (la * lb), -1.0, 1.0);
      if (std::abs(cos) < parallel_cos) {
        const double omega = std::acos(cos);
        const double s = std::sin(omega);
        const double norm = (1.0 - t) * la + t * lb;
        // Unit directions on the arc, rescaled to the interpolated norm.
        ca = norm * std::sin((1.0 - t) * omega) / (s * la);
        cb = norm * std::sin(t * omega) / (s * lb);
      }
    }
    wa[i] = static_cast<float>(ca);
    wb[i] = static_cast<float>(cb);
  }
  for (std::int64_t c = 0; c < channels; ++c) {
    const float* ac = a + c * tokens;
    const float* bc = b + c * tokens;
    float* oc = out + c * tokens;
    for (std::int64_t p = 0; p < tokens; ++p) {
      const auto i = static_cast<std::size_t>(p);
      oc[p] = wa[i] * ac[p] + wb[i] * bc[p];
    }
  }
}

// ---- motion ----

// [C, H*W] -> [H*W, C] so per-token channel vectors are contiguous for block matching.
std::vector<float> token_major(const float* x, int channels, int tokens) {
  std::vector<float> t(static_cast<std::size_t>(channels) * static_cast<std::size_t>(tokens));
  for (int c = 0; c < channels; ++c) {
    for (int p = 0; p < tokens; ++p) {
      t[static_cast<std::size_t>(p) * static_cast<std::size_t>(channels) +
        static_cast<std::size_t>(c)] = x[static_cast<std::size_t>(c) * tokens + p];
    }
  }
  return t;
}

float median9(std::array<float, 9> v, int n) {
  std::nth_element(v.begin(), v.begin() + n / 2, v.begin() + n);
  return v[static_cast<std::size_t>(n / 2)];
}

// Bilinear sample of a [H, W] scalar field at (y, x), clamped to the grid.
float sample_field(const std::vector<float>& f, int height, int width, double y, double x) {
  y = std::clamp(y, 0.0, static_cast<double>(height - 1));
  x = std::clamp(x, 0.0, static_cast<double>(width - 1));
  const int y0 = static_cast<int>(std::floor(y));
  const int x0 = static_cast<int>(std::floor(x));
  const int y1 = std::min(y0 + 1, height - 1);
  const int x1 = std::min(x0 + 1, width - 1);
  const double fy = y - y0;
  const double fx = x - x0;
  auto at = [&](int yy, int xx) {
    return static_cast<double>(f[static_cast<std::size_t>(yy) * static_cast<std::size_t>(width) +
                                 static_cast<std::size_t>(xx)]);
  };
  const double top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
  const double bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
  return static_cast<float>(top * (1 - fy) + bottom * fy);
}

// Bilinear sample of every channel of a [C, H, W] frame at (y, x) into out[c * tokens + p].
void sample_frame(const float* frame, int channels, int height, int width, double y, double x,
                  float* out, std::int64_t tokens, std::int64_t p) {
  y = std::clamp(y, 0.0, static_cast<double>(height - 1));
  x = std::clamp(x, 0.0, static_cast<double>(width - 1));
  const int y0 = static_cast<int>(std::floor(y));
  const int x0 = static_cast<int>(std::floor(x));
  const int y1 = std::min(y0 + 1, height - 1);
  const int x1 = std::min(x0 + 1, width - 1);
  const auto fy = static_cast<float>(y - y0);
  const auto fx = static_cast<float>(x - x0);
  const float w00 = (1 - fy) * (1 - fx);
  const float w01 = (1 - fy) * fx;
  const float w10 = fy * (1 - fx);
  const float w11 = fy * fx;
  const std::int64_t hw = static_cast<std::int64_t>(height) * width;
  const std::int64_t i00 = static_cast<std::int64_t>(y0) * width + x0;
  const std::int64_t i01 = static_cast<std::int64_t>(y0) * width + x1;
  const std::int64_t i10 = static_cast<std::int64_t>(y1) * width + x0;
  const std::int64_t i11 = static_cast<std::int64_t>(y1) * width + x1;
  for (int c = 0; c < channels; ++c) {
    const float* fc = frame + c * hw;
    out[c * tokens + p] = w00 * fc[i00] + w01 * fc[i01] + w10 * fc[i10] + w11 * fc[i11];
  }
}

struct FieldPair {
  MotionField forward;   // a -> b
  MotionField backward;  // b -> a
};

void motion_frame(const float* a, const float* b, const FieldPair& fields, double t, int channels,
                  int height, int width, double tau, float* out) {
  const std::int64_t tokens = static_cast<std::int64_t>(height) * width;
  const MotionField& fab = fields.forward;
  const MotionField& fba = fields.backward;
  std::vector<float> warped_a(static_cast<std::size_t>(channels) *
                              static_cast<std::size_t>(tokens));
  std::vector<float> warped_b(warped_a.size());
  std::vector<float> wa(static_cast<std::size_t>(tokens));
  std::vector<float> wb(static_cast<std::size_t>(tokens));

  // Trust of a source sample: forward-backward consistency at q, 0 outside the frame.
  auto trust = [&](const MotionField& there, const MotionField& back, double qy, double qx) {
    if (qy < -0.5 || qy > height - 0.5 || qx < -0.5 || qx > width - 0.5) return 0.0;
    const double dy = sample_field(there.dy, height, width, qy, qx);
    const double dx = sample_field(there.dx, height, width, qy, qx);
    const double ry = sample_field(back.dy, height, width, qy + dy, qx + dx);
    const double rx = sample_field(back.dx, height, width, qy + dy, qx + dx);
    const double e = std::hypot(dy + ry, dx + rx) / tau;
    return 1.0 / (1.0 + e * e);
  };

  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const std::int64_t p = static_cast<std::int64_t>(y) * width + x;
      const auto i = static_cast<std::size_t>(p);
      const double ab_y = fab.dy[i];
      const double ab_x = fab.dx[i];
      const double ba_y = fba.dy[i];
      const double ba_x = fba.dx[i];
      const double ta_y = -(1 - t) * t * ab_y + t * t * ba_y;
      const double ta_x = -(1 - t) * t * ab_x + t * t * ba_x;
      const double tb_y = (1 - t) * (1 - t) * ab_y - t * (1 - t) * ba_y;
      const double tb_x = (1 - t) * (1 - t) * ab_x - t * (1 - t) * ba_x;
      const double qay = y + ta_y;
      const double qax = x + ta_x;
      const double qby = y + tb_y;
      const double qbx = x + tb_x;
      sample_frame(a, channels, height, width, qay, qax, warped_a.data(), tokens, p);
      sample_frame(b, channels, height, width, qby, qbx, warped_b.data(), tokens, p);
      const double va = (1 - t) * trust(fab, fba, qay, qax);
      const double vb = t * trust(fba, fab, qby, qbx);
      const double sum = va + vb;
      if (sum > 1e-3) {
        wa[i] = static_cast<float>(va / sum);
        wb[i] = static_cast<float>(vb / sum);
      } else {
        wa[i] = static_cast<float>(1 - t);
        wb[i] = static_cast<float>(t);
      }
    }
  }
  for (int c = 0; c < channels; ++c) {
    const float* ac = warped_a.data() + c * tokens;
    const float* bc = warped_b.data() + c * tokens;
    float* oc = out + c * tokens;
    for (std::int64_t p = 0; p < tokens; ++p) {
      const auto i = static_cast<std::size_t>(p);
      oc[p] = wa[i] * ac[p] + wb[i] * bc[p];
    }
  }
}

// ---- block matching (estimate_motion's steps) ----

// Mean squared value of both frames; scales the motion penalty to the latent's magnitude.
double mean_energy(const std::vector<float>& at, const std::vector<float>& bt) {
  double energy = 0.0;
  for (float v : at) energy += static_cast<double>(v) * v;
  for (float v : bt) energy += static_cast<double>(v) * v;
  return energy / (2.0 * static_cast<double>(at.size()));
}

// Two token-major frames and the block search run over them.
struct MotionSearch {
  const std::vector<float>& at;  // [H*W, C]
  const std::vector<float>& bt;
  int channels;
  int height;
  int width;
  int block;       // block side in tokens
  int radius;      // integer search radius in tokens
  double penalty;  // motion_penalty * mean energy, per squared token of displacement
  bool subtoken;   // parabolic sub-token refinement
  [[nodiscard]] int side() const { return 2 * radius + 1; }
};

// Cost of matching block [y0, y1) x [x0, x1) of a to its displacement by (dy, dx) in b: the mean
// squared difference plus the motion penalty; none when under half the block lands inside b.
std::optional<double> displaced_cost(const MotionSearch& s, int y0, int y1, int x0, int x1, int dy,
                                     int dx) {
  const auto cs = static_cast<std::size_t>(s.channels);
  double sum = 0.0;
  int count = 0;
  for (int y = y0; y < y1; ++y) {
    const int yy = y + dy;
    if (yy < 0 || yy >= s.height) continue;
    for (int x = x0; x < x1; ++x) {
      const int xx = x + dx;
      if (xx < 0 || xx >= s.width) continue;
      const float* pa = s.at.data() + static_cast<std::size_t>(y * s.width + x) * cs;
      const float* pb = s.bt.data() + static_cast<std::size_t>(yy * s.width + xx) * cs;
      float d2 = 0.0F;
      for (std::size_t c = 0; c < cs; ++c) {
        const float d = pa[c] - pb[c];
        d2 += d * d;
      }
      sum += d2;
      ++count;
    }
  }
  const int block_tokens = (y1 - y0) * (x1 - x0);
  if (2 * count < block_tokens || count == 0) return std::nullopt;
  return sum / (static_cast<double>(count) * s.channels) +
         s.penalty * static_cast<double>(dy * dy + dx * dx);
}

// Vertex of the parabola through the costs either side of the best displacement along one axis,
// in [-0.5, 0.5]; 0 at the edge of the search or where the costs bracket no minimum.
double subtoken_offset(const std::vector<double>& cost, int best, int step, bool has_minus,
                       bool has_plus) {
  if (!has_minus || !has_plus) return 0.0;
  const double cm = cost[static_cast<std::size_t>(best - step)];
  const double cp = cost[static_cast<std::size_t>(best + step)];
  const double c0 = cost[static_cast<std::size_t>(best)];
  if (!std::isfinite(cm) || !std::isfinite(cp)) return 0.0;
  const double denom = cm - 2.0 * c0 + cp;
  if (denom <= 0.0) return 0.0;
  return std::clamp((cm - cp) / (2.0 * denom), -0.5, 0.5);
}

// The displacement (dy, dx) of block (by, bx) with the lowest cost; `cost` is scratch space of
// side() * side() entries.
std::pair<double, double> match_block(const MotionSearch& s, int by, int bx,
                                      std::vector<double>& cost) {
  const int r = s.radius;
  const int side = s.side();
  const int y0 = by * s.block;
  const int x0 = bx * s.block;
  const int y1 = std::min(y0 + s.block, s.height);
  const int x1 = std::min(x0 + s.block, s.width);
  int best = -1;
  for (int dy = -r; dy <= r; ++dy) {
    for (int dx = -r; dx <= r; ++dx) {
      const auto k = static_cast<std::size_t>((dy + r) * side + (dx + r));
      const std::optional<double> c = displaced_cost(s, y0, y1, x0, x1, dy, dx);
      if (!c) {
        cost[k] = std::numeric_limits<double>::infinity();
        continue;
      }
      cost[k] = *c;
      if (best < 0 || cost[k] < cost[static_cast<std::size_t>(best)]) best = static_cast<int>(k);
    }
  }
  if (best < 0) return {0.0, 0.0};
  const int iy = best / side - r;
  const int ix = best % side - r;
  double fy = iy;
  double fx = ix;
  if (s.subtoken) {
    fy += subtoken_offset(cost, best, side, iy > -r, iy < r);
    fx += subtoken_offset(cost, best, 1, ix > -r, ix < r);
  }
  return {fy, fx};
}

// 3x3 component-wise median over a [blocks_h, blocks_w] field: removes isolated mismatches.
std::vector<float> median_filter(const std::vector<float>& in, int blocks_h, int blocks_w) {
  std::vector<float> out(in.size());
  for (int by = 0; by < blocks_h; ++by) {
    for (int bx = 0; bx < blocks_w; ++bx) {
      std::array<float, 9> v{};
      int n = 0;
      for (int oy = -1; oy <= 1; ++oy) {
        for (int ox = -1; ox <= 1; ++ox) {
          const int yy = by + oy;
          const int xx = bx + ox;
          if (yy < 0 || yy >= blocks_h || xx < 0 || xx >= blocks_w) continue;
          v[static_cast<std::size_t>(n++)] = in[static_cast<std::size_t>(yy * blocks_w + xx)];
        }
      }
      out[static_cast<std::size_t>(by * blocks_w + bx)] = median9(v, n);
    }
  }
  return out;
}

// A per-block field at token resolution: bilinear between the block centres.
MotionField token_field(const std::vector<float>& block_dy, const std::vector<float>& block_dx,
                        int blocks_h, int blocks_w, int block, int height, int width) {
  MotionField field;
  field.height = height;
  field.width = width;
  field.dy.resize(static_cast<std::size_t>(height) * static_cast<std::size_t>(width));
  field.dx.resize(field.dy.size());
  const double centre = (block - 1) / 2.0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = (y - centre) / block;
      const double v = (x - centre) / block;
      const auto i = static_cast<std::size_t>(y * width + x);
      field.dy[i] = sample_field(block_dy, blocks_h, blocks_w, u, v);
      field.dx[i] = sample_field(block_dx, blocks_h, blocks_w, u, v);
    }
  }
  return field;
}

// ---- interpolate_frames' steps ----

void validate_interpolation(const TensorView& keyframes, const KeyframePlan& plan,
                            const TensorView& out, const InterpolationOptions& options) {
  validate_view("keyframes", keyframes);
  validate_view("out", out);
  validate_plan(plan);
  if (options.method == Interpolation::kUpsampler) {
    fail("method", "upsampler runs a user-supplied model on the host; use lerp, slerp or motion");
  }
  require_in_range("slerp_parallel_cos", options.slerp_parallel_cos, 0.0, 1.0);
  validate_motion_options(options.motion);

  if (keyframes.size(2) != plan.diffused_frames()) {
    std::ostringstream os;
    os << "must have " << plan.diffused_frames() << " frames (the plan's diffused frames), got "
       << describe(keyframes);
    fail("keyframes", os.str());
  }
  if (out.size(2) != plan.full_frames) {
    std::ostringstream os;
    os << "must have " << plan.full_frames << " frames (the plan's full length), got "
       << describe(out);
    fail("out", os.str());
  }
  for (int d : {0, 1, 3, 4}) {
    if (out.size(d) != keyframes.size(d)) {
      fail("out", "must match keyframes in batch, channels, height and width: " + describe(out) +
                      " vs " + describe(keyframes));
    }
  }
  if (views_overlap(keyframes, out)) fail("out", "must not overlap keyframes");
  if (overlaps_itself(out)) {
    fail("out", "must not overlap itself (a stride of 0, or frames or rows sharing memory)");
  }
}

// The shape of one [C, H, W] frame.
struct FrameShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  [[nodiscard]] std::int64_t tokens() const { return static_cast<std::int64_t>(height) * width; }
  [[nodiscard]] std::size_t elements() const {
    return static_cast<std::size_t>(channels * tokens());
  }
};

// The neighbouring keyframe pairs that frames between them are warped from, sorted and unique:
// each pair's motion fields are estimated once and shared by those frames.
std::vector<std::pair<int, int>> motion_pairs(const KeyframePlan& plan) {
  std::vector<std::pair<int, int>> pairs;
  for (const KeyframeSource& src : plan.map) {
    if (src.left != src.right && src.t > 0.0 && src.t < 1.0)
      pairs.emplace_back(src.left, src.right);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

// Forward and backward fields of every pair, one estimate per worker item.
std::vector<FieldPair> pair_fields(const std::vector<std::pair<int, int>>& pairs,
                                   const std::vector<std::vector<float>>& slots,
                                   const FrameShape& shape, const MotionOptions& options,
                                   int threads) {
  std::vector<FieldPair> fields(pairs.size());
  parallel_for(
      static_cast<std::int64_t>(pairs.size()) * 2, threads, [&](std::int64_t item, int /*worker*/) {
        const auto [l, r] = pairs[static_cast<std::size_t>(item / 2)];
        const float* a = slots[static_cast<std::size_t>(l)].data();
        const float* b = slots[static_cast<std::size_t>(r)].data();
        FieldPair& pair = fields[static_cast<std::size_t>(item / 2)];
        if (item % 2 == 0) {
          pair.forward = estimate_motion(a, b, shape.channels, shape.height, shape.width, options);
        } else {
          pair.backward = estimate_motion(b, a, shape.channels, shape.height, shape.width, options);
        }
      });
  return fields;
}

// Frame `src` of the full length between keyframes a and b (0 < t < 1) into `result`.
void blend_frame(const float* a, const float* b, const KeyframeSource& src, const FrameShape& shape,
                 const InterpolationOptions& options, const std::vector<std::pair<int, int>>& pairs,
                 const std::vector<FieldPair>& fields, float* result) {
  switch (options.method) {
    case Interpolation::kLerp:
      lerp_frame(a, b, src.t, static_cast<std::int64_t>(shape.elements()), result);
      break;
    case Interpolation::kSlerp:
      slerp_frame(a, b, src.t, shape.channels, shape.tokens(), options.slerp_parallel_cos, result);
      break;
    case Interpolation::kMotion: {
      const auto key = std::make_pair(src.left, src.right);
      const auto it = std::lower_bound(pairs.begin(), pairs.end(), key);
      const FieldPair& pair = fields[static_cast<std::size_t>(it - pairs.begin())];
      motion_frame(a, b, pair, src.t, shape.channels, shape.height, shape.width,
                   options.motion.consistency_tau, result);
      break;
    }
    case Interpolation::kUpsampler:
      break;  // rejected by validate_interpolation
  }
}

}  // namespace

void validate_motion_options(const MotionOptions& options) {
  require_in_range("motion.block", options.block, 1, 16);
  require_in_range("motion.search_radius", options.search_radius, 0, 16);
  require_in_range("motion.motion_penalty", options.motion_penalty, 0.0, 10.0);
  require_in_range("motion.consistency_tau", options.consistency_tau, 1e-3, 1e3);
}

MotionField estimate_motion(const float* a, const float* b, int channels, int height, int width,
                            const MotionOptions& options) {
  validate_motion_options(options);
  require_in_range("channels", channels, 1, 1 << 16);
  require_in_range("height", height, 1, 1 << 14);
  require_in_range("width", width, 1, 1 << 14);
  if (a == nullptr || b == nullptr) fail("frame", "has no data");

  const int tokens = height * width;
  const std::vector<float> at = token_major(a, channels, tokens);
  const std::vector<float> bt = token_major(b, channels, tokens);
  const MotionSearch search{at,
                            bt,
                            channels,
                            height,
                            width,
                            options.block,
                            options.search_radius,
                            options.motion_penalty * mean_energy(at, bt),
                            options.subtoken};

  const int bs = options.block;
  const int blocks_h = (height + bs - 1) / bs;
  const int blocks_w = (width + bs - 1) / bs;
  std::vector<float> block_dy(static_cast<std::size_t>(blocks_h) * blocks_w);
  std::vector<float> block_dx(block_dy.size());
  std::vector<double> cost(static_cast<std::size_t>(search.side()) * search.side());
  for (int by = 0; by < blocks_h; ++by) {
    for (int bx = 0; bx < blocks_w; ++bx) {
      const auto [fy, fx] = match_block(search, by, bx, cost);
      const auto bi = static_cast<std::size_t>(by * blocks_w + bx);
      block_dy[bi] = static_cast<float>(fy);
      block_dx[bi] = static_cast<float>(fx);
    }
  }
  block_dy = median_filter(block_dy, blocks_h, blocks_w);
  block_dx = median_filter(block_dx, blocks_h, blocks_w);
  return token_field(block_dy, block_dx, blocks_h, blocks_w, bs, height, width);
}

void interpolate_frames(const TensorView& keyframes, const KeyframePlan& plan,
                        const TensorView& out, const InterpolationOptions& options) {
  validate_interpolation(keyframes, plan, out, options);

  const std::int64_t batch = keyframes.size(0);
  const FrameShape shape{static_cast<int>(keyframes.size(1)), static_cast<int>(keyframes.size(3)),
                         static_cast<int>(keyframes.size(4))};
  const std::vector<std::pair<int, int>> pairs = options.method == Interpolation::kMotion
                                                     ? motion_pairs(plan)
                                                     : std::vector<std::pair<int, int>>{};

  const int threads = cpu_thread_count();
  std::vector<std::vector<float>> slots(static_cast<std::size_t>(plan.diffused_frames()));
  std::vector<std::vector<float>> scratch(static_cast<std::size_t>(threads));
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      slots[s].resize(shape.elements());
      load_frame(keyframes, b, static_cast<std::int64_t>(s), slots[s].data());
    }
    const std::vector<FieldPair> fields = pair_fields(pairs, slots, shape, options.motion, threads);
    parallel_for(plan.full_frames, threads, [&](std::int64_t item, int worker) {
      const auto f = static_cast<int>(item);
      const KeyframeSource& src = plan.map[static_cast<std::size_t>(f)];
      const float* a = slots[static_cast<std::size_t>(src.left)].data();
      const float* bb = slots[static_cast<std::size_t>(src.right)].data();
      if (src.left == src.right || src.t == 0.0) {
        store_frame(out, b, f, a);
        return;
      }
      if (src.t == 1.0) {
        store_frame(out, b, f, bb);
        return;
      }
      std::vector<float>& result = scratch[static_cast<std::size_t>(worker)];
      result.resize(shape.elements());
      blend_frame(a, bb, src, shape, options, pairs, fields, result.data());
      store_frame(out, b, f, result.data());
    });
  }
}

}  // namespace ltx2eff
