//===- CUDATarget.cpp - gpu kernels to PTX (NVVM, LLVM's NVPTX backend) -----------===//

#include "codegen/cuda/CUDATarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

namespace llmc::cuda_target {

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The first lines of a long message.
std::string firstLines(const std::string &text, int lines) {
  size_t at = 0;
  for (int i = 0; i < lines && at != std::string::npos; ++i)
    at = text.find('\n', at == 0 ? 0 : at + 1);
  return at == std::string::npos ? text : text.substr(0, at);
}
} // namespace

const std::vector<std::string> &supportedArchitectures() {
  static const std::vector<std::string> archs = {"sm_80", "sm_89", "sm_90"};
  return archs;
}

std::string cudaToolkitPath() {
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *v = std::getenv(var); v && *v &&
                                          llvm::sys::fs::is_directory(v))
      return v;
  if (llvm::sys::fs::is_directory("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

std::string findPtxas() {
  std::string toolkit = cudaToolkitPath();
  if (!toolkit.empty()) {
    std::string path = toolkit + "/bin/ptxas";
    if (llvm::sys::fs::can_execute(path))
      return path;
  }
  if (auto path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  return "";
}

std::string nvvmLoweringPipeline(const std::string &arch) {
  std::string toolkit = cudaToolkitPath();
  // PTX ISA 8.0 (CUDA 12.0+ drivers) covers sm_80 .. sm_90.
  std::string pipeline =
      "gpu.module(arith-expand,expand-strided-metadata,convert-scf-to-cf,"
      "convert-gpu-to-nvvm,"
      "convert-math-to-llvm),"
      "nvvm-attach-target{chip=" + arch + " features=+ptx80 O=3},"
      "reconcile-unrealized-casts,gpu-module-to-binary{format=isa";
  if (!toolkit.empty())
    pipeline += " toolkit=" + toolkit; // where libdevice comes from
  return pipeline + "}";
}

std::string assemble(const std::string &ptxas, const std::string &ptx,
                     const std::string &arch) {
  llvm::SmallString<128> input, log;
  if (llvm::sys::fs::createTemporaryFile("llmc-kernel", "ptx", input) ||
      llvm::sys::fs::createTemporaryFile("llmc-ptxas", "log", log))
    return "cannot create temporary files for ptxas";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(input, ec);
    os << ptx;
  }
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string archFlag = "-arch=" + arch;
  llvm::StringRef args[] = {ptxas, archFlag, "-o", "/dev/null", input};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/120, 0, &error);
  std::string message;
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(log);
    message = text ? firstLines((*text)->getBuffer().str(), 5) : error;
    if (message.empty())
      message = "ptxas exited with " + std::to_string(rc) + " " + error;
  }
  llvm::sys::fs::remove(input);
  llvm::sys::fs::remove(log);
  return message;
}

llvm::Expected<PTXKernels> compileKernels(ModuleOp kernels,
                                          const std::string &arch,
                                          bool requirePtxas) {
  if (!llvm::is_contained(supportedArchitectures(), arch))
    return fail("unknown --cuda-arch '" + arch + "' (expected sm_80, sm_89 or sm_90)");
  MLIRContext *ctx = kernels.getContext();
  llvm::StringMap<std::string> kernelNames;
  for (auto module : kernels.getOps<mlir::gpu::GPUModuleOp>())
    if (auto name = module->getAttrOfType<StringAttr>("llm.kernel_name"))
      kernelNames[module.getName()] = name.getValue().str();

  PassManager pm(ctx);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(nvvmLoweringPipeline(arch), pm, errorStream)))
    return fail("bad NVVM pipeline: " + errors);
  if (failed(pm.run(kernels)))
    return fail("lowering the kernels to PTX failed");

  PTXKernels out;
  out.ptxasPath = findPtxas();
  if (requirePtxas && out.ptxasPath.empty())
    return fail("ptxas is required to check the PTX but was not found (set "
                "CUDA_HOME or put ptxas on PATH)");
  for (auto binary : kernels.getOps<mlir::gpu::BinaryOp>()) {
    auto it = kernelNames.find(binary.getName());
    if (it == kernelNames.end())
      return fail("GPU binary '" + binary.getName() + "' has no kernel");
    if (binary.getObjects().size() != 1)
      return fail("kernel " + it->second + " has " +
                  llvm::Twine(binary.getObjects().size()) + " objects, expected 1");
    std::string ptx = cast<mlir::gpu::ObjectAttr>(binary.getObjects()[0])
                          .getObject()
                          .getValue()
                          .str();
    while (!ptx.empty() && ptx.back() == '\0') // the object may carry one
      ptx.pop_back();
    if (!out.ptxasPath.empty()) {
      std::string message = assemble(out.ptxasPath, ptx, arch);
      if (!message.empty())
        return fail("ptxas rejects the PTX of kernel " + it->second + " for " +
                    arch + ": " + message);
    }
    std::vector<uint8_t> bytes(ptx.begin(), ptx.end());
    bytes.push_back(0);
    out.binaries.emplace_back(it->second, std::move(bytes));
  }
  if (out.binaries.size() != kernelNames.size())
    return fail("expected " + llvm::Twine(kernelNames.size()) +
                " PTX modules, got " + llvm::Twine(out.binaries.size()));
  out.assembled = !out.ptxasPath.empty();
  return out;
}

} // namespace llmc::cuda_target
