//===- Packer.h - writing weights.bin from the model file --------------------------===//
//
// The packer lives on the runtime side (no MLIR) so weights can be packed on a
// machine that has only the runtime: the compiler records what each weight
// needs (sources, format, layout) in the program, and the packer reads the
// model file, converts each tensor, applies the layout and writes
// weights.bin, tensors in parallel, streaming through a mapped output file.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_PACKER_PACKER_H
#define LLMC_RUNTIME_PACKER_PACKER_H

#include "runtime/formats/ModelSource.h"
#include "runtime/support/Status.h"

#include <string>
#include <vector>

namespace llmc {

/// Weight layouts (the llm dialect's WeightLayout).
enum class WeightLayoutKind : uint8_t { Plain = 0, Rows16 = 1, Split = 2, Rows8 = 3 };

/// Rows interleaved per group by a rows16/rows8 layout (0 for others).
int64_t layoutRowGroup(uint8_t layout);

/// Rearranges `group` consecutive plain rows of Q8_0 or Q4_0 blocks (`cols`
/// elements each) into one interleaved row group: for each block, 4 bytes of
/// quants of each row in turn (Q8_0 quants offset by 128 to unsigned), then
/// all the group's f16 scales, block by block.
void interleaveRowGroup(TensorType format, int64_t group, int64_t cols,
                        const uint8_t *plain, uint8_t *out);

/// Moves `count` plain Q8_0 or Q4_0 blocks (starting at block `firstBlock`
/// of a tensor of `totalBlocks`) into the split layout at `out` (the
/// tensor's start): the quants of all blocks first, then all f16 scales.
void splitBlocks(TensorType format, int64_t totalBlocks, int64_t firstBlock,
                 int64_t count, const uint8_t *plain, uint8_t *out);

struct PackRequest {
  std::string name;                 // the llm.weight symbol
  std::vector<std::string> sources; // model-file tensors, concatenated by rows
  TensorType format = TensorType::F32;
  uint8_t layout = 0;
  std::vector<int64_t> shape;       // [rows, cols] or [n]
  uint64_t bytes = 0;               // what the compiler expects
};

struct PackStats {
  uint64_t bytesWritten = 0;
  double seconds = 0;
  int threads = 0;
};

/// Bytes a tensor of `shape` takes in `format` and `layout` (-1 if invalid).
int64_t packedBytes(TensorType format, uint8_t layout,
                    const std::vector<int64_t> &shape);

Status packWeights(const ModelSource &source,
                   const std::vector<PackRequest> &requests,
                   const std::string &path, int threads,
                   PackStats *stats = nullptr);

} // namespace llmc

#endif // LLMC_RUNTIME_PACKER_PACKER_H
