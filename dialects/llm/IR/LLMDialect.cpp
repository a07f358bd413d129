//===- LLMDialect.cpp - llm dialect registration and attribute checks -----===//

#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace llmc::llm;

#include "dialects/llm/IR/LLMDialect.cpp.inc"

void LLMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/llm/IR/LLMOps.cpp.inc"
      >();
  registerTypes();
  registerAttributes();
}

// `llm.symbol` marks an entry argument as a size that varies per call.
LogicalResult LLMDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned regionIndex,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  if (attr.getName() == "llm.shape") {
    if (!isa<AffineMapAttr>(attr.getValue()))
      return op->emitError() << "'llm.shape' must be an affine map";
    return success();
  }
  if (attr.getName() != kSymbolAttrName)
    return op->emitError() << "unknown llm argument attribute '"
                           << attr.getName().getValue() << "'";
  if (!isa<SymbolAttr>(attr.getValue()))
    return op->emitError() << "'" << kSymbolAttrName
                           << "' must be a #llm.symbol attribute";
  Type argType = op->getRegion(regionIndex).getArgument(argIndex).getType();
  if (!argType.isIndex())
    return op->emitError() << "symbol argument #" << argIndex
                           << " must have type 'index', got " << argType;
  return success();
}

// `llm.entry` marks @prefill/@decode; only functions can be entries.
LogicalResult LLMDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  if (attr.getName() == kEntryAttrName) {
    if (!isa<func::FuncOp>(op))
      return op->emitError() << "'" << kEntryAttrName
                             << "' can only be set on a func.func";
    return success();
  }
  // Other llm.* attributes are annotations added by passes (llm.shape, ...).
  return success();
}
