//===- CUDATarget.h - gpu kernels to PTX (NVVM, LLVM's NVPTX backend) -------------===//
//
// After llmc-gpu-lower-kernels{target=cuda}, the gpu.modules go through
// MLIR's NVVM pipeline (libdevice linked for exp/sin/cos/rsqrt) to PTX for
// the chosen architecture; when ptxas is present every module is assembled
// with it at compile time, so a PTX error is the compiler's, not the user's
// driver's.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_CUDA_CUDATARGET_H
#define LLMC_CODEGEN_CUDA_CUDATARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace llmc::cuda_target {

/// The architectures llmc compiles for: sm_80 (default; newer drivers JIT
/// its PTX), sm_89, sm_90.
const std::vector<std::string> &supportedArchitectures();

/// The NVVM pass pipeline (for --dump-after and the docs).
std::string nvvmLoweringPipeline(const std::string &arch);

/// The CUDA toolkit folder (CUDA_HOME, CUDA_PATH, /usr/local/cuda), or "".
std::string cudaToolkitPath();
/// ptxas, from the toolkit or PATH, or "".
std::string findPtxas();

struct PTXKernels {
  /// (kernel name, NUL-terminated PTX text), in module order.
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binaries;
  /// Whether ptxas assembled every module (false when it is absent).
  bool assembled = false;
  std::string ptxasPath;
};

/// Lowers every gpu.module of `kernels` to PTX for `arch` and, when ptxas
/// is found (or `requirePtxas`), assembles each; a ptxas error is an error.
llvm::Expected<PTXKernels> compileKernels(mlir::ModuleOp kernels,
                                          const std::string &arch,
                                          bool requirePtxas);

/// Runs ptxas on one PTX text; "" when it assembles, else its message.
std::string assemble(const std::string &ptxas, const std::string &ptx,
                     const std::string &arch);

} // namespace llmc::cuda_target

#endif // LLMC_CODEGEN_CUDA_CUDATARGET_H
