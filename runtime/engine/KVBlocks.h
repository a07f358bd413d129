//===- KVBlocks.h - the paged KV cache's block allocator -----------------------------===//
//
// The cache is a pool of fixed-size token blocks per layer; each sequence owns
// a list of blocks (its block table). Blocks are handed out from a free list;
// running out is an error the caller reports, never a corruption.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ENGINE_KVBLOCKS_H
#define LLMC_RUNTIME_ENGINE_KVBLOCKS_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <vector>

namespace llmc {

class KVBlockAllocator {
public:
  explicit KVBlockAllocator(int32_t blocks);
  int32_t capacity() const { return capacity_; }
  int32_t available() const { return static_cast<int32_t>(free_.size()); }
  /// A free block, or an error when all are in use.
  Result<int32_t> allocate();
  /// Returns a block; freeing a block twice or one out of range is an error.
  Status release(int32_t block);

private:
  int32_t capacity_;
  std::vector<int32_t> free_;
  std::vector<bool> inUse_;
};

/// One sequence's view of the cache: its blocks and how many tokens it holds.
struct SequenceBlocks {
  std::vector<int32_t> blocks;
  int64_t length = 0;
  /// Grows the block list to hold `tokens` tokens.
  Status reserve(KVBlockAllocator &allocator, int64_t tokens, int64_t blockSize);
  /// Keeps the first `tokens` tokens and returns the blocks past them.
  void truncate(KVBlockAllocator &allocator, int64_t tokens, int64_t blockSize);
  /// Returns every block to the allocator.
  void release(KVBlockAllocator &allocator);
  /// The cache slot of position `pos` (block * blockSize + offset).
  int32_t slot(int64_t pos, int64_t blockSize) const {
    return blocks[pos / blockSize] * static_cast<int32_t>(blockSize) +
           static_cast<int32_t>(pos % blockSize);
  }
};

} // namespace llmc

#endif // LLMC_RUNTIME_ENGINE_KVBLOCKS_H
