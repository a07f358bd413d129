//===- WeightsFile.h - weights.bin: header, table, 64-byte aligned data ----------===//
//
//   header (64 bytes): magic "LLMCWTS1", version, tensor count, table bytes,
//                      data offset, data bytes, XXH3 of the data, XXH3 of the
//                      table
//   table: one 32-byte entry per tensor (offset, bytes, format, layout, name)
//   names, then the data; every tensor starts on a 64-byte boundary.
// The file is mmap-able; loading checks every offset and both checksums.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_PACKER_WEIGHTSFILE_H
#define LLMC_RUNTIME_PACKER_WEIGHTSFILE_H

#include "runtime/formats/TensorType.h"
#include "runtime/support/MappedFile.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

inline constexpr char kWeightsMagic[8] = {'L', 'L', 'M', 'C', 'W', 'T', 'S', '1'};
inline constexpr uint32_t kWeightsVersion = 1;
inline constexpr uint64_t kWeightsAlignment = 64;

struct WeightsEntry {
  std::string name;
  uint64_t offset = 0; // absolute, in the file
  uint64_t bytes = 0;
  TensorType format = TensorType::F32;
  uint8_t layout = 0;
};

class WeightsFile {
public:
  /// Maps and validates weights.bin; `verifyChecksum` hashes all the data.
  static Result<std::unique_ptr<WeightsFile>> open(const std::string &path,
                                                   bool verifyChecksum = true);
  const std::vector<WeightsEntry> &entries() const { return entries_; }
  const WeightsEntry *find(const std::string &name) const;
  const uint8_t *data(const WeightsEntry &e) const {
    return file_->data() + e.offset;
  }
  const MappedFile &file() const { return *file_; }
  uint64_t dataBytes() const { return dataBytes_; }

private:
  std::shared_ptr<MappedFile> file_;
  std::vector<WeightsEntry> entries_;
  uint64_t dataBytes_ = 0;
};

} // namespace llmc

#endif // LLMC_RUNTIME_PACKER_WEIGHTSFILE_H
