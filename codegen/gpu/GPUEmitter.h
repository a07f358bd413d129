//===- GPUEmitter.h - building GPU kernels (gpu dialect) for Vulkan and CUDA ------===//
//
// A GPU kernel is a gpu.func in its own gpu.module. Its arguments are the
// dispatch's bindings in order (docs/gpu-abi.md), each a 1-d memref indexed
// linearly: the step header and integer step fields (i32), activations
// (f32), weights and KV layers. Inputs of linear layers and matrices are
// read 16 bytes at a time, so they are bound as memrefs of vector<4xf32> or
// vector<4xi32> (f16 pairs and block quants as 32-bit words).
//
// Workgroups have `workgroupSize` threads in subgroups. The two targets
// differ only where MLIR's lowerings do, which this class hides:
//  - subgroups: CUDA's are 32 lanes and reduce with shuffle butterflies;
//    Vulkan kernels assume no size (the device's SubgroupSize builtin) and
//    reduce with GroupNonUniform arithmetic; lanes are numbered
//    tid % size, as every driver lays out one-dimensional workgroups;
//  - workgroup memory: a gpu.func attribution (NVVM) or a memref.alloc in
//    address space 3 (SPIR-V Workgroup variable);
//  - f16 bits: NVVM converts natively; SPIR-V without Float16 uses integer
//    and float arithmetic (exact for normal and subnormal halves).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_GPU_GPUEMITTER_H
#define LLMC_CODEGEN_GPU_GPUEMITTER_H

#include "codegen/common/LoopBuilder.h"
#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <utility>

namespace llmc::gpu {

enum class GPUTarget { Vulkan, CUDA };

/// A binding's memref and, for activations, its actual leading size.
struct GPUValue {
  mlir::Value memref;
  mlir::Value rows;
};

class GPUEmitter : public codegen::LoopBuilder {
public:
  GPUEmitter(mlir::OpBuilder &b, mlir::Location loc, mlir::gpu::GPUFuncOp func,
             GPUTarget target, int64_t workgroupSize);

  mlir::gpu::GPUFuncOp func;
  GPUTarget target;
  int64_t threads;                         // workgroup size
  mlir::Value tid;                         // thread in the workgroup
  mlir::Value lane, subgroup;              // lane in its subgroup, subgroup
  mlir::Value subgroupSize, numSubgroups;  // constants on CUDA
  llvm::SmallVector<mlir::Value, 3> block; // workgroup ids

  // Integers (index); constants, add, mul, toIndex, evalSymbolic, forLoop
  // and ifThen come from LoopBuilder.
  mlir::Value sub(mlir::Value a, mlir::Value c);
  mlir::Value divu(mlir::Value a, mlir::Value c);
  mlir::Value remu(mlir::Value a, mlir::Value c);
  mlir::Value min(mlir::Value a, mlir::Value c); // unsigned
  mlir::Value ult(mlir::Value a, mlir::Value c);
  mlir::Value eq(mlir::Value a, mlir::Value c);
  // Floats.
  mlir::Value addf(mlir::Value a, mlir::Value c);
  mlir::Value subf(mlir::Value a, mlir::Value c);
  mlir::Value mulf(mlir::Value a, mlir::Value c);
  mlir::Value divf(mlir::Value a, mlir::Value c);
  mlir::Value maxf(mlir::Value a, mlir::Value c);
  mlir::Value fma(mlir::Value a, mlir::Value c, mlir::Value acc);
  mlir::Value exp(mlir::Value x);
  mlir::Value silu(mlir::Value x);
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value c);

  // Memory.
  mlir::Value load(mlir::Value memref, mlir::Value index);
  void store(mlir::Value value, mlir::Value memref, mlir::Value index);
  /// Component `i` of a vector value.
  mlir::Value extract(mlir::Value vector, int64_t i);

  // Control flow.
  /// for (i = tid; i < n; i += workgroupSize)
  void forThreads(mlir::Value n, const std::function<void(mlir::Value)> &body);
  /// Two versions of the code, chosen by `cond` (uniform in the workgroup).
  void ifThenElse(mlir::Value cond, const std::function<void()> &then,
                  const std::function<void()> &otherwise);

  /// Workgroup (shared) memory of `n` elements (CUDA: 32-byte aligned, as
  /// tensor-core fragments need).
  mlir::Value workgroupMemory(int64_t n, mlir::Type element);
  mlir::Value workgroupMemory2D(int64_t rows, int64_t cols, mlir::Type element);
  void barrier();
  /// Reductions within a subgroup, and across the workgroup (through
  /// `scratch`, workgroup memory of at least workgroupSize floats); every
  /// thread receives the result. Call from uniform control flow.
  mlir::Value subgroupSum(mlir::Value x);
  mlir::Value subgroupMax(mlir::Value x);
  mlir::Value workgroupSum(mlir::Value x, mlir::Value scratch);
  mlir::Value workgroupMax(mlir::Value x, mlir::Value scratch);

  // Bits.
  /// The two f16 halves of a 32-bit word (low first) as f32.
  std::pair<mlir::Value, mlir::Value> unpackHalves(mlir::Value word);
  /// Byte `j` of a word as a signed integer (i32).
  mlir::Value signedByte(mlir::Value word, int64_t j);
  /// Bits [shift, shift + 4) of a word (i32 0..15).
  mlir::Value nibble(mlir::Value word, int64_t shift);
  mlir::Value toF32(mlir::Value i32Value);

private:
  mlir::Value reduceWithShuffles(mlir::Value x, bool max);
  mlir::Value workgroupReduce(mlir::Value x, mlir::Value scratch, bool max);
  mlir::Value halfToF32(mlir::Value bits16);
};

/// Block formats in the split layout (GPUs): the quants of all blocks first
/// (Q8_0: 32 bytes, Q4_0: 16 bytes per block, the nibble order of GGUF), then
/// each block's f16 scale, padded to 16 bytes. The matrix is read as
/// 16-byte chunks (vector<4xi32>).
int64_t splitQuantBytesPerBlock(llm::WeightFormat format);
/// The chunk index where the scales start.
int64_t splitScaleChunk(llm::WeightType type);

/// Elements of a weight in one 16-byte chunk (f32 4, f16 8, q8_0 16, q4_0 32).
int64_t chunkElements(llm::WeightFormat format);

} // namespace llmc::gpu

#endif // LLMC_CODEGEN_GPU_GPUEMITTER_H
