//===- GGUF.h - reading GGUF v2/v3 files, checked before every read -----------===//
//
// A GGUF file is a header (magic, version, counts), typed metadata key/value
// pairs, tensor infos and aligned tensor data. Every count, length and offset
// is checked against the file size before it is used: a truncated or hostile
// file yields one error line, never a crash or an allocation sized by an
// untrusted number. Array values are validated once and decoded on request.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_FORMATS_GGUF_H
#define LLMC_RUNTIME_FORMATS_GGUF_H

#include "runtime/formats/TensorType.h"
#include "runtime/support/MappedFile.h"
#include "runtime/support/Status.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmc {

enum class GGUFValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char *ggufValueTypeName(GGUFValueType type);

struct GGUFValue {
  GGUFValueType type = GGUFValueType::U8;
  // Scalars (integers in `integer`, floats in `real`, bools as 0/1).
  int64_t integer = 0;
  uint64_t uinteger = 0;
  double real = 0;
  std::string string;
  // Arrays: element type, element count and where the elements start.
  GGUFValueType elementType = GGUFValueType::U8;
  uint64_t count = 0;
  uint64_t offset = 0;
};

struct GGUFTensorInfo {
  std::string name;
  uint32_t ggmlType = 0;       // the file's type id
  std::string ggmlTypeName;    // "Q4_0", "Q5_K", ...
  std::optional<TensorType> type; // set when llmc supports the type
  std::vector<int64_t> ne;     // ne[0] is the fastest dimension (row length)
  uint64_t offset = 0;         // absolute offset in the file
  uint64_t bytes = 0;
  int64_t numElements() const;
  /// Dimensions outermost first, e.g. [rows, cols] for a matrix.
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
};

class GGUFFile {
public:
  /// Opens and validates the whole header. `path` names the file in errors.
  static Result<std::unique_ptr<GGUFFile>> open(const std::string &path);
  /// Parses bytes already in memory (used by the fuzzer).
  static Result<std::unique_ptr<GGUFFile>>
  parse(std::shared_ptr<MappedFile> file);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::string &path() const { return file_->path(); }
  const MappedFile &file() const { return *file_; }
  std::shared_ptr<MappedFile> sharedFile() const { return file_; }

  const std::map<std::string, GGUFValue> &metadata() const { return kv_; }
  const GGUFValue *find(const std::string &key) const;
  bool has(const std::string &key) const { return find(key) != nullptr; }

  // Typed accessors: an error names the key and what was found.
  Result<std::string> getString(const std::string &key) const;
  Result<int64_t> getInt(const std::string &key) const;
  Result<double> getFloat(const std::string &key) const;
  Result<bool> getBool(const std::string &key) const;
  Result<std::vector<std::string>> getStringArray(const std::string &key) const;
  Result<std::vector<float>> getFloatArray(const std::string &key) const;
  Result<std::vector<int32_t>> getIntArray(const std::string &key) const;
  /// Number of elements of an array value, or an error.
  Result<uint64_t> getArrayCount(const std::string &key) const;

  const std::vector<GGUFTensorInfo> &tensors() const { return tensors_; }
  const GGUFTensorInfo *findTensor(const std::string &name) const;
  const uint8_t *tensorData(const GGUFTensorInfo &info) const {
    return file_->data() + info.offset;
  }

private:
  GGUFFile() = default;
  Status error(const std::string &message) const;

  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GGUFValue> kv_;
  std::vector<GGUFTensorInfo> tensors_;
  std::map<std::string, size_t> tensorIndex_;
  friend class GGUFParser;
};

} // namespace llmc

#endif // LLMC_RUNTIME_FORMATS_GGUF_H
