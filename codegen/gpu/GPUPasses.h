//===- GPUPasses.h - the GPU targets' passes -----------------------------------===//

#ifndef LLMC_CODEGEN_GPU_GPUPASSES_H
#define LLMC_CODEGEN_GPU_GPUPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace llmc::gpu {
#define GEN_PASS_DECL
#include "codegen/gpu/GPUPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/gpu/GPUPasses.h.inc"
} // namespace llmc::gpu

#endif // LLMC_CODEGEN_GPU_GPUPASSES_H
