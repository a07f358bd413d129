//===- CPUTarget.h - from lowered kernels to an object for the host CPU ----------===//

#ifndef LLMC_CODEGEN_CPU_CPUTARGET_H
#define LLMC_CODEGEN_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llmc::cpu {

/// The CPU the kernels are compiled for.
struct CPUDescription {
  std::string triple;
  std::string name;                  // e.g. znver4
  std::string featureString;         // LLVM's "+avx2,+fma,..."
  std::vector<std::string> features; // the ISA extensions the runtime checks
  int64_t vectorWidth = 16;          // f32 lanes
  bool hasAVX512VNNI = false;
  bool hasAVXVNNI = false;
};

/// The host CPU, or a named one ("native" = host).
llvm::Expected<CPUDescription> describeCPU(const std::string &cpu);

/// The pass pipeline from lowered kernels (scf, vector, memref, math) to the
/// LLVM dialect, as a textual pipeline (shown by --dump-after and docs).
std::string llvmLoweringPipeline();

/// Lowers the kernel module to the LLVM dialect in place.
llvm::Error lowerToLLVMDialect(mlir::ModuleOp kernels);

struct ObjectOutput {
  std::vector<char> object;
  std::string llvmIR;   // optimized, for --save-temps
  std::string assembly; // for --save-temps (only when asked)
};

/// Translates to LLVM IR, optimizes at O3 for the CPU, embeds `program` as the
/// symbols llmc_program/llmc_program_size and emits an object file.
llvm::Expected<ObjectOutput> emitObject(mlir::ModuleOp llvmDialectModule,
                                        const CPUDescription &cpu,
                                        const std::vector<uint8_t> &program,
                                        bool wantText);

/// Links objects into a shared library with the system's lld (or cc).
llvm::Error linkSharedLibrary(const std::vector<std::string> &objects,
                              const std::string &output);

} // namespace llmc::cpu

#endif // LLMC_CODEGEN_CPU_CPUTARGET_H
