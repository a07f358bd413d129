//===- Importer.h - a model file into an llm module ---------------------------===//

#ifndef LLMC_COMPILER_FRONTEND_IMPORTER_H
#define LLMC_COMPILER_FRONTEND_IMPORTER_H

#include "runtime/formats/ModelSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace llmc {

struct ImportOptions {
  /// Largest number of tokens one @prefill call takes (longer prompts are fed
  /// in chunks); also the most logits rows it returns.
  int64_t maxPrefillTokens = 128;
  /// Most sequences one call serves (the decode batch).
  int64_t maxSequences = 4;
  /// Tokens per KV cache block.
  int64_t kvBlockSize = 16;
  /// Context length; 0 takes the model's (capped at 4096 to bound the cache).
  int64_t contextLength = 0;
};

/// Builds the llm module for a model: the weight table (each weight in its
/// source format, referring to the file's tensor names), @prefill and @decode.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              const ModelSource &source,
                                              const ImportOptions &options);

} // namespace llmc

#endif // LLMC_COMPILER_FRONTEND_IMPORTER_H
