//===- Registration.h - dialects and passes llmc works with -----------------===//

#ifndef LLMC_COMPILER_DRIVER_REGISTRATION_H
#define LLMC_COMPILER_DRIVER_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace llmc {
/// llm plus the upstream dialects llmc lowers through, with the interface
/// models their lowerings and serializers need.
void registerLLMCDialects(mlir::DialectRegistry &registry);
/// Every llmc pass, and the upstream passes and pipelines lit tests use.
void registerAllLLMCPasses();
} // namespace llmc

#endif // LLMC_COMPILER_DRIVER_REGISTRATION_H
