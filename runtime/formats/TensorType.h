//===- TensorType.h - storage types of weight tensors ---------------------------===//
//
// The formats llmc reads and writes. Block formats are GGUF's. The numbering
// equals the llm dialect's WeightFormat enum (checked by the compiler).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_FORMATS_TENSORTYPE_H
#define LLMC_RUNTIME_FORMATS_TENSORTYPE_H

#include <cstdint>
#include <optional>
#include <string>

namespace llmc {

enum class TensorType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K };
inline constexpr int kNumTensorTypes = 7;

/// "f32", "q4_0", ... (the dialect's spelling).
const char *tensorTypeName(TensorType type);
std::optional<TensorType> parseTensorType(const std::string &name);
/// Elements per block (1 for float types) and bytes per block.
int64_t tensorTypeBlockElements(TensorType type);
int64_t tensorTypeBlockBytes(TensorType type);
bool isQuantized(TensorType type);
/// Bytes of `elements` elements, or -1 if not a whole number of blocks or the
/// result would overflow.
int64_t tensorTypeBytes(TensorType type, int64_t elements);

} // namespace llmc

#endif // LLMC_RUNTIME_FORMATS_TENSORTYPE_H
