// The paged KV cache's block allocator: blocks are unique while in use,
// exhaustion is an error (not corruption), misuse is refused.
#include "runtime/engine/KVBlocks.h"

#include <gtest/gtest.h>

#include <set>

using namespace llmc;

TEST(KVBlocks, HandsOutEachBlockOnceUntilReleased) {
  KVBlockAllocator allocator(8);
  std::set<int32_t> seen;
  for (int i = 0; i < 8; ++i) {
    auto b = allocator.allocate();
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(seen.insert(*b).second) << "block " << *b << " twice";
    EXPECT_GE(*b, 0);
    EXPECT_LT(*b, 8);
  }
  EXPECT_EQ(allocator.available(), 0);
  auto full = allocator.allocate();
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.message().find("the KV cache is full"), std::string::npos);
  ASSERT_TRUE(allocator.release(3).isOk());
  auto again = allocator.allocate();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 3);
}

TEST(KVBlocks, RefusesDoubleAndOutOfRangeReleases) {
  KVBlockAllocator allocator(4);
  auto b = allocator.allocate();
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(allocator.release(*b).isOk());
  EXPECT_TRUE(allocator.release(*b).isError());
  EXPECT_TRUE(allocator.release(-1).isError());
  EXPECT_TRUE(allocator.release(4).isError());
  EXPECT_EQ(allocator.available(), 4);
}

TEST(KVBlocks, SequencesGrowByBlocksAndMapPositionsToSlots) {
  KVBlockAllocator allocator(10);
  SequenceBlocks a, b;
  ASSERT_TRUE(a.reserve(allocator, 17, 16).isOk()); // 2 blocks
  ASSERT_TRUE(b.reserve(allocator, 5, 16).isOk());  // 1 block
  EXPECT_EQ(a.blocks.size(), 2u);
  EXPECT_EQ(b.blocks.size(), 1u);
  // Positions of a sequence land in its own blocks, never in another's.
  std::set<int32_t> slotsA, slotsB;
  for (int p = 0; p < 17; ++p)
    slotsA.insert(a.slot(p, 16));
  for (int p = 0; p < 5; ++p)
    slotsB.insert(b.slot(p, 16));
  for (int32_t s : slotsB)
    EXPECT_EQ(slotsA.count(s), 0u);
  EXPECT_EQ(a.slot(16, 16), a.blocks[1] * 16);
  a.release(allocator);
  EXPECT_TRUE(a.blocks.empty());
  EXPECT_EQ(allocator.available(), 9);
}

TEST(KVBlocks, ExhaustionKeepsTheBlocksAlreadyGranted) {
  KVBlockAllocator allocator(3);
  SequenceBlocks s;
  Status st = s.reserve(allocator, 100, 16); // needs 7 blocks
  EXPECT_TRUE(st.isError());
  EXPECT_EQ(s.blocks.size(), 3u); // what it got stays valid and owned
  s.release(allocator);
  EXPECT_EQ(allocator.available(), 3);
}

TEST(KVBlocks, TruncateKeepsThePrefixBlocksAndReturnsTheRest) {
  KVBlockAllocator allocator(10);
  SequenceBlocks s;
  ASSERT_TRUE(s.reserve(allocator, 40, 16).isOk()); // 3 blocks
  s.length = 40;
  std::vector<int32_t> before = s.blocks;
  s.truncate(allocator, 17, 16); // positions 0..16 need 2 blocks
  EXPECT_EQ(s.length, 17);
  ASSERT_EQ(s.blocks.size(), 2u);
  EXPECT_EQ(s.blocks[0], before[0]); // the kept positions keep their slots
  EXPECT_EQ(s.blocks[1], before[1]);
  EXPECT_EQ(allocator.available(), 8);
  s.truncate(allocator, 16, 16); // exactly one full block
  EXPECT_EQ(s.blocks.size(), 1u);
  s.truncate(allocator, 0, 16);
  EXPECT_TRUE(s.blocks.empty());
  EXPECT_EQ(s.length, 0);
  EXPECT_EQ(allocator.available(), 10);
}
