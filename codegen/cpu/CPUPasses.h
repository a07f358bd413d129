//===- CPUPasses.h - the CPU target's passes -----------------------------------===//

#ifndef LLMC_CODEGEN_CPU_CPUPASSES_H
#define LLMC_CODEGEN_CPU_CPUPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace llmc::cpu {
#define GEN_PASS_DECL
#include "codegen/cpu/CPUPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/CPUPasses.h.inc"
} // namespace llmc::cpu

#endif // LLMC_CODEGEN_CPU_CPUPASSES_H
