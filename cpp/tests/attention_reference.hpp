// Tests only: host tensors for the attention suites and a float64 reference that builds the
// explicit key set (mask) and log-count bias of every query from the window plan and does the
// softmax in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "ltx2eff/attention_split.hpp"
#include "ltx2eff/half_float.hpp"
#include "ltx2eff/tensor_view.hpp"
#include "ltx2eff/window_plan.hpp"

namespace ltx2eff::testing {

inline double round_to(DType dtype, double value) {
  switch (dtype) {
    case DType::kFloat16:
      return half_to_float(float_to_half(static_cast<float>(value)));
    case DType::kBFloat16:
      return bfloat16_to_float(float_to_bfloat16(static_cast<float>(value)));
    default:
      return static_cast<double>(static_cast<float>(value));
  }
}

// An owning [B, heads, T, D] tensor of float32/float16/bfloat16. With `token_major` the memory
// is [B, T, heads, D] (the layout of a [B, T, heads*D] host tensor), so the view is strided.
class HostTensor {
 public:
  HostTensor(DType dtype, std::int64_t b, std::int64_t h, std::int64_t t, std::int64_t d,
             bool token_major = false)
      : dtype_(dtype), shape_{b, h, t, d} {
    const auto n = static_cast<std::size_t>(b * h * t * d);
    bytes_.assign(n * dtype_size(dtype), 0);
    if (token_major) {
      strides_ = {t * h * d, d, h * d, 1};
    } else {
      strides_ = {h * t * d, t * d, d, 1};
    }
  }

  [[nodiscard]] TensorView view() const {
    TensorView v;
    v.data = const_cast<unsigned char*>(bytes_.data());
    v.dtype = dtype_;
    v.ndim = 4;
    for (int i = 0; i < 4; ++i) {
      v.shape[static_cast<std::size_t>(i)] = shape_[static_cast<std::size_t>(i)];
      v.strides[static_cast<std::size_t>(i)] = strides_[static_cast<std::size_t>(i)];
    }
    return v;
  }

  [[nodiscard]] std::int64_t size(int i) const { return shape_[static_cast<std::size_t>(i)]; }
  [[nodiscard]] DType dtype() const { return dtype_; }

  [[nodiscard]] double get(std::int64_t b, std::int64_t h, std::int64_t t, std::int64_t d) const {
    const std::size_t i = index(b, h, t, d);
    if (dtype_ == DType::kFloat32) {
      float x;
      std::memcpy(&x, &bytes_[i * 4], 4);
      return x;
    }
    std::uint16_t bits;
    std::memcpy(&bits, &bytes_[i * 2], 2);
    return dtype_ == DType::kFloat16 ? half_to_float(bits) : bfloat16_to_float(bits);
  }

  void set(std::int64_t b, std::int64_t h, std::int64_t t, std::int64_t d, double value) {
    const std::size_t i = index(b, h, t, d);
    const auto x = static_cast<float>(value);
    if (dtype_ == DType::kFloat32) {
      std::memcpy(&bytes_[i * 4], &x, 4);
      return;
    }
    const std::uint16_t bits = dtype_ == DType::kFloat16 ? float_to_half(x) : float_to_bfloat16(x);
    std::memcpy(&bytes_[i * 2], &bits, 2);
  }

  template <class F>
  void for_each(F&& f) const {
    for (std::int64_t b = 0; b < size(0); ++b)
      for (std::int64_t h = 0; h < size(1); ++h)
        for (std::int64_t t = 0; t < size(2); ++t)
          for (std::int64_t d = 0; d < size(3); ++d) f(b, h, t, d);
  }

  void fill_random(std::mt19937& rng, double stddev) {
    std::normal_distribution<double> normal(0.0, stddev);
    for_each([&](auto b, auto h, auto t, auto d) { set(b, h, t, d, normal(rng)); });
  }

  void fill(double value) {
    for_each([&](auto b, auto h, auto t, auto d) { set(b, h, t, d, value); });
  }

 private:
  [[nodiscard]] std::size_t index(std::int64_t b, std::int64_t h, std::int64_t t,
                                  std::int64_t d) const {
    return static_cast<std::size_t>(b * strides_[0] + h * strides_[1] + t * strides_[2] +
                                    d * strides_[3]);
  }

  DType dtype_;
  std::vector<std::int64_t> shape_;
  std::vector<std::int64_t> strides_;
  std::vector<unsigned char> bytes_;
};

// A contiguous float32 [B, heads, T] tensor (log-sum-exp).
struct HostLse {
  std::int64_t b, h, t;
  std::vector<float> data;
  HostLse(std::int64_t b_, std::int64_t h_, std::int64_t t_)
      : b(b_), h(h_), t(t_), data(static_cast<std::size_t>(b_ * h_ * t_)) {}
  [[nodiscard]] TensorView view() const {
    TensorView v;
    v.data = const_cast<float*>(data.data());
    v.dtype = DType::kFloat32;
    v.ndim = 3;
    v.shape[0] = b;
    v.shape[1] = h;
    v.shape[2] = t;
    v.strides[0] = h * t;
    v.strides[1] = t;
    v.strides[2] = 1;
    return v;
  }
  [[nodiscard]] float at(std::int64_t bi, std::int64_t hi, std::int64_t ti) const {
    return data[static_cast<std::size_t>((bi * h + hi) * t + ti)];
  }
};

// A contiguous float64 copy of a HostTensor (the values the kernel reads, exactly).
class DoubleTensor {
 public:
  explicit DoubleTensor(const HostTensor& src) : h_(src.size(1)), t_(src.size(2)), d_(src.size(3)) {
    data_.resize(static_cast<std::size_t>(src.size(0) * h_ * t_ * d_));
    src.for_each([&](auto b, auto h, auto t, auto d) {
      data_[static_cast<std::size_t>(((b * h_ + h) * t_ + t) * d_ + d)] = src.get(b, h, t, d);
    });
  }
  [[nodiscard]] const double* row(std::int64_t b, std::int64_t h, std::int64_t t) const {
    return &data_[static_cast<std::size_t>(((b * h_ + h) * t_ + t) * d_)];
  }

 private:
  std::int64_t h_, t_, d_;
  std::vector<double> data_;
};

// One key a query sees: an exact token, or a pooled far-field cell (index = frame * cells + cell).
struct KeyRef {
  std::int64_t index = 0;
  bool pooled = false;
};

// The explicit key set of every query token, written from the semantics in attention.hpp.
inline std::vector<std::vector<KeyRef>> reference_key_sets(const LatentShape& grid,
                                                           std::int64_t global_tokens,
                                                           const WindowSpec& spec,
                                                           KeySubset subset) {
  const WindowPlan plan(grid, global_tokens, spec);
  const std::int64_t hw = grid.tokens_per_frame();
  const std::int64_t grid_tokens = grid.tokens();
  const std::int64_t tokens = grid_tokens + global_tokens;
  const std::int64_t cells = plan.pooled_tokens_per_frame();
  std::vector<std::vector<KeyRef>> sets(static_cast<std::size_t>(tokens));
  for (std::int64_t t = 0; t < tokens; ++t) {
    std::vector<KeyRef>& keys = sets[static_cast<std::size_t>(t)];
    if (t >= grid_tokens) {  // global query: every key exactly
      if (subset == KeySubset::kOwnFrame) continue;
      for (std::int64_t k = 0; k < tokens; ++k) keys.push_back({k, false});
      continue;
    }
    const int f = static_cast<int>(t / hw);
    const FramePlan& fp = plan.frame(f);
    for (int g = 0; g < grid.frames; ++g) {
      const bool own = g == f;
      if (subset == KeySubset::kOwnFrame && !own) continue;
      if (subset == KeySubset::kOtherFrames && own) continue;
      const bool exact = fp.near.contains(g) || (fp.anchor && g == 0);
      const bool far = std::find(fp.far.begin(), fp.far.end(), g) != fp.far.end();
      if (exact) {
        for (std::int64_t k = g * hw; k < (g + 1) * hw; ++k) keys.push_back({k, false});
      } else if (far && spec.far_field > 0) {
        for (std::int64_t c = 0; c < cells; ++c) keys.push_back({g * cells + c, true});
      }
    }
    if (subset != KeySubset::kOwnFrame) {
      for (std::int64_t k = grid_tokens; k < tokens; ++k) keys.push_back({k, false});
    }
  }
  return sets;
}

struct ReferenceResult {
  std::vector<double> out;  // [B, heads, T, D]
  std::vector<double> lse;  // [B, heads, T]; -inf for queries without keys
  std::int64_t b = 0, h = 0, t = 0, d = 0;
  [[nodiscard]] double at(std::int64_t bi, std::int64_t hi, std::int64_t ti,
                          std::int64_t di) const {
    return out[static_cast<std::size_t>(((bi * h + hi) * t + ti) * d + di)];
  }
  [[nodiscard]] double lse_at(std::int64_t bi, std::int64_t hi, std::int64_t ti) const {
    return lse[static_cast<std::size_t>((bi * h + hi) * t + ti)];
  }
};

// Float64 attention of every query over its explicit key set; pooled keys are the means of the
// p x p cells of their frame (edge cells hold fewer tokens) with + log(count) on the logit.
// With log_count_bias = false the pooled logits get no bias (only to show that the bias matters).
inline ReferenceResult reference_attention(const HostTensor& q_in, const HostTensor& k_in,
                                           const HostTensor& v_in,
                                           const std::vector<std::vector<KeyRef>>& key_sets,
                                           const LatentShape& grid, int far_field, double scale,
                                           bool log_count_bias = true) {
  const DoubleTensor q(q_in);
  const DoubleTensor k(k_in);
  const DoubleTensor v(v_in);
  ReferenceResult r;
  r.b = q_in.size(0);
  r.h = q_in.size(1);
  r.t = q_in.size(2);
  r.d = q_in.size(3);
  r.out.assign(static_cast<std::size_t>(r.b * r.h * r.t * r.d), 0.0);
  r.lse.assign(static_cast<std::size_t>(r.b * r.h * r.t), -std::numeric_limits<double>::infinity());
  const std::int64_t hw = grid.tokens_per_frame();
  const int p = std::max(far_field, 1);
  const int cells_h = (grid.height + p - 1) / p;
  const int cells_w = (grid.width + p - 1) / p;
  const std::int64_t cells = static_cast<std::int64_t>(cells_h) * cells_w;
  for (std::int64_t b = 0; b < r.b; ++b) {
    for (std::int64_t h = 0; h < r.h; ++h) {
      // Pooled keys/values and the log of each cell's token count.
      std::vector<double> pk(static_cast<std::size_t>(grid.frames * cells * r.d), 0.0);
      std::vector<double> pv(pk.size(), 0.0);
      std::vector<double> log_count(static_cast<std::size_t>(grid.frames * cells), 0.0);
      if (far_field > 0) {
        for (int f = 0; f < grid.frames; ++f) {
          for (int y = 0; y < grid.height; ++y) {
            for (int x = 0; x < grid.width; ++x) {
              const std::int64_t cell = f * cells + (y / p) * cells_w + x / p;
              const std::int64_t token = f * hw + static_cast<std::int64_t>(y) * grid.width + x;
              log_count[static_cast<std::size_t>(cell)] += 1.0;
              for (std::int64_t d = 0; d < r.d; ++d) {
                pk[static_cast<std::size_t>(cell * r.d + d)] += k.row(b, h, token)[d];
                pv[static_cast<std::size_t>(cell * r.d + d)] += v.row(b, h, token)[d];
              }
            }
          }
        }
        for (std::size_t c = 0; c < log_count.size(); ++c) {
          for (std::int64_t d = 0; d < r.d; ++d) {
            pk[c * static_cast<std::size_t>(r.d) + static_cast<std::size_t>(d)] /= log_count[c];
            pv[c * static_cast<std::size_t>(r.d) + static_cast<std::size_t>(d)] /= log_count[c];
          }
          log_count[c] = log_count_bias ? std::log(log_count[c]) : 0.0;
        }
      }
      for (std::int64_t t = 0; t < r.t; ++t) {
        const std::vector<KeyRef>& keys = key_sets[static_cast<std::size_t>(t)];
        if (keys.empty()) continue;
        std::vector<double> logits(keys.size());
        const double* q_row = q.row(b, h, t);
        for (std::size_t j = 0; j < keys.size(); ++j) {
          const double* k_row = keys[j].pooled ? &pk[static_cast<std::size_t>(keys[j].index * r.d)]
                                               : k.row(b, h, keys[j].index);
          double dot = 0.0;
          for (std::int64_t d = 0; d < r.d; ++d) dot += q_row[d] * k_row[d];
          logits[j] = scale * dot +
                      (keys[j].pooled ? log_count[static_cast<std::size_t>(keys[j].index)] : 0.0);
        }
        const double top = *std::max_element(logits.begin(), logits.end());
        double sum = 0.0;
        for (double& x : logits) {
          x = std::exp(x - top);
          sum += x;
        }
        r.lse[static_cast<std::size_t>((b * r.h + h) * r.t + t)] = top + std::log(sum);
        double* out_row = &r.out[static_cast<std::size_t>(((b * r.h + h) * r.t + t) * r.d)];
        for (std::size_t j = 0; j < keys.size(); ++j) {
          const double* v_row = keys[j].pooled ? &pv[static_cast<std::size_t>(keys[j].index * r.d)]
                                               : v.row(b, h, keys[j].index);
          const double weight = logits[j] / sum;
          for (std::int64_t d = 0; d < r.d; ++d) out_row[d] += weight * v_row[d];
        }
      }
    }
  }
  return r;
}

// ||out - ref|| / ||ref||; NaN anywhere in out gives NaN (which fails every bound).
inline double relative_error(const HostTensor& out, const ReferenceResult& ref) {
  double diff = 0.0;
  double norm = 0.0;
  bool nan = false;
  out.for_each([&](auto b, auto h, auto t, auto d) {
    const double x = out.get(b, h, t, d);
    if (std::isnan(x)) nan = true;
    const double y = ref.at(b, h, t, d);
    diff += (x - y) * (x - y);
    norm += y * y;
  });
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

// Largest |lse - ref| over the queries (NaN if any lse is NaN or a finite/-inf mismatch).
inline double max_lse_error(const HostLse& lse, const ReferenceResult& ref) {
  double worst = 0.0;
  for (std::int64_t b = 0; b < lse.b; ++b) {
    for (std::int64_t h = 0; h < lse.h; ++h) {
      for (std::int64_t t = 0; t < lse.t; ++t) {
        const double x = lse.at(b, h, t);
        const double y = ref.lse_at(b, h, t);
        if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
        if (std::isinf(y) || std::isinf(x)) {
          if (x != y) return std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        worst = std::max(worst, std::fabs(x - y));
      }
    }
  }
  return worst;
}

inline double error_bound(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return 2e-3;
    case DType::kBFloat16:
      return 1e-2;
    default:
      return 1e-5;
  }
}

}  // namespace ltx2eff::testing
