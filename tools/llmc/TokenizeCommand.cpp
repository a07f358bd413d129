//===- TokenizeCommand.cpp - llmc tokenize ------------------------------------===//
// Placeholder registration; the tokenizer work fills in the verb.

#include "tools/llmc/Commands.h"

namespace llmc::cli {
void addTokenizeCommand(CLI::App &app) { (void)app; }
} // namespace llmc::cli
