//===- GGUF.cpp - reading GGUF v2/v3 files, checked before every read ---------===//

#include "runtime/formats/GGUF.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace llmc {

namespace {
constexpr uint32_t kMagic = 0x46554747; // "GGUF" little-endian
constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxKeyBytes = 65536;

/// The ggml type ids GGUF files use, with their block geometry, so every
/// tensor's byte size can be checked even when llmc cannot compute with it.
struct GGMLTypeInfo {
  uint32_t id;
  const char *name;
  int64_t blockElements;
  int64_t blockBytes;
  std::optional<TensorType> type;
};
const GGMLTypeInfo kGGMLTypes[] = {
    {0, "F32", 1, 4, TensorType::F32},
    {1, "F16", 1, 2, TensorType::F16},
    {2, "Q4_0", 32, 18, TensorType::Q4_0},
    {3, "Q4_1", 32, 20, std::nullopt},
    {6, "Q5_0", 32, 22, std::nullopt},
    {7, "Q5_1", 32, 24, std::nullopt},
    {8, "Q8_0", 32, 34, TensorType::Q8_0},
    {9, "Q8_1", 32, 36, std::nullopt},
    {10, "Q2_K", 256, 84, std::nullopt},
    {11, "Q3_K", 256, 110, std::nullopt},
    {12, "Q4_K", 256, 144, TensorType::Q4_K},
    {13, "Q5_K", 256, 176, std::nullopt},
    {14, "Q6_K", 256, 210, TensorType::Q6_K},
    {15, "Q8_K", 256, 292, std::nullopt},
    // llama.cpp's importance-matrix and ternary types: sized, so that such a
    // file is refused by type name rather than as an unknown id.
    {16, "IQ2_XXS", 256, 66, std::nullopt},
    {17, "IQ2_XS", 256, 74, std::nullopt},
    {18, "IQ3_XXS", 256, 98, std::nullopt},
    {19, "IQ1_S", 256, 50, std::nullopt},
    {20, "IQ4_NL", 32, 18, std::nullopt},
    {21, "IQ3_S", 256, 110, std::nullopt},
    {22, "IQ2_S", 256, 82, std::nullopt},
    {23, "IQ4_XS", 256, 136, std::nullopt},
    {24, "I8", 1, 1, std::nullopt},
    {25, "I16", 1, 2, std::nullopt},
    {26, "I32", 1, 4, std::nullopt},
    {27, "I64", 1, 8, std::nullopt},
    {28, "F64", 1, 8, std::nullopt},
    {29, "IQ1_M", 256, 56, std::nullopt},
    {30, "BF16", 1, 2, TensorType::BF16},
    {34, "TQ1_0", 256, 54, std::nullopt},
    {35, "TQ2_0", 256, 66, std::nullopt},
};

const GGMLTypeInfo *findGGMLType(uint32_t id) {
  for (const GGMLTypeInfo &info : kGGMLTypes)
    if (info.id == id)
      return &info;
  return nullptr;
}

/// Size in bytes of a scalar value type, 0 for strings and arrays.
uint64_t scalarSize(GGUFValueType type) {
  switch (type) {
  case GGUFValueType::U8:
  case GGUFValueType::I8:
  case GGUFValueType::Bool: return 1;
  case GGUFValueType::U16:
  case GGUFValueType::I16: return 2;
  case GGUFValueType::U32:
  case GGUFValueType::I32:
  case GGUFValueType::F32: return 4;
  case GGUFValueType::U64:
  case GGUFValueType::I64:
  case GGUFValueType::F64: return 8;
  case GGUFValueType::String:
  case GGUFValueType::Array: return 0;
  }
  return 0;
}

bool isKnownValueType(uint32_t type) { return type <= 12; }
} // namespace

const char *ggufValueTypeName(GGUFValueType type) {
  static const char *names[] = {"u8",   "i8",    "u16",   "i16", "u32",
                                "i32",  "f32",   "bool",  "string", "array",
                                "u64",  "i64",   "f64"};
  auto index = static_cast<uint32_t>(type);
  return index < 13 ? names[index] : "unknown";
}

int64_t GGUFTensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : ne)
    n *= d;
  return n;
}

/// A cursor over the mapped bytes; every read checks the remaining length.
class GGUFParser {
public:
  GGUFParser(GGUFFile &file) : f(file), data(file.file_->data()),
                               size(file.file_->size()) {}

  Status run() {
    uint32_t magic = 0;
    if (!readU32(magic))
      return f.error("file of " + std::to_string(size) +
                     " bytes is too short for a GGUF header");
    if (magic != kMagic)
      return f.error("not a GGUF file (bad magic)");
    if (!readU32(f.version_))
      return truncated("the version");
    if (f.version_ == 1)
      return f.error("GGUF version 1 is not supported (only 2 and 3)");
    if (f.version_ != 2 && f.version_ != 3)
      return f.error("unsupported GGUF version " + std::to_string(f.version_) +
                     " (only 2 and 3)");
    uint64_t tensorCount = 0, kvCount = 0;
    if (!readU64(tensorCount) || !readU64(kvCount))
      return truncated("the header counts");
    // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes, a
    // tensor info at least 8 + 4 + 8 + 4 + 8: larger counts cannot fit.
    if (kvCount > remaining() / 13)
      return f.error("metadata count " + std::to_string(kvCount) +
                     " cannot fit in the file");
    if (tensorCount > remaining() / 32)
      return f.error("tensor count " + std::to_string(tensorCount) +
                     " cannot fit in the file");

    for (uint64_t i = 0; i < kvCount; ++i)
      LLMC_RETURN_IF_ERROR(readKeyValue(i));

    if (const GGUFValue *align = f.find("general.alignment")) {
      if (align->type != GGUFValueType::U32 && align->type != GGUFValueType::U64)
        return f.error("general.alignment must be an unsigned integer");
      uint64_t a = align->uinteger;
      if (a == 0 || (a & (a - 1)) || a > 65536)
        return f.error("general.alignment " + std::to_string(a) +
                       " is not a power of two up to 65536");
      f.alignment_ = a;
    }

    f.tensors_.reserve(static_cast<size_t>(tensorCount));
    for (uint64_t i = 0; i < tensorCount; ++i)
      LLMC_RETURN_IF_ERROR(readTensorInfo(i));

    uint64_t dataStart = alignUp(pos, f.alignment_);
    if (dataStart > size && tensorCount > 0)
      return f.error("tensor data section starts past the end of the file");
    return placeTensors(dataStart);
  }

private:
  uint64_t remaining() const { return size - pos; }
  static uint64_t alignUp(uint64_t v, uint64_t a) {
    return v + (a - v % a) % a;
  }
  Status truncated(const std::string &what) {
    return f.error("truncated while reading " + what + " at offset " +
                   std::to_string(pos));
  }

  template <typename T> bool readScalar(T &out) {
    if (remaining() < sizeof(T))
      return false;
    std::memcpy(&out, data + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
  bool readU32(uint32_t &v) { return readScalar(v); }
  bool readU64(uint64_t &v) { return readScalar(v); }

  Status readString(std::string &out, const std::string &what,
                    uint64_t maxBytes = std::numeric_limits<uint64_t>::max()) {
    uint64_t length = 0;
    if (!readU64(length))
      return truncated(what);
    if (length > remaining())
      return f.error(what + " claims " + std::to_string(length) +
                     " bytes but only " + std::to_string(remaining()) +
                     " remain");
    if (length > maxBytes)
      return f.error(what + " of " + std::to_string(length) +
                     " bytes is too long");
    out.assign(reinterpret_cast<const char *>(data + pos),
               static_cast<size_t>(length));
    pos += length;
    return Status::ok();
  }

  /// Skips over (and validates) one string without copying it.
  Status skipString(const std::string &what) {
    uint64_t length = 0;
    if (!readU64(length))
      return truncated(what);
    if (length > remaining())
      return f.error(what + " claims " + std::to_string(length) +
                     " bytes but only " + std::to_string(remaining()) +
                     " remain");
    pos += length;
    return Status::ok();
  }

  Status readScalarValue(GGUFValueType type, GGUFValue &value,
                         const std::string &key) {
    value.type = type;
    auto need = [&](uint64_t n) { return remaining() >= n; };
    if (!need(scalarSize(type)))
      return truncated("the value of '" + key + "'");
    switch (type) {
    case GGUFValueType::U8: { uint8_t v = 0; readScalar(v); value.uinteger = v; value.integer = v; break; }
    case GGUFValueType::I8: { int8_t v = 0; readScalar(v); value.integer = v; value.uinteger = static_cast<uint64_t>(v); break; }
    case GGUFValueType::U16: { uint16_t v = 0; readScalar(v); value.uinteger = v; value.integer = v; break; }
    case GGUFValueType::I16: { int16_t v = 0; readScalar(v); value.integer = v; value.uinteger = static_cast<uint64_t>(v); break; }
    case GGUFValueType::U32: { uint32_t v = 0; readScalar(v); value.uinteger = v; value.integer = v; break; }
    case GGUFValueType::I32: { int32_t v = 0; readScalar(v); value.integer = v; value.uinteger = static_cast<uint64_t>(v); break; }
    case GGUFValueType::U64: { uint64_t v = 0; readScalar(v); value.uinteger = v; value.integer = static_cast<int64_t>(v); break; }
    case GGUFValueType::I64: { int64_t v = 0; readScalar(v); value.integer = v; value.uinteger = static_cast<uint64_t>(v); break; }
    case GGUFValueType::F32: { float v = 0; readScalar(v); value.real = v; break; }
    case GGUFValueType::F64: { double v = 0; readScalar(v); value.real = v; break; }
    case GGUFValueType::Bool: {
      uint8_t v = 0; readScalar(v);
      if (v > 1)
        return f.error("boolean '" + key + "' has value " + std::to_string(v));
      value.integer = v; value.uinteger = v; break;
    }
    case GGUFValueType::String:
      return readString(value.string, "the string value of '" + key + "'");
    case GGUFValueType::Array:
      return f.error("internal: array read as scalar");
    }
    return Status::ok();
  }

  Status readKeyValue(uint64_t index) {
    std::string key;
    LLMC_RETURN_IF_ERROR(readString(
        key, "the key of metadata entry " + std::to_string(index), kMaxKeyBytes));
    uint32_t rawType = 0;
    if (!readU32(rawType))
      return truncated("the type of '" + key + "'");
    if (!isKnownValueType(rawType))
      return f.error("metadata '" + key + "' has unknown value type " +
                     std::to_string(rawType));
    GGUFValue value;
    auto type = static_cast<GGUFValueType>(rawType);
    if (type == GGUFValueType::Array) {
      value.type = type;
      uint32_t rawElement = 0;
      if (!readU32(rawElement) || !readU64(value.count))
        return truncated("the array header of '" + key + "'");
      if (!isKnownValueType(rawElement))
        return f.error("array '" + key + "' has unknown element type " +
                       std::to_string(rawElement));
      value.elementType = static_cast<GGUFValueType>(rawElement);
      if (value.elementType == GGUFValueType::Array)
        return f.error("array '" + key + "' holds arrays, which llmc does "
                       "not support");
      value.offset = pos;
      if (value.elementType == GGUFValueType::String) {
        if (value.count > remaining() / 8)
          return f.error("array '" + key + "' claims " +
                         std::to_string(value.count) +
                         " strings, more than the file can hold");
        for (uint64_t i = 0; i < value.count; ++i)
          LLMC_RETURN_IF_ERROR(skipString("string " + std::to_string(i) +
                                          " of array '" + key + "'"));
      } else {
        uint64_t element = scalarSize(value.elementType);
        if (value.count > remaining() / element)
          return f.error("array '" + key + "' claims " +
                         std::to_string(value.count) + " elements of " +
                         std::to_string(element) + " bytes, more than the " +
                         std::to_string(remaining()) + " bytes left");
        pos += value.count * element;
      }
    } else {
      LLMC_RETURN_IF_ERROR(readScalarValue(type, value, key));
    }
    if (!f.kv_.emplace(key, std::move(value)).second)
      return f.error("metadata key '" + key + "' appears twice");
    return Status::ok();
  }

  Status readTensorInfo(uint64_t index) {
    GGUFTensorInfo info;
    LLMC_RETURN_IF_ERROR(readString(
        info.name, "the name of tensor " + std::to_string(index), kMaxKeyBytes));
    uint32_t dims = 0;
    if (!readU32(dims))
      return truncated("tensor '" + info.name + "'");
    if (dims == 0 || dims > kMaxDims)
      return f.error("tensor '" + info.name + "' has " + std::to_string(dims) +
                     " dimensions (1 to 4 allowed)");
    int64_t elements = 1;
    for (uint32_t d = 0; d < dims; ++d) {
      uint64_t ne = 0;
      if (!readU64(ne))
        return truncated("tensor '" + info.name + "'");
      if (ne == 0 || ne > (1ull << 40) ||
          static_cast<uint64_t>(elements) > (1ull << 42) / ne)
        return f.error("tensor '" + info.name + "' has an absurd dimension " +
                       std::to_string(ne));
      elements *= static_cast<int64_t>(ne);
      info.ne.push_back(static_cast<int64_t>(ne));
    }
    uint64_t relOffset = 0;
    if (!readU32(info.ggmlType) || !readU64(relOffset))
      return truncated("tensor '" + info.name + "'");
    const GGMLTypeInfo *ggml = findGGMLType(info.ggmlType);
    if (!ggml)
      return f.error("tensor '" + info.name + "' has unknown type id " +
                     std::to_string(info.ggmlType));
    info.ggmlTypeName = ggml->name;
    info.type = ggml->type;
    if (info.ne[0] % ggml->blockElements)
      return f.error("tensor '" + info.name + "' of type " + ggml->name +
                     " has rows of " + std::to_string(info.ne[0]) +
                     " elements, not a multiple of its block size " +
                     std::to_string(ggml->blockElements));
    info.bytes = static_cast<uint64_t>(elements / ggml->blockElements) *
                 static_cast<uint64_t>(ggml->blockBytes);
    info.offset = relOffset; // made absolute in placeTensors
    if (f.tensorIndex_.count(info.name))
      return f.error("tensor '" + info.name + "' appears twice");
    f.tensorIndex_[info.name] = f.tensors_.size();
    f.tensors_.push_back(std::move(info));
    return Status::ok();
  }

  Status placeTensors(uint64_t dataStart) {
    std::vector<size_t> order(f.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    for (GGUFTensorInfo &t : f.tensors_) {
      if (t.offset % f.alignment_)
        return f.error("tensor '" + t.name + "' data offset " +
                       std::to_string(t.offset) + " is not aligned to " +
                       std::to_string(f.alignment_));
      if (t.offset > size || dataStart > size - t.offset ||
          !f.file_->contains(dataStart + t.offset, t.bytes))
        return f.error("tensor '" + t.name + "' data (" +
                       std::to_string(t.bytes) + " bytes at offset " +
                       std::to_string(t.offset) +
                       ") lies outside the file");
      t.offset += dataStart;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return f.tensors_[a].offset < f.tensors_[b].offset;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      const GGUFTensorInfo &prev = f.tensors_[order[i - 1]];
      const GGUFTensorInfo &next = f.tensors_[order[i]];
      if (prev.offset + prev.bytes > next.offset)
        return f.error("tensors '" + prev.name + "' and '" + next.name +
                       "' overlap");
    }
    return Status::ok();
  }

  GGUFFile &f;
  const uint8_t *data;
  uint64_t size;
  uint64_t pos = 0;
};

Status GGUFFile::error(const std::string &message) const {
  return Status::error(file_->path() + ": " + message);
}

Result<std::unique_ptr<GGUFFile>> GGUFFile::open(const std::string &path) {
  LLMC_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
  return parse(std::move(mapped));
}

Result<std::unique_ptr<GGUFFile>>
GGUFFile::parse(std::shared_ptr<MappedFile> file) {
  std::unique_ptr<GGUFFile> gguf(new GGUFFile());
  gguf->file_ = std::move(file);
  GGUFParser parser(*gguf);
  LLMC_RETURN_IF_ERROR(parser.run());
  return gguf;
}

const GGUFValue *GGUFFile::find(const std::string &key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GGUFTensorInfo *GGUFFile::findTensor(const std::string &name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

namespace {
bool isIntegerType(GGUFValueType t) {
  switch (t) {
  case GGUFValueType::U8: case GGUFValueType::I8: case GGUFValueType::U16:
  case GGUFValueType::I16: case GGUFValueType::U32: case GGUFValueType::I32:
  case GGUFValueType::U64: case GGUFValueType::I64: return true;
  default: return false;
  }
}
} // namespace

Result<std::string> GGUFFile::getString(const std::string &key) const {
  const GGUFValue *v = find(key);
  if (!v)
    return error("missing metadata '" + key + "'");
  if (v->type != GGUFValueType::String)
    return error("metadata '" + key + "' is a " + ggufValueTypeName(v->type) +
                 ", expected a string");
  return v->string;
}

Result<int64_t> GGUFFile::getInt(const std::string &key) const {
  const GGUFValue *v = find(key);
  if (!v)
    return error("missing metadata '" + key + "'");
  if (!isIntegerType(v->type))
    return error("metadata '" + key + "' is a " + ggufValueTypeName(v->type) +
                 ", expected an integer");
  if (v->type == GGUFValueType::U64 &&
      v->uinteger > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return error("metadata '" + key + "' is too large");
  return v->integer;
}

Result<double> GGUFFile::getFloat(const std::string &key) const {
  const GGUFValue *v = find(key);
  if (!v)
    return error("missing metadata '" + key + "'");
  if (v->type == GGUFValueType::F32 || v->type == GGUFValueType::F64)
    return v->real;
  if (isIntegerType(v->type))
    return static_cast<double>(v->integer);
  return error("metadata '" + key + "' is a " + ggufValueTypeName(v->type) +
               ", expected a number");
}

Result<bool> GGUFFile::getBool(const std::string &key) const {
  const GGUFValue *v = find(key);
  if (!v)
    return error("missing metadata '" + key + "'");
  if (v->type != GGUFValueType::Bool)
    return error("metadata '" + key + "' is a " + ggufValueTypeName(v->type) +
                 ", expected a bool");
  return v->integer != 0;
}

Result<uint64_t> GGUFFile::getArrayCount(const std::string &key) const {
  const GGUFValue *v = find(key);
  if (!v)
    return error("missing metadata '" + key + "'");
  if (v->type != GGUFValueType::Array)
    return error("metadata '" + key + "' is a " + ggufValueTypeName(v->type) +
                 ", expected an array");
  return v->count;
}

Result<std::vector<std::string>>
GGUFFile::getStringArray(const std::string &key) const {
  LLMC_ASSIGN_OR_RETURN(uint64_t count, getArrayCount(key));
  const GGUFValue *v = find(key);
  if (v->elementType != GGUFValueType::String)
    return error("metadata '" + key + "' is an array of " +
                 ggufValueTypeName(v->elementType) + ", expected strings");
  // Validated at open: every string lies inside the file.
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(count));
  uint64_t pos = v->offset;
  const uint8_t *data = file_->data();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t length;
    std::memcpy(&length, data + pos, 8);
    out.emplace_back(reinterpret_cast<const char *>(data + pos + 8),
                     static_cast<size_t>(length));
    pos += 8 + length;
  }
  return out;
}

Result<std::vector<float>>
GGUFFile::getFloatArray(const std::string &key) const {
  LLMC_ASSIGN_OR_RETURN(uint64_t count, getArrayCount(key));
  const GGUFValue *v = find(key);
  if (v->elementType != GGUFValueType::F32)
    return error("metadata '" + key + "' is an array of " +
                 ggufValueTypeName(v->elementType) + ", expected f32");
  std::vector<float> out(static_cast<size_t>(count));
  if (count)
    std::memcpy(out.data(), file_->data() + v->offset, count * 4);
  return out;
}

Result<std::vector<int32_t>>
GGUFFile::getIntArray(const std::string &key) const {
  LLMC_ASSIGN_OR_RETURN(uint64_t count, getArrayCount(key));
  const GGUFValue *v = find(key);
  if (v->elementType != GGUFValueType::I32 &&
      v->elementType != GGUFValueType::U32)
    return error("metadata '" + key + "' is an array of " +
                 ggufValueTypeName(v->elementType) + ", expected i32");
  std::vector<int32_t> out(static_cast<size_t>(count));
  if (count)
    std::memcpy(out.data(), file_->data() + v->offset, count * 4);
  return out;
}

} // namespace llmc
