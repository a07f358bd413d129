//===- CompileCommand.cpp - llmc compile MODEL --target T --quant Q -o OUT ------===//

#include "tools/llmc/Commands.h"

#include "compiler/driver/Compiler.h"

#include "llvm/Support/Error.h"

#include <iostream>
#include <memory>

namespace llmc::cli {

void addCompileCommand(CLI::App &app) {
  auto options = std::make_shared<CompileOptions>();
  CLI::App *cmd = app.add_subcommand(
      "compile", "Compile a Hugging Face folder or GGUF file into an artifact");
  cmd->add_option("model", options->model, "model folder or .gguf file")
      ->required();
  cmd->add_option("-o,--output", options->output, "artifact folder to write");
  cmd->add_option("--target", options->target,
                  "cpu (default), vulkan (SPIR-V) or cuda (PTX)")
      ->check(CLI::IsMember({"cpu", "vulkan", "cuda"}));
  cmd->add_option("--quant", options->quant,
                  "format of float weights: f32, f16, q8, q4")
      ->check(CLI::IsMember({"f32", "f16", "q8", "q4"}));
  cmd->add_option("--quant-output", options->quantOutput,
                  "format of the output matrix and embedding (default: q8 "
                  "under q4, else --quant)")
      ->check(CLI::IsMember({"f32", "f16", "q8", "q4"}));
  cmd->add_option("--cpu", options->cpu,
                  "CPU to compile for: native, x86-64-v3 (AVX2), x86-64-v4 "
                  "(AVX-512 without VNNI)");
  cmd->add_option("--vulkan-profile", options->vulkanProfile,
                  "Vulkan profile to compile for, e.g. "
                  "vulkan1.1,subgroup-basic,subgroup-arithmetic (default: the "
                  "Vulkan device present; docs/vulkan.md)");
  cmd->add_option("--cuda-arch", options->cudaArch,
                  "CUDA architecture: sm_80 (default; newer GPUs JIT its PTX), "
                  "sm_89, sm_90")
      ->check(CLI::IsMember({"sm_80", "sm_89", "sm_90"}));
  cmd->add_flag("--require-ptxas", options->requirePtxas,
                "fail when ptxas is missing instead of leaving the PTX "
                "unchecked");
  cmd->add_option("--workgroup-size", options->workgroupSize,
                  "GPU targets: threads per workgroup (multiple of 32)")
      ->check(CLI::Range(32, 1024));
  cmd->add_flag("--tiled-prefill", options->tiledPrefill,
                "Vulkan: linear kernels stage 32-token tiles in workgroup "
                "memory for prefill (CUDA always does, for tensor cores)");
  cmd->add_option("--max-prefill-tokens", options->import.maxPrefillTokens,
                  "tokens per @prefill call (longer prompts run in chunks)")
      ->check(CLI::Range(1, 8192));
  cmd->add_option("--max-seqs", options->import.maxSequences,
                  "sequences per call (the decode batch)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--ctx", options->import.contextLength,
                  "context length (default: the model's, at most 4096)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--compile-to", options->compileTo,
                  "stop after this phase and print its IR: " +
                      CLI::detail::join(compilePhases(), ", "));
  cmd->add_option("--dump-after", options->dumpAfter,
                  "print the IR after this pass (e.g. llmc-plan-memory) to "
                  "stderr; repeatable");
  cmd->add_option("--save-temps", options->saveTemps,
                  "write the IR of every phase, LLVM IR and assembly here");
  cmd->add_flag("--no-weights", options->noWeights,
                "do not write weights.bin (run `llmc pack MODEL OUT` where the "
                "artifact runs)");
  cmd->add_option("--threads", options->threads,
                  "threads for packing weights (default: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->callback([options] {
    if (options->output.empty() && options->compileTo.empty())
      return fail("compile needs -o OUT (or --compile-to PHASE)");
    if (llvm::Error err = compileModel(*options, std::cout))
      fail(llvm::toString(std::move(err)));
  });
}

} // namespace llmc::cli
