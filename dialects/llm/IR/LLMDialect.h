//===- LLMDialect.h - The llm dialect -------------------------------------===//
//
// Include this header to use the llm dialect: its enums, attributes, types and
// operations.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_IR_LLMDIALECT_H
#define LLMC_DIALECT_LLM_IR_LLMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/llm/IR/LLMDialect.h.inc"
#include "dialects/llm/IR/LLMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/IR/LLMAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/IR/LLMTypes.h.inc"

namespace llmc::llm {
/// The memory the runtime owns for keys and values.
struct KVCacheResource
    : public mlir::SideEffects::Resource::Base<KVCacheResource> {
  llvm::StringRef getName() final { return "KVCache"; }
};

/// Elements per block and bytes per block of a weight format (1 and the
/// element size for the float formats).
int64_t formatBlockElements(WeightFormat format);
int64_t formatBlockBytes(WeightFormat format);
} // namespace llmc::llm

#define GET_OP_CLASSES
#include "dialects/llm/IR/LLMOps.h.inc"

#endif // LLMC_DIALECT_LLM_IR_LLMDIALECT_H
