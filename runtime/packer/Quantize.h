//===- Quantize.h - converting weight blocks between formats ---------------------===//
//
// Block layouts are GGUF's: Q8_0 = f16 scale + 32 int8; Q4_0 = f16 scale +
// 16 bytes, element j in the low nibble of byte j and element j+16 in the high
// nibble, stored with an offset of 8; Q4_K and Q6_K are 256-element
// super-blocks. Quantization follows the formats' reference rounding
// (round to nearest), written here from the format description.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_PACKER_QUANTIZE_H
#define LLMC_RUNTIME_PACKER_QUANTIZE_H

#include "runtime/formats/TensorType.h"
#include "runtime/support/Status.h"

#include <cstdint>

namespace llmc {

/// Decodes `count` elements (a whole number of blocks) of `type` into floats.
void dequantizeRow(TensorType type, const uint8_t *src, float *dst,
                   int64_t count);
/// Encodes `count` floats (a whole number of blocks) as `type`.
void quantizeRow(TensorType type, const float *src, uint8_t *dst,
                 int64_t count);
/// Like quantizeRow, for floats decoded from another quantized format (a
/// K-quant converted up to Q8_0): the scale is fitted by least squares.
void requantizeRow(TensorType type, const float *src, uint8_t *dst,
                   int64_t count);

} // namespace llmc

#endif // LLMC_RUNTIME_PACKER_QUANTIZE_H
