//===- RegionUtils.h - forming, dissolving and merging dispatch regions ---------===//

#ifndef LLMC_PASSES_REGIONUTILS_H
#define LLMC_PASSES_REGIONUTILS_H

#include "dialects/llm/IR/LLMDialect.h"

namespace llmc {

/// Wraps `ops` (same block, in block order) into one llm.dispatch_region
/// placed after the last of them: its inputs are the values the ops use from
/// outside, its results the values used outside.
llm::DispatchRegionOp wrapInRegion(llvm::ArrayRef<mlir::Operation *> ops);

/// Moves a region's ops back into the enclosing block, in place; returns them.
llvm::SmallVector<mlir::Operation *> dissolveRegion(llm::DispatchRegionOp region);

/// Merges `consumer` into `producer` (which precedes it), pulling in the
/// reshapes between them that `consumer` uses. Fails, changing nothing, when
/// an op between the two that is not pulled in uses a value of `producer`.
mlir::FailureOr<llm::DispatchRegionOp>
mergeRegions(llm::DispatchRegionOp producer, llm::DispatchRegionOp consumer);

/// The first op of a region that is not a reshape or an elementwise op.
mlir::Operation *regionRoot(llm::DispatchRegionOp region);

/// The value behind a chain of reshapes (outside regions).
mlir::Value throughReshapes(mlir::Value value);

} // namespace llmc

#endif // LLMC_PASSES_REGIONUTILS_H
