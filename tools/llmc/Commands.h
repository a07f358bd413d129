//===- Commands.h - the verbs of the llmc command line ----------------------===//
//
// Each verb lives in its own file and adds a CLI11 subcommand. Run-side verbs
// use only the runtime; compiler verbs are built when LLMC_HAVE_COMPILER is set.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TOOLS_LLMC_COMMANDS_H
#define LLMC_TOOLS_LLMC_COMMANDS_H

#include "runtime/sampler/Sampler.h"

#include <CLI/CLI.hpp>

namespace llmc::cli {

/// Set by a verb's callback; main returns it.
int &exitCode();
/// Prints "llmc: <message>" to stderr and sets a non-zero exit code.
void fail(const std::string &message);

/// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n,
/// --seed (run and chat).
void addSamplingOptions(CLI::App &cmd, SamplerOptions &sampling);

// Run-side verbs (runtime only).
void addTokenizeCommand(CLI::App &app);
void addRunCommand(CLI::App &app);
void addChatCommand(CLI::App &app);
void addInspectCommand(CLI::App &app);
void addBenchCommand(CLI::App &app);
void addPerplexityCommand(CLI::App &app);
void addPackCommand(CLI::App &app);
void addDevicesCommand(CLI::App &app);

#ifdef LLMC_HAVE_COMPILER
// Compiler verbs.
void addImportCommand(CLI::App &app);
void addCompileCommand(CLI::App &app);
#endif

} // namespace llmc::cli

#endif // LLMC_TOOLS_LLMC_COMMANDS_H
