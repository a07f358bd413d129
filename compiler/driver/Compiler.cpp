//===- Compiler.cpp - the compile pipeline, phase by phase ---------------------===//
//
//   import     model file -> llm module (weight table, @prefill, @decode)
//   shapes     --llmc-symbolic-shapes
//   formats    --llmc-assign-weight-formats
//   regions    --llmc-form-dispatch-regions
//   kernels    --llmc-outline-kernels
//   bufferize  --llmc-bufferize-entries
//   plan       --llmc-plan-memory
//   codegen    kernels lowered for the target (CPU: loops, vectors, LLVM;
//              Vulkan: gpu -> SPIR-V, validated; CUDA: gpu -> NVVM -> PTX,
//              assembled with ptxas)
//   artifact   program + object -> model.so; weights.bin; tokenizer; config
//
//===----------------------------------------------------------------------===//

#include "compiler/driver/Compiler.h"

#include "codegen/cpu/CPUTarget.h"
#include "codegen/cuda/CUDATarget.h"
#include "codegen/spirv/SPIRVTarget.h"
#include "compiler/artifact/ProgramWriter.h"
#include "compiler/driver/Registration.h"
#include "dialects/llm/IR/LLMDialect.h"
#include "passes/ShapeUtils.h"
#include "runtime/packer/Packer.h"
#include "runtime/tokenizer/Tokenizer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/Pass.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace mlir;

namespace llmc {

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error writeFile(const std::string &path, llvm::StringRef data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail(path + ": " + ec.message());
  os << data;
  return llvm::Error::success();
}

std::string printModule(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

class Pipeline {
public:
  Pipeline(const CompileOptions &options, std::ostream &report)
      : options(options), report(report) {
    registerLLMCDialects(registry);
    registerAllLLMCPasses();
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
  }

  llvm::Error run() {
    if (options.target != "cpu" && options.target != "vulkan" &&
        options.target != "cuda")
      return fail("unknown target '" + options.target +
                  "' (expected cpu, vulkan or cuda)");
    gpu = options.target != "cpu";
    if (options.target == "vulkan") {
      auto profile = spirv_target::resolveProfile(options.vulkanProfile,
                                                  &profileNote);
      if (!profile)
        return profile.takeError();
      vulkanProfile = *profile;
    }
    if (options.target == "cuda" &&
        !llvm::is_contained(cuda_target::supportedArchitectures(),
                            options.cudaArch))
      return fail("unknown --cuda-arch '" + options.cudaArch +
                  "' (expected sm_80, sm_89 or sm_90)");
    if (!options.compileTo.empty() &&
        !llvm::is_contained(compilePhases(), options.compileTo))
      return fail("unknown phase '" + options.compileTo + "'; phases: " +
                  llvm::join(compilePhases(), ", "));
    if (!options.saveTemps.empty())
      if (auto ec = llvm::sys::fs::create_directories(options.saveTemps))
        return fail(options.saveTemps + ": " + ec.message());

    // import
    auto begin = now();
    auto opened = ModelSource::open(options.model);
    if (!opened.ok())
      return fail(opened.message());
    source = opened.take();
    module = importModel(*context, *source, options.import);
    if (failed(verify(*module)))
      return fail("the imported module does not verify");
    if (auto err = endPhase("import", begin))
      return err;
    if (stopped)
      return llvm::Error::success();

    std::string quantOpts = "quant=" + options.quant;
    if (!options.quantOutput.empty())
      quantOpts += " quant-output=" + options.quantOutput;
    // GPU artifacts hold no host code: model.so only carries the program.
    auto cpu = cpu::describeCPU(gpu ? "x86-64-v3" : options.cpu);
    if (!cpu)
      return cpu.takeError();
    cpuDescription = *cpu;
    // Integer dot products read weights interleaved by 16 rows (AVX-512) or 8.
    int64_t rowGroup = cpuDescription.vectorWidth >= 16 && cpuDescription.hasAVX512VNNI
                           ? 16
                       : cpuDescription.vectorWidth >= 8 ? 8
                                                         : 0;
    // CPUs multiply int8 activations with int8 weights; GPUs read f32
    // activations and block weights in the split layout.
    std::string formats =
        gpu ? "llmc-assign-weight-formats{" + quantOpts +
                  "},llmc-select-weight-layouts{row-group=0 split=1}"
            : "llmc-assign-weight-formats{" + quantOpts +
                  "},llmc-select-weight-layouts{row-group=" +
                  std::to_string(rowGroup) + "},llmc-quantize-activations";
    struct Step { const char *phase; std::string pipeline; };
    const Step steps[] = {
        {"shapes", "llmc-symbolic-shapes"},
        {"formats", formats},
        {"regions", "llmc-form-dispatch-regions,llmc-fuse-sibling-linears,"
                    "llmc-fuse-epilogues"},
        {"kernels", "llmc-outline-kernels"},
        {"bufferize", "llmc-bufferize-entries"},
        {"plan", "llmc-plan-memory{alignment=" +
                     std::to_string(bindingAlignment()) + "}"},
    };
    for (const Step &step : steps) {
      begin = now();
      if (auto err = runPasses(*module, step.pipeline))
        return err;
      if (auto err = endPhase(step.phase, begin))
        return err;
      if (stopped)
        return llvm::Error::success();
    }

    begin = now();
    if (auto err = codegen())
      return err;
    if (auto err = endPhase("codegen", begin))
      return err;
    if (stopped)
      return llvm::Error::success();

    begin = now();
    if (auto err = writeArtifact())
      return err;
    timings.push_back({"artifact", seconds(begin)});
    printReport();
    return llvm::Error::success();
  }

private:
  using Clock = std::chrono::steady_clock;
  static Clock::time_point now() { return Clock::now(); }
  static double seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
  }

  /// Records the phase time, saves its IR, and stops at --compile-to.
  llvm::Error endPhase(const std::string &phase, Clock::time_point begin) {
    timings.push_back({phase, seconds(begin)});
    unsigned index = timings.size();
    if (!options.saveTemps.empty())
      if (auto err = writeFile(llvm::formatv("{0}/{1:d2}-{2}.mlir",
                                             options.saveTemps, index, phase)
                                   .str(),
                               printModule(*module)))
        return err;
    if (options.compileTo == phase) {
      llvm::outs() << printModule(phase == "codegen" ? *kernelModule : *module)
                   << "\n";
      llvm::outs().flush();
      stopped = true;
    }
    return llvm::Error::success();
  }

  llvm::Error runPasses(ModuleOp target, const std::string &pipeline) {
    PassManager pm(context.get());
    std::string errors;
    llvm::raw_string_ostream errorStream(errors);
    if (failed(parsePassPipeline(pipeline, pm,
                                 errorStream)))
      return fail("bad pipeline '" + pipeline + "': " + errors);
    if (!options.dumpAfter.empty()) {
      context->disableMultithreading();
      auto dumpAfter = options.dumpAfter;
      pm.enableIRPrinting(
          [](Pass *, Operation *) { return false; },
          [dumpAfter](Pass *pass, Operation *) {
            return llvm::is_contained(dumpAfter, pass->getArgument().str());
          },
          /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
    }
    // A pass's diagnostics become the one error line: the first error's
    // message (the op and the problem), without MLIR's location prefix.
    std::string firstError;
    ScopedDiagnosticHandler handler(context.get(), [&](Diagnostic &d) {
      if (d.getSeverity() == DiagnosticSeverity::Error && firstError.empty())
        firstError = d.str();
      return success();
    });
    if (failed(pm.run(target)))
      return fail(firstError.empty()
                      ? "pass pipeline '" + pipeline + "' failed"
                      : firstError);
    return llvm::Error::success();
  }

  /// Byte alignment of every binding: GPUs want 256 (CUDA's texture and
  /// Vulkan's minStorageBufferOffsetAlignment limits are at most that).
  int64_t bindingAlignment() const { return gpu ? 256 : 64; }

  llvm::Error codegen() {
    // Kernels move to their own module; the program keeps their signatures.
    kernelModule = ModuleOp::create(module->getLoc());
    (*kernelModule)->setAttrs((*module)->getAttrDictionary());
    OpBuilder b(context.get());
    b.setInsertionPointToEnd(kernelModule->getBody());
    for (auto func : module->getOps<func::FuncOp>())
      if (func->hasAttr("llm.kernel")) {
        auto clone = cast<func::FuncOp>(b.clone(*func));
        clone.setPublic();
      }
    if (gpu)
      return gpuCodegen();
    std::string lower =
        llvm::formatv("llmc-cpu-lower-kernels{{vector-width={0} vnni={1}}",
                      cpuDescription.vectorWidth,
                      cpuDescription.hasAVX512VNNI ? 1 : 0)
            .str();
    if (auto err = runPasses(*kernelModule, lower))
      return err;
    // The program records each kernel's grid.
    for (auto lowered : kernelModule->getOps<func::FuncOp>())
      if (auto original = module->lookupSymbol<func::FuncOp>(lowered.getSymName()))
        for (const char *attr : {"llm.grid", "llm.num_bindings"})
          original->setAttr(attr, lowered->getAttr(attr));
    if (!options.saveTemps.empty())
      if (auto err = writeFile(options.saveTemps + "/kernels.mlir",
                               printModule(*kernelModule)))
        return err;
    if (auto err = cpu::lowerToLLVMDialect(*kernelModule))
      return err;
    if (!options.saveTemps.empty())
      if (auto err = writeFile(options.saveTemps + "/kernels.llvm.mlir",
                               printModule(*kernelModule)))
        return err;
    return llvm::Error::success();
  }

  /// The largest binding the program makes: a weight, an arena, the step
  /// buffer (KV layers are sized by the runtime).
  uint64_t maxBindingBytes() {
    uint64_t largest = 0;
    for (auto weight : module->getOps<llm::WeightOp>())
      largest = std::max<uint64_t>(largest, weight.getWeightType().getStorageBytes());
    for (func::FuncOp entry : getEntries(*module))
      for (const char *attr : {"llm.arena_bytes", "llm.step_bytes"})
        if (auto bytes = entry->getAttrOfType<IntegerAttr>(attr))
          largest = std::max<uint64_t>(largest, bytes.getInt());
    return largest;
  }

  llvm::Error gpuCodegen() {
    std::string lower =
        llvm::formatv("llmc-gpu-lower-kernels{{target={0} workgroup-size={1} "
                      "tiled-prefill={2}}",
                      options.target, options.workgroupSize,
                      options.tiledPrefill ? 1 : 0)
            .str();
    if (auto err = runPasses(*kernelModule, lower))
      return err;
    // The program records each kernel's grid and workgroup.
    for (auto lowered : kernelModule->getOps<mlir::gpu::GPUModuleOp>()) {
      auto name = lowered->getAttrOfType<StringAttr>("llm.kernel_name");
      auto original = name ? module->lookupSymbol<func::FuncOp>(name) : nullptr;
      if (!original)
        return fail("a GPU kernel module has no kernel");
      for (const char *attr : {"llm.grid", "llm.num_bindings", "llm.workgroup_size"})
        original->setAttr(attr, lowered->getAttr(attr));
    }
    if (!options.saveTemps.empty())
      if (auto err = writeFile(options.saveTemps + "/kernels.mlir",
                               printModule(*kernelModule)))
        return err;
    if (options.target == "vulkan") {
      auto compiled = spirv_target::compileKernels(*kernelModule, vulkanProfile,
                                                   maxBindingBytes());
      if (!compiled)
        return compiled.takeError();
      binaries = std::move(compiled->binaries);
      targetProfile = compiled->requiredProfile;
      subgroupSize = 0; // the kernels assume none
    } else {
      auto compiled = cuda_target::compileKernels(*kernelModule, options.cudaArch,
                                                  options.requirePtxas);
      if (!compiled)
        return compiled.takeError();
      binaries = std::move(compiled->binaries);
      targetProfile = options.cudaArch;
      subgroupSize = 32;
      ptxAssembled = compiled->assembled;
    }
    if (!options.saveTemps.empty()) {
      if (auto err = writeFile(options.saveTemps + "/kernels.gpu.mlir",
                               printModule(*kernelModule)))
        return err;
      for (auto &[name, data] : binaries)
        if (auto err = writeFile(options.saveTemps + "/" + name +
                                     (options.target == "vulkan" ? ".spv" : ".ptx"),
                                 llvm::StringRef(reinterpret_cast<const char *>(
                                                     data.data()),
                                                 options.target == "vulkan"
                                                     ? data.size()
                                                     : data.size() - 1)))
          return err;
    }
    return llvm::Error::success();
  }

  llvm::Error writeArtifact() {
    if (options.output.empty())
      return fail("no output folder (-o)");
    if (auto ec = llvm::sys::fs::create_directories(options.output))
      return fail(options.output + ": " + ec.message());
    TargetDescription target;
    target.kind = options.target;
    if (!gpu) {
      target.cpuName = cpuDescription.name;
      target.cpuFeatures = cpuDescription.features;
    }
    target.bindingAlignment = static_cast<uint32_t>(bindingAlignment());
    target.subgroupSize = subgroupSize;
    target.profile = targetProfile;
    target.binaries = binaries;
    auto program = writeProgram(*module, target);
    if (!program)
      return program.takeError();
    programBytes = program->size();

    // GPU targets: an empty host module that only carries the program.
    if (gpu) {
      kernelModule = ModuleOp::create(module->getLoc());
      if (auto err = cpu::lowerToLLVMDialect(*kernelModule))
        return err;
    }
    auto object = cpu::emitObject(*kernelModule, cpuDescription, *program,
                                  !options.saveTemps.empty());
    if (!object)
      return object.takeError();
    std::string objectPath = options.output + "/kernels.o";
    if (auto err = writeFile(objectPath, llvm::StringRef(object->object.data(),
                                                         object->object.size())))
      return err;
    if (!options.saveTemps.empty() && !gpu) {
      if (auto err = writeFile(options.saveTemps + "/kernels.ll", object->llvmIR))
        return err;
      if (auto err = writeFile(options.saveTemps + "/kernels.s", object->assembly))
        return err;
    }
    if (auto err = cpu::linkSharedLibrary({objectPath},
                                          options.output + "/model.so"))
      return err;
    llvm::sys::fs::remove(objectPath);

    // Weights, through the runtime's packer.
    std::vector<PackRequest> requests;
    for (auto weight : module->getOps<llm::WeightOp>()) {
      llm::WeightType type = weight.getWeightType();
      PackRequest r;
      r.name = weight.getSymName().str();
      for (Attribute s : weight.getSources())
        r.sources.push_back(cast<StringAttr>(s).getValue().str());
      r.format = static_cast<TensorType>(type.getFormat());
      r.layout = static_cast<uint8_t>(type.getLayout());
      r.shape.assign(type.getShape().begin(), type.getShape().end());
      r.bytes = type.getStorageBytes();
      weightBytes += r.bytes;
      requests.push_back(std::move(r));
    }
    // --no-weights: the artifact is packed later, where it runs (llmc pack).
    if (!options.noWeights) {
      auto packStart = now();
      PackStats stats;
      Status packed = packWeights(*source, requests,
                                  options.output + "/weights.bin",
                                  options.threads, &stats);
      if (packed.isError())
        return fail(packed.message());
      packSeconds = seconds(packStart);
    } else {
      llvm::sys::fs::remove(options.output + "/weights.bin");
    }

    if (auto err = copyTokenizer())
      return err;
    return writeConfig();
  }

  llvm::Error copyTokenizer() {
    auto copy = [&](const std::string &from, const char *name) -> llvm::Error {
      if (from.empty())
        return llvm::Error::success();
      auto text = readTextFile(from);
      if (!text.ok())
        return fail(text.message());
      return writeFile(options.output + "/" + name, *text);
    };
    // The runtime reads only tokenizer.json: GGUF metadata is converted.
    if (const GGUFFile *gguf = source->gguf()) {
      if (!gguf->has("tokenizer.ggml.model"))
        return llvm::Error::success();
      auto converted = tokenizerJsonFromGGUF(*gguf);
      if (!converted.ok())
        return fail(converted.message());
      if (auto err = writeFile(options.output + "/tokenizer.json",
                               converted->first))
        return err;
      return writeFile(options.output + "/tokenizer_config.json",
                       converted->second);
    }
    if (auto err = copy(source->tokenizerJsonPath(), "tokenizer.json"))
      return err;
    return copy(source->tokenizerConfigPath(), "tokenizer_config.json");
  }

  llvm::Error writeConfig() {
    nlohmann::json config;
    config["llmc_version"] = LLMC_VERSION_STRING;
    config["source"] = options.model;
    config["source_kind"] = source->kindName();
    config["target"] = options.target;
    if (gpu) {
      config["profile"] = targetProfile;
      if (options.target == "vulkan")
        config["compiled_for_profile"] = vulkanProfile;
      else
        config["ptxas_checked"] = ptxAssembled;
    } else {
      config["cpu"] = cpuDescription.name;
      config["cpu_features"] = cpuDescription.features;
    }
    config["quant"] = options.quant;
    config["weight_bytes"] = weightBytes;
    const ModelConfig &c = source->config();
    config["model"] = {{"architecture", c.architecture},
                       {"hidden_size", c.hiddenSize},
                       {"num_layers", c.numLayers},
                       {"num_heads", c.numHeads},
                       {"num_kv_heads", c.numKVHeads},
                       {"head_dim", c.headDim},
                       {"ffn_size", c.ffnSize},
                       {"vocab_size", c.vocabSize}};
    bool hasTokenizer = source->gguf()
                            ? source->gguf()->has("tokenizer.ggml.model")
                            : !source->tokenizerJsonPath().empty();
    config["tokenizer"] = hasTokenizer ? nlohmann::json("tokenizer.json")
                                       : nlohmann::json(nullptr);
    return writeFile(options.output + "/llmc-config.json", config.dump(2) + "\n");
  }

  void printReport() {
    std::string what = cpuDescription.name;
    if (options.target == "vulkan")
      what = "profile " + vulkanProfile + ", " + profileNote;
    else if (options.target == "cuda")
      what = options.cudaArch + (ptxAssembled ? ", every kernel assembled by ptxas"
                                              : ", ptxas not found: PTX unchecked");
    report << "compiled " << options.model << " for " << options.target << " ("
           << what << "), weights " << options.quant << " -> "
           << options.output << "\n";
    report << "phases:";
    double total = 0;
    for (auto &[phase, secs] : timings) {
      report << llvm::formatv(" {0} {1:f2}s", phase, secs).str();
      total += secs;
    }
    report << llvm::formatv("; total {0:f2}s (packing {1:f2}s)\n", total,
                            packSeconds)
                  .str();
    unsigned kernels = 0;
    for (auto func : module->getOps<func::FuncOp>())
      kernels += func->hasAttr("llm.kernel") ? 1 : 0;
    for (func::FuncOp entry : getEntries(*module)) {
      unsigned dispatches = 0;
      llvm::SmallSetVector<StringRef, 32> unique;
      entry.walk([&](llm::LaunchOp launch) {
        ++dispatches;
        unique.insert(launch.getKernel());
      });
      auto arena = entry->getAttrOfType<IntegerAttr>("llm.arena_bytes");
      auto unplanned = entry->getAttrOfType<IntegerAttr>("llm.unplanned_bytes");
      report << llvm::formatv(
                    "@{0}: {1} dispatches, {2} unique kernels; arena {3} bytes "
                    "(unplanned sum {4}, {5:f1}x smaller)\n",
                    entry.getSymName(), dispatches, unique.size(),
                    arena ? arena.getInt() : 0,
                    unplanned ? unplanned.getInt() : 0,
                    arena && arena.getInt()
                        ? double(unplanned.getInt()) / arena.getInt()
                        : 0.0)
                    .str();
    }
    if (options.noWeights)
      report << "weights.bin not written (--no-weights): run `llmc pack "
             << options.model << " " << options.output << "` before running\n";
    report << llvm::formatv("kernels: {0} {1}; program {2} bytes; "
                            "weights {3} bytes ({4:f1} MiB)\n",
                            kernels,
                            options.target == "cpu"      ? "in model.so"
                            : options.target == "vulkan" ? "SPIR-V modules"
                                                         : "PTX modules",
                            programBytes, weightBytes, weightBytes / 1048576.0)
                  .str();
  }

  const CompileOptions &options;
  std::ostream &report;
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<ModelSource> source;
  OwningOpRef<ModuleOp> module;
  OwningOpRef<ModuleOp> kernelModule;
  cpu::CPUDescription cpuDescription;
  bool gpu = false;
  std::string vulkanProfile, profileNote, targetProfile;
  uint32_t subgroupSize = 0;
  bool ptxAssembled = false;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> binaries;
  std::vector<std::pair<std::string, double>> timings;
  bool stopped = false;
  uint64_t weightBytes = 0;
  size_t programBytes = 0;
  double packSeconds = 0;
};
} // namespace

const std::vector<std::string> &compilePhases() {
  static const std::vector<std::string> phases = {
      "import", "shapes", "formats", "regions", "kernels",
      "bufferize", "plan", "codegen", "artifact"};
  return phases;
}

llvm::Error compileModel(const CompileOptions &options, std::ostream &report) {
  Pipeline pipeline(options, report);
  return pipeline.run();
}

} // namespace llmc
