//===- Safetensors.h - reading safetensors files, checked before every read ----===//
//
// A safetensors file is an 8-byte little-endian header length, a JSON header
// ({name: {dtype, shape, data_offsets}}, optional __metadata__) and the data.
// The header length, every offset range and every shape are checked against
// the file before use; tensors may not overlap.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_FORMATS_SAFETENSORS_H
#define LLMC_RUNTIME_FORMATS_SAFETENSORS_H

#include "runtime/formats/TensorType.h"
#include "runtime/support/MappedFile.h"
#include "runtime/support/Status.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llmc {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;               // as written: "F32", "BF16", "I64", ...
  std::optional<TensorType> type;  // set for F32, F16, BF16
  std::vector<int64_t> shape;      // outermost first
  uint64_t offset = 0;             // absolute offset in the file
  uint64_t bytes = 0;
  int64_t numElements() const;
};

class SafetensorsFile {
public:
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string &path);
  static Result<std::unique_ptr<SafetensorsFile>>
  parse(std::shared_ptr<MappedFile> file);

  const std::string &path() const { return file_->path(); }
  std::shared_ptr<MappedFile> sharedFile() const { return file_; }
  const std::vector<SafetensorsTensor> &tensors() const { return tensors_; }
  const SafetensorsTensor *find(const std::string &name) const;
  const uint8_t *tensorData(const SafetensorsTensor &t) const {
    return file_->data() + t.offset;
  }
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> file_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

} // namespace llmc

#endif // LLMC_RUNTIME_FORMATS_SAFETENSORS_H
