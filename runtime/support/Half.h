//===- Half.h - IEEE half and bfloat16 conversions ----------------------------===//

#ifndef LLMC_RUNTIME_SUPPORT_HALF_H
#define LLMC_RUNTIME_SUPPORT_HALF_H

#include <cstdint>
#include <cstring>

namespace llmc {

inline float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

/// IEEE 754 binary16 -> binary32, exact (subnormals, inf and NaN included).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsToFloat(sign);
    // Subnormal: value = mantissa * 2^-24.
    float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31)
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// binary32 -> binary16 with round-to-nearest-even; overflow gives inf.
inline uint16_t floatToHalf(float f) {
  uint32_t x = floatToBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absBits = x & 0x7fffffffu;
  if (absBits >= 0x7f800000u) // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (absBits > 0x7f800000u ? 0x200u : 0u));
  if (absBits >= 0x477ff000u) // rounds to >= 65520: overflow
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (absBits < 0x38800000u) { // below the smallest normal half: subnormal
    // Scale so the subnormal's integer mantissa is the rounded value.
    float magnitude = bitsToFloat(absBits) * 16777216.0f; // * 2^24
    uint32_t m = static_cast<uint32_t>(magnitude);
    float rest = magnitude - static_cast<float>(m);
    if (rest > 0.5f || (rest == 0.5f && (m & 1u)))
      ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exponent = (absBits >> 23) - 112;
  uint32_t mantissa = absBits & 0x7fffffu;
  uint32_t h = (exponent << 10) | (mantissa >> 13);
  uint32_t round = mantissa & 0x1fffu;
  if (round > 0x1000u || (round == 0x1000u && (h & 1u)))
    ++h; // may carry into the exponent, which is the right result
  return static_cast<uint16_t>(sign | h);
}

inline float bf16ToFloat(uint16_t b) {
  return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

} // namespace llmc

#endif // LLMC_RUNTIME_SUPPORT_HALF_H
