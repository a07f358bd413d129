//===- CPUPasses.td - the CPU target's passes ------------------------------===//

#ifndef LLMC_CODEGEN_CPU_PASSES
#define LLMC_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

def CPULowerKernels : Pass<"llmc-cpu-lower-kernels", "::mlir::ModuleOp"> {
  let summary = "Lowers each llm.kernel to loops and vectors behind the dispatch ABI";
  let description = [{
    Every function marked `llm.kernel` (llm ops on tensors) becomes
    `func.func @k(%bindings: !llvm.ptr, %x: i64, %y: i64, %z: i64)`: it reads
    the symbols from the step header (binding 0), rebuilds memref views of its
    bindings and computes workgroup (x, y, z) with scf loops and vector ops.
    The chosen grid is recorded as `llm.grid`. Run on a module that holds only
    kernels (the compiler moves them out of the program first).
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "f32 lanes per vector (16 for AVX-512, 8 for AVX2)">,
    Option<"vnni", "vnni", "bool", "false",
           "use AVX-512 VNNI (vpdpbusd) for int8 dot products; else AVX2 "
           "vpmaddubsw">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

def CPUApproximateMath : Pass<"llmc-cpu-approximate-math", "::mlir::ModuleOp"> {
  let summary = "Replaces f32 exp, tanh, erf, log by vectorizable polynomials";
  let description = [{
    LLVM would turn math on vectors into one libm call per lane; MLIR's
    polynomial approximations (about 1 ulp for exp) stay in vector registers.
    f64 math (rope angles) is left to libm for its accuracy.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LLMC_CODEGEN_CPU_PASSES
