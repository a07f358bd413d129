//===- Passes.td - llmc's passes, in pipeline order -------------------------===//
//
// One pass per file: passes/<Name>.cpp is registered as --llmc-<name> and
// tested by test/passes/<name>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES
#define LLMC_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Graph analysis
//===----------------------------------------------------------------------===//

def SymbolicShapes : Pass<"llmc-symbolic-shapes", "::mlir::ModuleOp"> {
  let summary = "Expresses every dynamic dimension in terms of the entry symbols";
  let description = [{
    Collects the symbols of all entries into the module attribute `llm.symbols`
    (names in order; expressions use s0, s1, ... in that order) and annotates
    every tensor result inside an entry with `llm.shape`, an affine map with no
    dimensions whose results are the tensor's sizes, e.g.
    `affine_map<()[s0, s1] -> (s0, 2048)>`. Fails with a precise message when a
    dynamic size does not come from a symbol or when two operands that must
    agree have different sizes.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect"];
}

#endif // LLMC_PASSES
