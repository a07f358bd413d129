//===- SPIRVTarget.h - gpu kernels to validated SPIR-V for Vulkan -----------------===//
//
// After llmc-gpu-lower-kernels{target=vulkan}, each gpu.module (one kernel)
// is converted to a spirv.module for the Vulkan profile the user chose
// (--vulkan-profile, or the device present at compile time), serialized, and
// validated with SPIRV-Tools for the profile's Vulkan version.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_CODEGEN_SPIRV_SPIRVTARGET_H
#define LLMC_CODEGEN_SPIRV_SPIRVTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace llmc::spirv_target {

/// The profile to compile for: `requested` (a profile text), or, when empty,
/// the profile of Vulkan device 0, or a baseline when there is none (`note`
/// says which was used).
llvm::Expected<std::string> resolveProfile(const std::string &requested,
                                           std::string *note);

/// The pass pipeline from gpu.modules to spirv.modules (for --dump-after and
/// the docs).
std::string spirvLoweringPipeline();

struct SPIRVKernels {
  /// (kernel name, SPIR-V words as little-endian bytes), in module order.
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binaries;
  /// What the kernels need, as a profile text recorded in the artifact.
  std::string requiredProfile;
};

/// Converts every gpu.module of `kernels` for `profile`, serializes and
/// validates each. `maxBindingBytes` is the largest binding the program
/// makes (checked against the profile's max-binding).
llvm::Expected<SPIRVKernels> compileKernels(mlir::ModuleOp kernels,
                                            const std::string &profile,
                                            uint64_t maxBindingBytes);

/// Validates SPIR-V words for a Vulkan version ("" when valid, else the
/// validator's message).
std::string validate(const std::vector<uint32_t> &words, uint32_t vulkanMinor);

} // namespace llmc::spirv_target

#endif // LLMC_CODEGEN_SPIRV_SPIRVTARGET_H
