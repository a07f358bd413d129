//===- ShapeUtils.h - symbolic sizes shared by the passes --------------------===//

#ifndef LLMC_PASSES_SHAPEUTILS_H
#define LLMC_PASSES_SHAPEUTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinOps.h"

namespace llmc {
/// Module attribute: the names of all entry symbols; s<i> in expressions.
inline constexpr llvm::StringLiteral kSymbolsAttrName = "llm.symbols";
/// Op attribute: the sizes of the op's tensor result, as an affine map.
inline constexpr llvm::StringLiteral kShapeAttrName = "llm.shape";

/// The functions marked llm.entry, in module order.
llvm::SmallVector<mlir::func::FuncOp> getEntries(mlir::ModuleOp module);

/// "[n_tokens, 2048]" for sizes over the given symbol names.
std::string printSymbolicSizes(llvm::ArrayRef<mlir::AffineExpr> sizes,
                               llvm::ArrayRef<llvm::StringRef> symbolNames);
} // namespace llmc

#endif // LLMC_PASSES_SHAPEUTILS_H
