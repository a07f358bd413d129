//===- ApproximateMath.cpp - vectorizable exp/tanh/erf/log ---------------------===//

#include "codegen/cpu/CPUPasses.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llmc::cpu {
#define GEN_PASS_DEF_CPUAPPROXIMATEMATH
#include "codegen/cpu/CPUPasses.h.inc"
} // namespace llmc::cpu

using namespace mlir;

namespace llmc::cpu {
namespace {
struct CPUApproximateMathPass
    : public impl::CPUApproximateMathBase<CPUApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
} // namespace llmc::cpu
