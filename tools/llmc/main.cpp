//===- main.cpp - the llmc command line -------------------------------------===//

#include "tools/llmc/Commands.h"

#include "llmc/llmc.h"

#include <cstdio>
#include <iostream>

namespace llmc::cli {
int &exitCode() {
  static int code = 0;
  return code;
}
void fail(const std::string &message) {
  std::cerr << "llmc: " << message << "\n";
  exitCode() = 1;
}
} // namespace llmc::cli

int main(int argc, char **argv) {
  CLI::App app{"llmc: an ahead-of-time compiler for large language models"};
  app.set_version_flag("--version",
                       std::string("llmc ") + llmc_version_string() +
                           " (runtime API " +
                           std::to_string(llmc_api_version()) +
#ifdef LLMC_HAVE_COMPILER
                           ", compiler: MLIR 19"
#else
                           ", runtime only"
#endif
                           + ")");
  app.require_subcommand(0, 1);

  llmc::cli::addRunCommand(app);
  llmc::cli::addChatCommand(app);
  llmc::cli::addInspectCommand(app);
  llmc::cli::addBenchCommand(app);
  llmc::cli::addPerplexityCommand(app);
  llmc::cli::addPackCommand(app);
  llmc::cli::addTokenizeCommand(app);
  llmc::cli::addDevicesCommand(app);
#ifdef LLMC_HAVE_COMPILER
  llmc::cli::addImportCommand(app);
  llmc::cli::addCompileCommand(app);
#endif

  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  return llmc::cli::exitCode();
}
