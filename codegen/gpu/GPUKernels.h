//===- GPUKernels.h - one GPU emitter per kernel kind ---------------------------===//
//
// The same kernel kinds as the CPU target (codegen/cpu/Emitters.h), with the
// same grids (codegen/common/KernelPlans.h: planGrid), written for
// workgroups of threads:
//  - row kernels (embedding, rms_norm, rope, kv_append, select_rows, softmax,
//    argmax, elementwise chains): a workgroup per row, threads striding the
//    columns, workgroup reductions through subgroups and workgroup memory;
//  - linear layers: a workgroup per (row tile, token tile); for up to 4
//    tokens each subgroup takes 4 rows at a time, its lanes striding the row
//    in 16-byte chunks (coalesced vector loads), one subgroup reduction per
//    (row, token); on CUDA, tiles of 5..32 tokens (prefill) use tensor cores:
//    weights dequantized to f16 in workgroup memory as they are loaded,
//    16x16x16 WMMA with f32 accumulation. The tile goes to workgroup memory,
//    where the fused epilogue runs;
//  - attention: a workgroup per (token, head) streaming its keys in tiles of
//    32: subgroups score keys (lanes over head_dim), the tile's softmax
//    update is shared, and threads accumulate values (one per dimension),
//    FlashAttention-style with a running maximum and sum.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_GPU_GPUKERNELS_H
#define LLMC_CODEGEN_GPU_GPUKERNELS_H

#include "codegen/common/KernelPlans.h"
#include "codegen/gpu/GPUEmitter.h"

namespace llmc::gpu {

/// Keys scored per step of the attention kernel.
inline constexpr int64_t kAttentionKeyTile = 32;
/// Rows each subgroup of a linear kernel computes at once.
inline constexpr int64_t kLinearRowsPerSubgroup = 4;

/// The memrefs of a kernel's values: its arguments and the values it returns.
struct GPUViews {
  llvm::DenseMap<mlir::Value, GPUValue> views;
  /// KV cache arguments map to their key buffer; values are here.
  llvm::DenseMap<mlir::Value, GPUValue> kvValues;
  GPUValue get(mlir::Value v) const { return views.lookup(v); }
};

/// How a kernel argument is bound: 16-byte vectors for the inputs and
/// matrices of linear layers, scalars otherwise.
bool isVectorBinding(mlir::func::FuncOp kernel, mlir::Value arg);

/// Threads per workgroup for a kernel (attention needs one per head
/// dimension at least).
int64_t workgroupSizeFor(mlir::func::FuncOp kernel, int64_t preferred);
/// Rows per workgroup of a linear kernel.
int64_t gpuLinearTileRows(mlir::func::FuncOp kernel);
/// Whether a linear kernel takes tiles of 32 tokens, computing tiles of more
/// than 4 (prefill) from operands staged in workgroup memory: always on CUDA
/// (tensor cores, WMMA); on Vulkan when `requested` and the staging fits in
/// 32 KiB of workgroup memory (SIMT products of the staged operands).
bool usesTiledPrefill(mlir::func::FuncOp kernel, GPUTarget target,
                      bool requested);
/// Tokens per workgroup of a linear kernel: 32 with tiled prefill, else 4.
int64_t linearTokensPerWorkgroup(mlir::func::FuncOp kernel, GPUTarget target,
                                 bool tiledPrefill);

/// Emits the body of one workgroup.
mlir::LogicalResult emitKernelBody(GPUEmitter &e, mlir::func::FuncOp kernel,
                                   GPUViews &views, bool tiledPrefill);

// Per-kind emitters (EmitRowOps.cpp, EmitLinear.cpp, EmitAttention.cpp).
mlir::LogicalResult emitElementwise(GPUEmitter &e, mlir::func::FuncOp kernel,
                                    GPUViews &views);
mlir::LogicalResult emitEmbedding(GPUEmitter &e, llm::EmbeddingOp op,
                                  GPUViews &views);
mlir::LogicalResult emitNorm(GPUEmitter &e, mlir::func::FuncOp kernel,
                             GPUViews &views);
mlir::LogicalResult emitRope(GPUEmitter &e, llm::RopeOp op, GPUViews &views);
mlir::LogicalResult emitKVAppend(GPUEmitter &e, llm::KVAppendOp op,
                                 GPUViews &views);
mlir::LogicalResult emitSelectRows(GPUEmitter &e, llm::SelectRowsOp op,
                                   GPUViews &views);
mlir::LogicalResult emitSoftmax(GPUEmitter &e, llm::SoftmaxOp op,
                                GPUViews &views);
mlir::LogicalResult emitArgmax(GPUEmitter &e, llm::ArgmaxOp op,
                               GPUViews &views);
mlir::LogicalResult emitLinearFamily(GPUEmitter &e, mlir::func::FuncOp kernel,
                                     GPUViews &views, bool tiledPrefill);
mlir::LogicalResult emitAttention(GPUEmitter &e, mlir::func::FuncOp kernel,
                                  llm::AttentionOp op, GPUViews &views);

/// The rope frequency of pair `i` (an index) with the op's scaling, in f32.
mlir::Value ropeFrequency(GPUEmitter &e, llm::RopeOp op, mlir::Value i);

} // namespace llmc::gpu

#endif // LLMC_CODEGEN_GPU_GPUKERNELS_H
