//===- ProgramSchema.h - the program format shared by compiler and runtime ------===//

#ifndef LLMC_RUNTIME_ARTIFACT_PROGRAMSCHEMA_H
#define LLMC_RUNTIME_ARTIFACT_PROGRAMSCHEMA_H

#include "runtime/artifact/program_generated.h"

namespace llmc {
/// Version of program.fbs; the runtime refuses artifacts of another version.
inline constexpr uint32_t kProgramSchemaVersion = 1;
/// Symbols model.so exports: the program bytes and their size.
inline constexpr const char *kProgramSymbol = "llmc_program";
inline constexpr const char *kProgramSizeSymbol = "llmc_program_size";

/// Postfix expression opcodes (see program.fbs).
enum class ExprOp : int64_t {
  Constant = 0, Symbol = 1, Add = 2, Mul = 3, FloorDiv = 4, CeilDiv = 5,
  Mod = 6,
};
} // namespace llmc

#endif // LLMC_RUNTIME_ARTIFACT_PROGRAMSCHEMA_H
