//===- KVBlocks.cpp - the paged KV cache's block allocator ---------------------------===//

#include "runtime/engine/KVBlocks.h"

#include <algorithm>

namespace llmc {

KVBlockAllocator::KVBlockAllocator(int32_t blocks)
    : capacity_(blocks), inUse_(blocks, false) {
  free_.reserve(blocks);
  for (int32_t b = blocks - 1; b >= 0; --b)
    free_.push_back(b); // hand out low block ids first
}

Result<int32_t> KVBlockAllocator::allocate() {
  if (free_.empty())
    return Status::error("the KV cache is full (" + std::to_string(capacity_) +
                         " blocks in use); raise the KV budget or shorten the "
                         "context");
  int32_t block = free_.back();
  free_.pop_back();
  inUse_[block] = true;
  return block;
}

Status KVBlockAllocator::release(int32_t block) {
  if (block < 0 || block >= capacity_)
    return Status::error("KV block " + std::to_string(block) + " is out of range");
  if (!inUse_[block])
    return Status::error("KV block " + std::to_string(block) +
                         " is released twice");
  inUse_[block] = false;
  free_.push_back(block);
  return Status::ok();
}

Status SequenceBlocks::reserve(KVBlockAllocator &allocator, int64_t tokens,
                               int64_t blockSize) {
  while (static_cast<int64_t>(blocks.size()) * blockSize < tokens) {
    LLMC_ASSIGN_OR_RETURN(int32_t block, allocator.allocate());
    blocks.push_back(block);
  }
  return Status::ok();
}

void SequenceBlocks::truncate(KVBlockAllocator &allocator, int64_t tokens,
                              int64_t blockSize) {
  size_t keep = static_cast<size_t>((tokens + blockSize - 1) / blockSize);
  while (blocks.size() > keep) {
    (void)allocator.release(blocks.back());
    blocks.pop_back();
  }
  length = std::min(length, tokens);
}

void SequenceBlocks::release(KVBlockAllocator &allocator) {
  for (int32_t b : blocks)
    (void)allocator.release(b);
  blocks.clear();
  length = 0;
}

} // namespace llmc
