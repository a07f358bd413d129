//===- MappedFile.h - read-only memory-mapped files ---------------------------===//

#ifndef LLMC_RUNTIME_SUPPORT_MAPPEDFILE_H
#define LLMC_RUNTIME_SUPPORT_MAPPEDFILE_H

#include "runtime/support/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace llmc {

/// A whole file mapped read-only; pages are read lazily by the kernel.
class MappedFile {
public:
  static Result<std::shared_ptr<MappedFile>> open(const std::string &path);
  /// Wraps bytes owned by the caller (fuzzers, tests); nothing is unmapped.
  static std::shared_ptr<MappedFile> fromMemory(const std::string &name,
                                                const uint8_t *data,
                                                uint64_t size);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }
  /// True when [offset, offset + length) lies inside the file (no overflow).
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

private:
  MappedFile() = default;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;
  std::string path_;
};

/// Reads a small text file (configs, JSON) completely, refusing files larger
/// than `maxBytes`.
Result<std::string> readTextFile(const std::string &path,
                                 uint64_t maxBytes = 256ull << 20);

} // namespace llmc

#endif // LLMC_RUNTIME_SUPPORT_MAPPEDFILE_H
