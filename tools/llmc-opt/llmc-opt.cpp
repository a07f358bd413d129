//===- llmc-opt.cpp - mlir-opt with llmc's dialects and passes --------------===//

#include "compiler/driver/Registration.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  llmc::registerLLMCDialects(registry);
  llmc::registerAllLLMCPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "llmc optimizer driver\n", registry));
}
