//===- KernelEmitter.h - building CPU kernels from llm ops -------------------===//
//
// A CPU kernel has the dispatch ABI of every target:
//   void kernel(void **bindings, int64_t wg_x, int64_t wg_y, int64_t wg_z)
// bindings[0] is the step header (int32 symbol values); then one binding per
// kernel input (two for a KV cache: keys, values) and per result. The kernel
// rebuilds memref views of its bindings and computes one workgroup.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_CPU_KERNELEMITTER_H
#define LLMC_CODEGEN_CPU_KERNELEMITTER_H

#include "codegen/common/LoopBuilder.h"
#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace llmc::cpu {

/// Code generation choices for the host CPU.
struct CPUOptions {
  /// f32 lanes of the widest vector register the kernels use.
  int64_t vectorWidth = 16;
  bool hasAVX512VNNI = false;
  bool hasAVXVNNI = false;
  bool hasAVX2 = false;
};

/// A view of one binding: its memref and, for tensors, its symbolic shape.
struct BoundValue {
  mlir::Value memref;
  mlir::Value rows; // actual leading size (index), for activations
};

/// State while emitting one kernel's body.
class KernelEmitter : public codegen::LoopBuilder {
public:
  KernelEmitter(mlir::OpBuilder &b, mlir::Location loc, mlir::Value bindings,
                llvm::ArrayRef<mlir::Value> workgroup,
                llvm::ArrayRef<mlir::Value> symbols, const CPUOptions &options)
      : LoopBuilder(b, loc), bindings(bindings),
        workgroup(workgroup.begin(), workgroup.end()), options(options) {
    this->symbols.assign(symbols.begin(), symbols.end());
  }

  mlir::Value bindings;
  llvm::SmallVector<mlir::Value, 3> workgroup;
  const CPUOptions &options;

  // Constants, index arithmetic, loops and ifs: LoopBuilder.
  mlir::Value min(mlir::Value a, mlir::Value c); // signed

  /// The raw pointer of binding `index`.
  mlir::Value bindingPointer(unsigned index);
  /// A memref of `type` over the binding's bytes (dynamic sizes in order).
  mlir::Value viewBinding(unsigned index, mlir::MemRefType type,
                          mlir::ValueRange dynamicSizes);

  mlir::VectorType vecF32(int64_t lanes);
  mlir::Value splat(mlir::VectorType type, mlir::Value scalar);
  /// Loads `lanes` consecutive elements as f32 (f16 and bf16 are widened).
  mlir::Value loadVectorF32(mlir::Value memref, mlir::ValueRange indices,
                            int64_t lanes);
  mlir::Value loadScalarF32(mlir::Value memref, mlir::ValueRange indices);
  /// Sum of the lanes (reassociating, so it is a tree, not a chain).
  mlir::Value reduceAdd(mlir::Value vector);
  mlir::Value reduceMax(mlir::Value vector);

  // Quantized activation rows (llm.quantize_act): [K int8][K/32 f32 scales]
  // [K/32 i32 sums] per row of a memref<?xBxi8>.
  /// Quantizes 32 values (two vector<16xf32>) into block `block` of row
  /// `row`: scale = amax / 127, int8 = round-to-even(x / scale), and the sum.
  void storeQuantizedBlock(mlir::Value act, mlir::Value row, mlir::Value block,
                           mlir::Value lo, mlir::Value hi, int64_t k);
  /// The f32 scale / i32 sum of a block, and 4 bytes broadcast to all lanes.
  mlir::Value loadActScale(mlir::Value act, mlir::Value row, mlir::Value block,
                           int64_t k);
  mlir::Value loadActSum(mlir::Value act, mlir::Value row, mlir::Value block,
                         int64_t k);
  mlir::Value broadcastActWord(mlir::Value act, mlir::Value row,
                               mlir::Value byteOffset, int64_t lanes);
  /// A scalar of `type` (f32/i32) read from / written to a byte memref.
  mlir::Value loadScalarFromBytes(mlir::Value bytes, mlir::ValueRange indices,
                                  mlir::Type type);
  void storeScalarToBytes(mlir::Value value, mlir::Value bytes,
                          mlir::ValueRange indices);
  /// x * sigmoid(x), elementwise on a vector or scalar.
  mlir::Value silu(mlir::Value x);
};

/// Shape of a weight's element storage: f32/f16/bf16 as 2-d (or 1-d)
/// matrices, block formats as raw bytes.
mlir::MemRefType weightMemRefType(mlir::MLIRContext *ctx, llm::WeightType type);

} // namespace llmc::cpu

#endif // LLMC_CODEGEN_CPU_KERNELEMITTER_H
