//===- LoopBuilder.h - index arithmetic and structured control flow --*- C++ -*-===//
//
// What every target's kernel emitter builds the same way: index and scalar
// constants, index arithmetic, the evaluation of symbolic sizes (affine
// expressions of the entry's symbols), scf.for loops with or without
// iteration values, and scf.if. The CPU (codegen/cpu/KernelEmitter) and GPU
// (codegen/gpu/GPUEmitter) emitters derive from it and add their own memory
// and math helpers.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_COMMON_LOOPBUILDER_H
#define LLMC_CODEGEN_COMMON_LOOPBUILDER_H

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace llmc::codegen {

class LoopBuilder {
public:
  LoopBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &b;
  mlir::Location loc;
  /// The entry's symbol values (index), for evalSymbolic.
  llvm::SmallVector<mlir::Value> symbols;

  mlir::Value idx(int64_t v);
  mlir::Value i32(int32_t v);
  mlir::Value f32(float v);
  mlir::Value add(mlir::Value a, mlir::Value c);
  mlir::Value mul(mlir::Value a, mlir::Value c);
  mlir::Value toIndex(mlir::Value i32Value);
  /// Evaluates a symbolic size (one result of an llm.shape map).
  mlir::Value evalSymbolic(mlir::AffineExpr expr);

  /// scf.for from lb to ub by step; `body(iv, iterArgs)` returns the yields.
  llvm::SmallVector<mlir::Value>
  forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
          mlir::ValueRange init,
          const std::function<llvm::SmallVector<mlir::Value>(
              mlir::Value, mlir::ValueRange)> &body);
  void forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
               const std::function<void(mlir::Value)> &body);
  /// if (cond) { then }.
  void ifThen(mlir::Value cond, const std::function<void()> &then);
};

} // namespace llmc::codegen

#endif // LLMC_CODEGEN_COMMON_LOOPBUILDER_H
