#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "ltx2eff/error.hpp"
#include "ltx2eff/half_float.hpp"
#include "ltx2eff/interpolation.hpp"
#include "ltx2eff/keyframe_plan.hpp"

namespace ltx2eff {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TensorView view5(void* data, DType dtype, std::array<std::int64_t, 5> shape) {
  TensorView v;
  v.data = data;
  v.dtype = dtype;
  v.ndim = 5;
  std::int64_t stride = 1;
  for (int d = 4; d >= 0; --d) {
    v.shape[static_cast<std::size_t>(d)] = shape[static_cast<std::size_t>(d)];
    v.strides[static_cast<std::size_t>(d)] = stride;
    stride *= shape[static_cast<std::size_t>(d)];
  }
  return v;
}

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

struct Shape {
  std::int64_t b, c, f, h, w;
  [[nodiscard]] std::size_t numel() const { return static_cast<std::size_t>(b * c * f * h * w); }
  [[nodiscard]] std::size_t at(std::int64_t bi, std::int64_t ci, std::int64_t fi, std::int64_t hi,
                               std::int64_t wi) const {
    return static_cast<std::size_t>((((bi * c + ci) * f + fi) * h + hi) * w + wi);
  }
};

// float64 reference of lerp / slerp for one output element set.
std::vector<double> reference(const std::vector<float>& keys, const Shape& ks,
                              const KeyframePlan& plan, Interpolation method) {
  const Shape os{ks.b, ks.c, plan.full_frames, ks.h, ks.w};
  std::vector<double> out(os.numel());
  for (std::int64_t b = 0; b < ks.b; ++b) {
    for (int f = 0; f < plan.full_frames; ++f) {
      const KeyframeSource& src = plan.map[static_cast<std::size_t>(f)];
      const double t = src.left == src.right ? 0.0 : src.t;
      for (std::int64_t h = 0; h < ks.h; ++h) {
        for (std::int64_t w = 0; w < ks.w; ++w) {
          double dot = 0, na = 0, nb = 0;
          for (std::int64_t c = 0; c < ks.c; ++c) {
            const double a = keys[ks.at(b, c, src.left, h, w)];
            const double bb = keys[ks.at(b, c, src.right, h, w)];
            dot += a * bb;
            na += a * a;
            nb += bb * bb;
          }
          const double la = std::sqrt(na), lb = std::sqrt(nb);
          double wa = 1 - t, wb = t;
          if (method == Interpolation::kSlerp && t > 0 && t < 1) {
            const double omega = std::acos(std::clamp(dot / (la * lb), -1.0, 1.0));
            const double norm = (1 - t) * la + t * lb;
            wa = norm * std::sin((1 - t) * omega) / (std::sin(omega) * la);
            wb = norm * std::sin(t * omega) / (std::sin(omega) * lb);
          }
          for (std::int64_t c = 0; c < ks.c; ++c) {
            out[os.at(b, c, f, h, w)] =
                wa * keys[ks.at(b, c, src.left, h, w)] + wb * keys[ks.at(b, c, src.right, h, w)];
          }
        }
      }
    }
  }
  return out;
}

double relative_error(const std::vector<float>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    if (std::isnan(got[i])) return std::numeric_limits<double>::infinity();
    num += d * d;
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

TEST(Interpolation, ExactAtKeyframesForEveryMethod) {
  const KeyframePlan plan = make_keyframe_plan(10, 3, 24.0, std::vector<int>{5});
  const Shape ks{2, 8, plan.diffused_frames(), 6, 7};
  std::vector<float> keys = random_values(ks.numel(), 1);
  for (Interpolation method :
       {Interpolation::kLerp, Interpolation::kSlerp, Interpolation::kMotion}) {
    const Shape os{ks.b, ks.c, plan.full_frames, ks.h, ks.w};
    std::vector<float> out(os.numel(), kNaN);
    InterpolationOptions options;
    options.method = method;
    interpolate_frames(view5(keys.data(), DType::kFloat32, {ks.b, ks.c, ks.f, ks.h, ks.w}), plan,
                       view5(out.data(), DType::kFloat32, {os.b, os.c, os.f, os.h, os.w}), options);
    for (float v : out) ASSERT_TRUE(std::isfinite(v)) << to_string(method);
    for (std::int64_t b = 0; b < ks.b; ++b) {
      for (int slot = 0; slot < plan.diffused_frames(); ++slot) {
        const int f = plan.diffused[static_cast<std::size_t>(slot)];
        for (std::int64_t c = 0; c < ks.c; ++c) {
          for (std::int64_t h = 0; h < ks.h; ++h) {
            for (std::int64_t w = 0; w < ks.w; ++w) {
              ASSERT_EQ(out[os.at(b, c, f, h, w)], keys[ks.at(b, c, slot, h, w)]);
            }
          }
        }
      }
    }
  }
}

TEST(Interpolation, LerpAndSlerpMatchFloat64Reference) {
  const KeyframePlan plan = make_keyframe_plan(13, 4, 24.0);
  const Shape ks{2, 16, plan.diffused_frames(), 5, 6};
  for (std::uint32_t seed : {3U, 4U}) {
    std::vector<float> keys = random_values(ks.numel(), seed);
    for (Interpolation method : {Interpolation::kLerp, Interpolation::kSlerp}) {
      const Shape os{ks.b, ks.c, plan.full_frames, ks.h, ks.w};
      std::vector<float> out(os.numel(), kNaN);
      InterpolationOptions options;
      options.method = method;
      interpolate_frames(view5(keys.data(), DType::kFloat32, {ks.b, ks.c, ks.f, ks.h, ks.w}), plan,
                         view5(out.data(), DType::kFloat32, {os.b, os.c, os.f, os.h, os.w}),
                         options);
      EXPECT_LT(relative_error(out, reference(keys, ks, plan, method)), 2e-6) << to_string(method);
    }
  }
}

TEST(Interpolation, SlerpKeepsTheInterpolatedNormAndFallsBackWhenParallel) {
  const KeyframePlan plan = make_keyframe_plan(3, 2, 24.0);  // frame 1 at t = 0.5
  const Shape ks{1, 32, 2, 3, 3};
  std::vector<float> keys = random_values(ks.numel(), 9);
  // Token (0, 0): the right keyframe is the left one scaled by 3 (parallel).
  for (std::int64_t c = 0; c < ks.c; ++c)
    keys[ks.at(0, c, 1, 0, 0)] = 3 * keys[ks.at(0, c, 0, 0, 0)];
  const Shape os{1, 32, 3, 3, 3};
  std::vector<float> out(os.numel(), kNaN);
  InterpolationOptions options;
  options.method = Interpolation::kSlerp;
  interpolate_frames(view5(keys.data(), DType::kFloat32, {1, 32, 2, 3, 3}), plan,
                     view5(out.data(), DType::kFloat32, {1, 32, 3, 3, 3}), options);
  for (std::int64_t h = 0; h < 3; ++h) {
    for (std::int64_t w = 0; w < 3; ++w) {
      double na = 0, nb = 0, no = 0;
      for (std::int64_t c = 0; c < ks.c; ++c) {
        na += std::pow(keys[ks.at(0, c, 0, h, w)], 2);
        nb += std::pow(keys[ks.at(0, c, 1, h, w)], 2);
        no += std::pow(out[os.at(0, c, 1, h, w)], 2);
      }
      EXPECT_NEAR(std::sqrt(no), 0.5 * std::sqrt(na) + 0.5 * std::sqrt(nb), 1e-4);
    }
  }
  for (std::int64_t c = 0; c < ks.c; ++c) {
    EXPECT_FLOAT_EQ(out[os.at(0, c, 1, 0, 0)], 2 * keys[ks.at(0, c, 0, 0, 0)]);
  }
}

TEST(Interpolation, HalfPrecisionAndStridedViews) {
  const KeyframePlan plan = make_keyframe_plan(9, 2, 24.0);
  const Shape ks{1, 12, plan.diffused_frames(), 4, 5};
  const Shape os{1, 12, plan.full_frames, 4, 5};
  const std::vector<float> values = random_values(ks.numel(), 11);
  for (DType dtype : {DType::kFloat16, DType::kBFloat16}) {
    std::vector<std::uint16_t> keys(ks.numel());
    std::vector<float> rounded(ks.numel());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      keys[i] = dtype == DType::kFloat16 ? float_to_half(values[i]) : float_to_bfloat16(values[i]);
      rounded[i] = dtype == DType::kFloat16 ? half_to_float(keys[i]) : bfloat16_to_float(keys[i]);
    }
    // Output stored frame-major ([B, F, C, H, W] in memory) and viewed as [B, C, F, H, W].
    std::vector<std::uint16_t> out(os.numel(), 0x7E00);  // NaN in both formats' upper bits
    TensorView ov = view5(out.data(), dtype, {os.b, os.c, os.f, os.h, os.w});
    ov.strides = {os.f * os.c * os.h * os.w, os.h * os.w, os.c * os.h * os.w, os.w, 1, 0};
    for (Interpolation method : {Interpolation::kLerp, Interpolation::kSlerp}) {
      InterpolationOptions options;
      options.method = method;
      interpolate_frames(view5(keys.data(), dtype, {ks.b, ks.c, ks.f, ks.h, ks.w}), plan, ov,
                         options);
      const std::vector<double> ref = reference(rounded, ks, plan, method);
      std::vector<float> got(os.numel());
      for (std::int64_t c = 0; c < os.c; ++c) {
        for (std::int64_t f = 0; f < os.f; ++f) {
          for (std::int64_t p = 0; p < os.h * os.w; ++p) {
            const std::uint16_t bits =
                out[static_cast<std::size_t>((f * os.c + c) * os.h * os.w + p)];
            got[os.at(0, c, f, 0, 0) + static_cast<std::size_t>(p)] =
                dtype == DType::kFloat16 ? half_to_float(bits) : bfloat16_to_float(bits);
          }
        }
      }
      const double bound = dtype == DType::kFloat16 ? 1e-3 : 8e-3;
      EXPECT_LT(relative_error(got, ref), bound) << to_string(dtype) << " " << to_string(method);
    }
  }
}

// A smooth multi-channel field, defined at any real position.
float smooth_field(int c, double y, double x) {
  const double fy = 0.11 + 0.013 * c;
  const double fx = 0.07 + 0.017 * ((c * 7) % 11);
  return static_cast<float>(std::sin(fy * y * 6.283 + 0.5 * c) *
                                std::cos(fx * x * 6.283 + 0.3 * c) +
                            0.5 * std::sin(0.05 * 6.283 * (x + y) + c));
}

struct MotionCase {
  std::vector<float> keys;   // [1, C, 2, H, W]
  std::vector<float> truth;  // [C, H, W] at the middle frame
};

// Error of the frames between two keyframes against the truth, over the interior only (tokens
// near the border see content that entered the frame, which no method can know).
double interior_error(const std::vector<float>& out, const Shape& os, int frame,
                      const std::vector<float>& truth, int margin) {
  double num = 0, den = 0;
  for (std::int64_t c = 0; c < os.c; ++c) {
    for (std::int64_t h = margin; h < os.h - margin; ++h) {
      for (std::int64_t w = margin; w < os.w - margin; ++w) {
        const double t = truth[static_cast<std::size_t>((c * os.h + h) * os.w + w)];
        const double d = out[os.at(0, c, frame, h, w)] - t;
        num += d * d;
        den += t * t;
      }
    }
  }
  return std::sqrt(num / den);
}

TEST(Interpolation, MotionWarpRecoversIntegerTranslationOfRandomField) {
  // B is A moved by (+2, -2) tokens; the middle frame is A moved by (+1, -1).
  const int channels = 16, height = 24, width = 24;
  const std::vector<float> base = random_values(static_cast<std::size_t>(channels) * 40 * 40, 21);
  auto field = [&](int c, int y, int x) {  // a random field on a larger canvas
    return base[static_cast<std::size_t>((c * 40 + (y + 8)) * 40 + (x + 8))];
  };
  const Shape ks{1, channels, 2, height, width};
  std::vector<float> keys(ks.numel());
  std::vector<float> truth(static_cast<std::size_t>(channels) * height * width);
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        keys[ks.at(0, c, 0, y, x)] = field(c, y, x);
        keys[ks.at(0, c, 1, y, x)] = field(c, y - 2, x + 2);
        truth[static_cast<std::size_t>((c * height + y) * width + x)] = field(c, y - 1, x + 1);
      }
    }
  }
  // The estimated field says where A's content went (frames as contiguous [C, H, W]).
  const std::size_t frame_size = static_cast<std::size_t>(channels) * height * width;
  std::vector<float> frame_a(frame_size);
  std::vector<float> frame_b(frame_size);
  for (int c = 0; c < channels; ++c) {
    for (int p = 0; p < height * width; ++p) {
      frame_a[static_cast<std::size_t>(c * height * width + p)] = keys[ks.at(0, c, 0, 0, 0) + p];
      frame_b[static_cast<std::size_t>(c * height * width + p)] = keys[ks.at(0, c, 1, 0, 0) + p];
    }
  }
  const MotionField motion =
      estimate_motion(frame_a.data(), frame_b.data(), channels, height, width);
  for (int y = 4; y < height - 4; ++y) {
    for (int x = 4; x < width - 4; ++x) {
      EXPECT_NEAR(motion.dy[static_cast<std::size_t>(y * width + x)], 2.0, 0.25);
      EXPECT_NEAR(motion.dx[static_cast<std::size_t>(y * width + x)], -2.0, 0.25);
    }
  }

  const KeyframePlan plan = make_keyframe_plan(3, 2, 24.0);
  const Shape os{1, channels, 3, height, width};
  double errors[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    std::vector<float> out(os.numel(), kNaN);
    InterpolationOptions options;
    options.method = i == 0 ? Interpolation::kLerp : Interpolation::kMotion;
    interpolate_frames(view5(keys.data(), DType::kFloat32, {1, channels, 2, height, width}), plan,
                       view5(out.data(), DType::kFloat32, {1, channels, 3, height, width}),
                       options);
    errors[i] = interior_error(out, os, 1, truth, 3);
  }
  EXPECT_GT(errors[0], 0.6);              // lerp of unrelated noise: ~0.7 relative error
  EXPECT_LT(errors[1], 0.1 * errors[0]);  // the warp lands on the moved content
}

TEST(Interpolation, MotionWarpBeatsLerpOnSubtokenTranslation) {
  // Smooth field moved by (1.5, 2.5) tokens between keyframes four latent frames apart.
  const int channels = 12, height = 20, width = 28;
  const double dy = 1.5, dx = 2.5;
  const Shape ks{1, channels, 2, height, width};
  std::vector<float> keys(ks.numel());
  for (int c = 0; c < channels; ++c) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        keys[ks.at(0, c, 0, y, x)] = smooth_field(c, y, x);
        keys[ks.at(0, c, 1, y, x)] = smooth_field(c, y - dy, x - dx);
      }
    }
  }
  const KeyframePlan plan = make_keyframe_plan(5, 4, 24.0);
  const Shape os{1, channels, 5, height, width};
  std::vector<std::vector<float>> outs;
  for (Interpolation method : {Interpolation::kLerp, Interpolation::kMotion}) {
    std::vector<float> out(os.numel(), kNaN);
    InterpolationOptions options;
    options.method = method;
    interpolate_frames(view5(keys.data(), DType::kFloat32, {1, channels, 2, height, width}), plan,
                       view5(out.data(), DType::kFloat32, {1, channels, 5, height, width}),
                       options);
    outs.push_back(out);
  }
  for (int f = 1; f <= 3; ++f) {
    const double t = f / 4.0;
    std::vector<float> truth(static_cast<std::size_t>(channels) * height * width);
    for (int c = 0; c < channels; ++c) {
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          truth[static_cast<std::size_t>((c * height + y) * width + x)] =
              smooth_field(c, y - t * dy, x - t * dx);
        }
      }
    }
    const double lerp_error = interior_error(outs[0], os, f, truth, 4);
    const double motion_error = interior_error(outs[1], os, f, truth, 4);
    EXPECT_LT(motion_error, 0.35 * lerp_error) << "frame " << f;
  }
}

TEST(Interpolation, BadInputThrowsNamingTheParameter) {
  const KeyframePlan plan = make_keyframe_plan(5, 2, 24.0);  // 3 diffused
  std::vector<float> keys(1 * 2 * 3 * 2 * 2, 1.0F);
  std::vector<float> out(1 * 2 * 5 * 2 * 2, kNaN);
  const TensorView kv = view5(keys.data(), DType::kFloat32, {1, 2, 3, 2, 2});
  const TensorView ov = view5(out.data(), DType::kFloat32, {1, 2, 5, 2, 2});
  auto expect_param = [](auto&& fn, const std::string& param) {
    try {
      fn();
      ADD_FAILURE() << "expected InvalidArgument for " << param;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(e.parameter(), param) << e.what();
    }
  };
  expect_param(
      [&] {
        interpolate_frames(view5(keys.data(), DType::kFloat32, {1, 2, 2, 2, 2}), plan, ov);
      },
      "keyframes");
  expect_param(
      [&] {
        interpolate_frames(kv, plan, view5(out.data(), DType::kFloat32, {1, 2, 4, 2, 2}));
      },
      "out");
  expect_param(
      [&] {
        interpolate_frames(kv, plan, view5(out.data(), DType::kFloat32, {1, 1, 5, 2, 2}));
      },
      "out");
  TensorView ints = kv;
  ints.dtype = DType::kInt32;
  expect_param([&] { interpolate_frames(ints, plan, ov); }, "keyframes");
  TensorView cuda = ov;
  cuda.device = DeviceKind::kCuda;
  expect_param([&] { interpolate_frames(kv, plan, cuda); }, "out");
  TensorView four_d = kv;
  four_d.ndim = 4;
  expect_param([&] { interpolate_frames(four_d, plan, ov); }, "keyframes");
  InterpolationOptions upsampler;
  upsampler.method = Interpolation::kUpsampler;
  expect_param([&] { interpolate_frames(kv, plan, ov, upsampler); }, "method");
  InterpolationOptions bad_block;
  bad_block.method = Interpolation::kMotion;
  bad_block.motion.block = 0;
  expect_param([&] { interpolate_frames(kv, plan, ov, bad_block); }, "motion.block");
  InterpolationOptions bad_radius;
  bad_radius.motion.search_radius = 40;
  expect_param([&] { interpolate_frames(kv, plan, ov, bad_radius); }, "motion.search_radius");
  // out overlapping the keyframes
  expect_param(
      [&] {
        interpolate_frames(kv, plan, view5(keys.data(), DType::kFloat32, {1, 2, 5, 2, 2}));
      },
      "out");
  for (float v : out) EXPECT_TRUE(std::isnan(v));  // nothing written on failure
}

}  // namespace
}  // namespace ltx2eff
