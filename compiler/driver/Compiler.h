//===- Compiler.h - the compile pipeline, phase by phase -----------------------===//

#ifndef LLMC_COMPILER_DRIVER_COMPILER_H
#define LLMC_COMPILER_DRIVER_COMPILER_H

#include "compiler/frontend/Importer.h"

#include "llvm/Support/Error.h"

#include <ostream>
#include <string>
#include <vector>

namespace llmc {

struct CompileOptions {
  std::string model;
  std::string output;            // artifact folder
  std::string target = "cpu";    // cpu, vulkan, cuda
  std::string quant = "f16";     // f32, f16, q8, q4
  std::string quantOutput;       // output matrix/embedding format
  std::string cpu = "native";
  /// Vulkan: the profile to compile for ("" = the device present, else a
  /// baseline); see docs/vulkan.md.
  std::string vulkanProfile;
  /// CUDA: sm_80 (default), sm_89 or sm_90.
  std::string cudaArch = "sm_80";
  /// CUDA: fail when ptxas is missing instead of skipping the check.
  bool requirePtxas = false;
  /// GPU targets: threads per workgroup.
  int64_t workgroupSize = 128;
  /// Vulkan: 32-token tiles with operands staged in workgroup memory for
  /// prefill (CUDA always does this, with tensor cores).
  bool tiledPrefill = false;
  ImportOptions import;
  /// Stop after this phase and print the IR to stdout (no artifact).
  std::string compileTo;
  /// Print the IR after these passes (by their --argument) to stderr.
  std::vector<std::string> dumpAfter;
  /// Write the IR of every phase, and LLVM IR and assembly, to this folder.
  std::string saveTemps;
  int threads = 0;               // packing threads (0 = all cores)
  /// Write everything but weights.bin (`llmc pack` writes it later, e.g. on
  /// the machine that runs the artifact).
  bool noWeights = false;
};

/// The phases in order; --compile-to takes one of these names.
const std::vector<std::string> &compilePhases();

/// Compiles; prints the report (time per phase, dispatches and unique kernels
/// per entry, arena vs. unplanned bytes, weight bytes) to `report`.
llvm::Error compileModel(const CompileOptions &options, std::ostream &report);

} // namespace llmc

#endif // LLMC_COMPILER_DRIVER_COMPILER_H
