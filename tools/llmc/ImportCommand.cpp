//===- ImportCommand.cpp - llmc import MODEL [-o FILE] ------------------------===//

#include "tools/llmc/Commands.h"

#include "compiler/driver/Registration.h"
#include "compiler/frontend/Importer.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>
#include <memory>

namespace llmc::cli {

namespace {
struct ImportArgs {
  std::string model;
  std::string output;
  bool summaryOnly = false;
  ImportOptions options;
};

void runImport(const ImportArgs &args) {
  auto source = ModelSource::open(args.model);
  if (!source.ok())
    return fail(source.message());
  std::string summary = describeModel(**source);
  if (args.summaryOnly) {
    std::cout << summary;
    return;
  }
  mlir::DialectRegistry registry;
  registerLLMCDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importModel(context, **source, args.options);
  if (failed(mlir::verify(*module)))
    return fail(args.model + ": the imported module does not verify");
  if (args.output.empty()) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    llvm::outs().flush();
    std::cerr << summary;
    return;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(args.output, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail(args.output + ": " + ec.message());
  module->print(os);
  std::cout << summary << "wrote " << args.output << "\n";
}
} // namespace

void addImportCommand(CLI::App &app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App *cmd = app.add_subcommand(
      "import", "Import a Hugging Face folder or GGUF file as an llm module");
  cmd->add_option("model", args->model, "model folder or .gguf file")->required();
  cmd->add_option("-o,--output", args->output,
                  "write the module here (default: stdout; summary to stderr)");
  cmd->add_flag("--summary", args->summaryOnly, "print only the summary");
  cmd->add_option("--max-prefill-tokens", args->options.maxPrefillTokens,
                  "tokens per @prefill call")
      ->check(CLI::Range(1, 8192));
  cmd->add_option("--max-seqs", args->options.maxSequences,
                  "sequences per call")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--ctx", args->options.contextLength,
                  "context length (default: the model's, at most 4096)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->callback([args] { runImport(*args); });
}

} // namespace llmc::cli
