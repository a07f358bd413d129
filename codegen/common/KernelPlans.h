//===- KernelPlans.h - what a fused kernel does, for every target -------------------===//
//
// The structure of a kernel's region, read the same way by every target's
// emitter: which linear layers it holds and what follows each (bias, rope,
// KV append, residual, SwiGLU, quantization, stores), and how its rows are
// tiled over workgroups.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_COMMON_KERNELPLANS_H
#define LLMC_CODEGEN_COMMON_KERNELPLANS_H

#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <vector>

namespace llmc::codegen {

/// Tokens one workgroup of a linear kernel computes.
inline constexpr int64_t kLinearTokensPerWorkgroup = 4;

/// What happens to one linear layer's output in the kernel.
struct LinearPlan {
  llm::LinearOp linear;
  llm::LinearOp up;                 // SwiGLU: silu(this) * up
  bool isUp = false;           // computed together with its gate
  llm::RopeOp rope;
  int64_t headDim = 0;         // of the reshape before rope / kv_append
  bool kvKeys = false, kvValues = false;
  llm::KVAppendOp kvAppend;
  mlir::Value residual;              // x + this
  llm::QuantizeActOp quantize;
  mlir::Value storeF32;              // returned f32 value, if any
  mlir::Value storeQ8;               // returned quantized value, if any
  int64_t rows() { return linear.getWeight().getType().getShape()[0]; }
};

/// Follows a linear's result through the kernel's ops into `plan`.
mlir::LogicalResult planLinear(llm::LinearOp linear, LinearPlan &plan,
                               llvm::ArrayRef<mlir::Value> returned);

/// Rows per workgroup tile of a linear kernel: whole quantization blocks and
/// whole heads when rope needs them (at least `minimum`).
int64_t linearTileRows(mlir::func::FuncOp kernel, int64_t minimum = 32);
/// Workgroups along x for each weight (the up half of a SwiGLU pair has none).
llvm::SmallVector<int64_t> linearTiles(mlir::func::FuncOp kernel,
                                       int64_t tileRows);
/// The op that decides a kernel's kind: its first op that is not
/// elementwise (silu, gelu, add, mul, reshape); null for elementwise chains.
mlir::Operation *rootOp(mlir::func::FuncOp kernel);

/// The grid of a kernel: three workgroup counts over `numSymbols` symbols.
/// Linear kernels: (row tiles of all weights, token tiles); attention:
/// (tokens, heads); others: (rows, 1, 1).
mlir::FailureOr<mlir::AffineMap> planGrid(mlir::func::FuncOp kernel,
                                          unsigned numSymbols, int64_t tileRows,
                                          int64_t tokensPerWorkgroup);

/// Rope inverse frequencies with the op's scaling, computed in double.
std::vector<double> ropeInverseFrequencies(llm::RopeOp op);

} // namespace llmc::codegen

#endif // LLMC_CODEGEN_COMMON_KERNELPLANS_H
