//===- Emitters.h - one emitter per kernel kind --------------------------------===//
//
// A kernel is a region of llm ops; its kind is its root op (linear,
// attention, rms_norm, ...) or an elementwise chain. Each kind chooses its
// grid (workgroup counts as expressions of the symbols) and emits the loops of
// one workgroup on memref views of the bindings.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_CPU_EMITTERS_H
#define LLMC_CODEGEN_CPU_EMITTERS_H

#include "codegen/common/KernelPlans.h"
#include "codegen/cpu/KernelEmitter.h"

#include "mlir/IR/AffineMap.h"

namespace llmc::cpu {

/// The memrefs of a kernel's values: its arguments and the values it returns.
struct KernelViews {
  llvm::DenseMap<mlir::Value, BoundValue> views;
  /// KV cache arguments map to their key view; values are here.
  llvm::DenseMap<mlir::Value, BoundValue> kvValues;
  BoundValue get(mlir::Value v) const { return views.lookup(v); }
};

/// Emits the body of one workgroup.
mlir::LogicalResult emitKernelBody(KernelEmitter &e, mlir::func::FuncOp kernel,
                                   KernelViews &views);

// Per-kind emitters (EmitRowOps.cpp, EmitLinear.cpp, EmitAttention.cpp,
// EmitElementwise.cpp).
mlir::LogicalResult emitElementwise(KernelEmitter &e,
                                    mlir::func::FuncOp kernel,
                                    KernelViews &views);
mlir::LogicalResult emitEmbedding(KernelEmitter &e, llm::EmbeddingOp op,
                                  KernelViews &views);
mlir::LogicalResult emitRope(KernelEmitter &e, llm::RopeOp op,
                             KernelViews &views);
mlir::LogicalResult emitKVAppend(KernelEmitter &e, llm::KVAppendOp op,
                                 KernelViews &views);
mlir::LogicalResult emitSelectRows(KernelEmitter &e, llm::SelectRowsOp op,
                                   KernelViews &views);
mlir::LogicalResult emitSoftmax(KernelEmitter &e, llm::SoftmaxOp op,
                                KernelViews &views);
mlir::LogicalResult emitArgmax(KernelEmitter &e, llm::ArgmaxOp op,
                               KernelViews &views);
mlir::LogicalResult emitLinearFamily(KernelEmitter &e,
                                     mlir::func::FuncOp kernel,
                                     KernelViews &views);
mlir::LogicalResult emitNorm(KernelEmitter &e, mlir::func::FuncOp kernel,
                             KernelViews &views);
mlir::LogicalResult emitQuantizeAct(KernelEmitter &e, llm::QuantizeActOp op,
                                    KernelViews &views);

mlir::LogicalResult emitAttention(KernelEmitter &e, mlir::func::FuncOp kernel,
                                  llm::AttentionOp op, KernelViews &views);

using codegen::kLinearTokensPerWorkgroup;

/// The largest of 16, 8, 4, 2, 1 lanes that divides `n` (at most `max`).
int64_t lanesFor(int64_t n, int64_t max = 16);


} // namespace llmc::cpu

#endif // LLMC_CODEGEN_CPU_EMITTERS_H
