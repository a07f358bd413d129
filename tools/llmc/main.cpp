//===- main.cpp - the llmc command line -------------------------------------===//

#include "llmc/llmc.h"

#include <CLI/CLI.hpp>

#include <cstdio>

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
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  return 0;
}
