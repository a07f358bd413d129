//===- ProgramWriter.h - the planned module as a flatbuffers program -----------===//

#ifndef LLMC_COMPILER_ARTIFACT_PROGRAMWRITER_H
#define LLMC_COMPILER_ARTIFACT_PROGRAMWRITER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// What the target's code generator decided, recorded in the program.
struct TargetDescription {
  std::string kind;                  // "cpu", "vulkan", "cuda"
  std::string cpuName;
  std::vector<std::string> cpuFeatures;
  uint32_t bindingAlignment = 64;
  uint32_t subgroupSize = 0;
  std::string profile;
  /// GPU kernels' binaries by kernel name (SPIR-V words or PTX text).
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binaries;
};

/// Serializes the module after memory planning and code generation: every
/// kernel must carry `llm.grid` (an affine map with three results over the
/// module's symbols) and, for GPU targets, `llm.workgroup_size`.
llvm::Expected<std::vector<uint8_t>>
writeProgram(mlir::ModuleOp module, const TargetDescription &target);

} // namespace llmc

#endif // LLMC_COMPILER_ARTIFACT_PROGRAMWRITER_H
