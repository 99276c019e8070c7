// IEEE half (float16) and bfloat16 <-> float32 conversions on raw 16-bit patterns, written with
// integer arithmetic only so that they are portable (no compiler half types) and so that the
// widening conversions vectorize inside loops (no branches: selects only).
#pragma once

#include <bit>
#include <cstdint>

namespace ltx2eff {

// float16 bits -> float32; exact for every value (subnormals, infinities, NaN payload kept).
inline float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t magnitude = bits & 0x7fffu;
  // Placing the half exponent/mantissa at float positions and multiplying by 2^112 rebias the
  // exponent and normalises subnormals in one exact multiplication.
  const float scaled = std::bit_cast<float>(magnitude << 13) * 0x1p112f;
  const std::uint32_t finite = std::bit_cast<std::uint32_t>(scaled);
  const std::uint32_t special = (magnitude << 13) | 0x7f800000u;  // inf / NaN
  return std::bit_cast<float>(sign | (magnitude >= 0x7c00u ? special : finite));
}

// float32 -> float16 bits, round to nearest even, overflow to infinity, NaN stays NaN.
inline std::uint16_t float_to_half(float value) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t magnitude = u & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);   // NaN
  if (magnitude >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520
  if (magnitude < 0x38800000u) {
    // Subnormal half (or zero): adding 0.5 lets the FPU round the mantissa at 2^-24 steps.
    const float shifted = std::bit_cast<float>(magnitude) + 0.5f;
    return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3f000000u));
  }
  const std::uint32_t odd = (magnitude >> 13) & 1u;
  const std::uint32_t rounded = magnitude + 0xc8000fffu + odd;  // rebias by -112 << 23, round
  return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

// bfloat16 bits -> float32 (exact).
inline float bfloat16_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// float32 -> bfloat16 bits, round to nearest even, NaN stays NaN.
inline std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

// Value after a round trip through the narrower type (used to emulate a cast of the inputs).
inline float round_to_half(float value) {
  return half_to_float(float_to_half(value));
}
inline float round_to_bfloat16(float value) {
  return bfloat16_to_float(float_to_bfloat16(value));
}

}  // namespace ltx2eff
