//===- CPUTarget.cpp - from lowered kernels to an object for the host CPU --------===//

#include "codegen/cpu/CPUTarget.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <set>

using namespace mlir;

namespace llmc::cpu {

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

void initializeX86() {
  static bool done = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    return true;
  }();
  (void)done;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CPUDescription &cpu) {
  initializeX86();
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(cpu.triple, error);
  if (!target)
    return fail("no LLVM target for " + cpu.triple + ": " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      cpu.triple, cpu.name, cpu.featureString, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return fail("cannot create a target machine for " + cpu.name);
  return machine;
}
} // namespace

llvm::Expected<CPUDescription> describeCPU(const std::string &cpuName) {
  initializeX86();
  CPUDescription cpu;
  cpu.triple = llvm::sys::getDefaultTargetTriple();
  // Portable levels, e.g. to build artifacts for other machines or to test
  // the AVX2 kernels on an AVX-512 host.
  if (cpuName == "x86-64-v3" || cpuName == "x86-64-v4") {
    bool v4 = cpuName == "x86-64-v4";
    cpu.name = cpuName;
    cpu.features = {"sse4.2", "avx", "avx2", "fma", "f16c"};
    if (v4)
      for (const char *f : {"avx512f", "avx512bw", "avx512vl", "avx512dq"})
        cpu.features.push_back(f);
    for (const std::string &f : cpu.features)
      cpu.featureString += (cpu.featureString.empty() ? "+" : ",+") + f;
    cpu.vectorWidth = v4 ? 16 : 8;
    return cpu;
  }
  if (cpuName != "native" && !cpuName.empty())
    return fail("unknown --cpu '" + cpuName +
                "' (native, x86-64-v3 for AVX2, x86-64-v4 for AVX-512)");
  cpu.name = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> hostFeatures = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> enabled;
  for (auto &feature : hostFeatures)
    enabled.push_back((feature.second ? "+" : "-") + feature.first().str());
  std::sort(enabled.begin(), enabled.end());
  for (const std::string &f : enabled)
    cpu.featureString += (cpu.featureString.empty() ? "" : ",") + f;
  // The extensions llmc's kernels may use; the runtime checks each at load.
  static const char *checked[] = {"sse4.2", "avx", "avx2", "fma", "f16c",
                                  "avx512f", "avx512bw", "avx512vl",
                                  "avx512dq", "avx512vnni", "avxvnni"};
  for (const char *name : checked) {
    auto it = hostFeatures.find(name);
    if (it != hostFeatures.end() && it->second)
      cpu.features.push_back(name);
  }
  auto has = [&](const char *name) {
    auto it = hostFeatures.find(name);
    return it != hostFeatures.end() && it->second;
  };
  cpu.vectorWidth = has("avx512f") ? 16 : has("avx2") ? 8 : 4;
  cpu.hasAVX512VNNI = has("avx512vnni") && has("avx512bw");
  cpu.hasAVXVNNI = has("avxvnni");
  return cpu;
}

std::string llvmLoweringPipeline() {
  return "llmc-cpu-approximate-math,canonicalize,cse,"
         "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
         "convert-vector-to-llvm{reassociate-fp-reductions=1},"
         "finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,"
         "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts";
}

llvm::Error lowerToLLVMDialect(ModuleOp kernels) {
  PassManager pm(kernels.getContext());
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(llvmLoweringPipeline(), pm, errorStream)))
    return fail("bad LLVM lowering pipeline: " + errors);
  if (failed(pm.run(kernels)))
    return fail("lowering the kernels to the LLVM dialect failed");
  return llvm::Error::success();
}

llvm::Expected<ObjectOutput> emitObject(ModuleOp module,
                                        const CPUDescription &cpu,
                                        const std::vector<uint8_t> &program,
                                        bool wantText) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "llmc_kernels");
  if (!llvmModule)
    return fail("translating the kernels to LLVM IR failed");
  auto machine = createTargetMachine(cpu);
  if (!machine)
    return machine.takeError();
  llvmModule->setTargetTriple(cpu.triple);
  llvmModule->setDataLayout((*machine)->createDataLayout());
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu.name);
    f.addFnAttr("target-features", cpu.featureString);
  }

  // The program travels inside model.so.
  auto *bytes = llvm::ConstantDataArray::get(
      llvmContext, llvm::ArrayRef<uint8_t>(program.data(), program.size()));
  auto *programVar = new llvm::GlobalVariable(
      *llvmModule, bytes->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, bytes, "llmc_program");
  programVar->setAlignment(llvm::Align(16));
  new llvm::GlobalVariable(
      *llvmModule, llvm::Type::getInt64Ty(llvmContext), true,
      llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantInt::get(llvm::Type::getInt64Ty(llvmContext),
                             program.size()),
      "llmc_program_size");

  // O3 with the target's cost model.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(machine->get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);

  ObjectOutput out;
  if (wantText) {
    llvm::raw_string_ostream os(out.llvmIR);
    llvmModule->print(os, nullptr);
  }
  auto emit = [&](llvm::CodeGenFileType type,
                  std::vector<char> &buffer) -> llvm::Error {
    llvm::SmallVector<char, 0> data;
    llvm::raw_svector_ostream os(data);
    llvm::legacy::PassManager codegen;
    if ((*machine)->addPassesToEmitFile(codegen, os, nullptr, type))
      return fail("the target cannot emit this file type");
    codegen.run(*llvmModule);
    buffer.assign(data.begin(), data.end());
    return llvm::Error::success();
  };
  if (wantText) {
    std::vector<char> assembly;
    if (auto err = emit(llvm::CodeGenFileType::AssemblyFile, assembly))
      return std::move(err);
    out.assembly.assign(assembly.begin(), assembly.end());
  }
  if (auto err = emit(llvm::CodeGenFileType::ObjectFile, out.object))
    return std::move(err);
  return out;
}

llvm::Error linkSharedLibrary(const std::vector<std::string> &objects,
                              const std::string &output) {
  std::vector<std::string> args;
  std::string linker;
  for (const char *candidate : {"ld.lld-19", "ld.lld"})
    if (auto path = llvm::sys::findProgramByName(candidate)) {
      linker = *path;
      break;
    }
  if (!linker.empty()) {
    args = {linker, "-shared", "--hash-style=gnu", "-o", output};
    args.insert(args.end(), objects.begin(), objects.end());
    // libm for the few scalar math calls (rope's sin/cos in double).
    for (const char *dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"})
      args.push_back(std::string("-L") + dir);
    args.push_back("-lm");
  } else if (auto cc = llvm::sys::findProgramByName("cc")) {
    args = {*cc, "-shared", "-o", output};
    args.insert(args.end(), objects.begin(), objects.end());
    args.push_back("-lm");
  } else {
    return fail("no linker found (install lld-19)");
  }
  std::vector<llvm::StringRef> refs(args.begin(), args.end());
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(args[0], refs, std::nullopt, {}, 0, 0,
                                     &error);
  if (rc != 0)
    return fail("linking " + output + " failed (" + args[0] + ")" +
                (error.empty() ? "" : ": " + error));
  return llvm::Error::success();
}

} // namespace llmc::cpu
