//===- TensorType.cpp - storage types of weight tensors -------------------------===//

#include "runtime/formats/TensorType.h"

#include <limits>

namespace llmc {

const char *tensorTypeName(TensorType type) {
  switch (type) {
  case TensorType::F32: return "f32";
  case TensorType::F16: return "f16";
  case TensorType::BF16: return "bf16";
  case TensorType::Q8_0: return "q8_0";
  case TensorType::Q4_0: return "q4_0";
  case TensorType::Q4_K: return "q4_k";
  case TensorType::Q6_K: return "q6_k";
  }
  return "?";
}

std::optional<TensorType> parseTensorType(const std::string &name) {
  for (int i = 0; i < kNumTensorTypes; ++i)
    if (name == tensorTypeName(static_cast<TensorType>(i)))
      return static_cast<TensorType>(i);
  return std::nullopt;
}

int64_t tensorTypeBlockElements(TensorType type) {
  switch (type) {
  case TensorType::F32:
  case TensorType::F16:
  case TensorType::BF16: return 1;
  case TensorType::Q8_0:
  case TensorType::Q4_0: return 32;
  case TensorType::Q4_K:
  case TensorType::Q6_K: return 256;
  }
  return 1;
}

int64_t tensorTypeBlockBytes(TensorType type) {
  switch (type) {
  case TensorType::F32: return 4;
  case TensorType::F16:
  case TensorType::BF16: return 2;
  case TensorType::Q8_0: return 34;
  case TensorType::Q4_0: return 18;
  case TensorType::Q4_K: return 144;
  case TensorType::Q6_K: return 210;
  }
  return 0;
}

bool isQuantized(TensorType type) { return tensorTypeBlockElements(type) > 1; }

int64_t tensorTypeBytes(TensorType type, int64_t elements) {
  int64_t block = tensorTypeBlockElements(type);
  if (elements < 0 || elements % block)
    return -1;
  int64_t blocks = elements / block;
  if (blocks > std::numeric_limits<int64_t>::max() / tensorTypeBlockBytes(type))
    return -1;
  return blocks * tensorTypeBlockBytes(type);
}

} // namespace llmc
