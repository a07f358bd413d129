//===- FuseSiblingLinears.cpp - linears on the same input in one region -------===//

#include "passes/Passes.h"
#include "passes/RegionUtils.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"

#include <map>

namespace llmc {
#define GEN_PASS_DEF_FUSESIBLINGLINEARS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
/// The input of a region that holds exactly one linear, or null.
Value linearInput(DispatchRegionOp region) {
  Block &body = region.getBody().front();
  if (!llvm::hasSingleElement(body.without_terminator()))
    return {};
  auto linear = dyn_cast<LinearOp>(body.front());
  if (!linear)
    return {};
  auto arg = dyn_cast<BlockArgument>(linear.getInput());
  return arg ? region.getInputs()[arg.getArgNumber()] : Value();
}

struct FuseSiblingLinearsPass
    : public llmc::impl::FuseSiblingLinearsBase<FuseSiblingLinearsPass> {
  void runOnOperation() override {
    for (func::FuncOp entry : getEntries(getOperation())) {
      // Group single-linear regions by their input, in block order.
      llvm::MapVector<Value, SmallVector<DispatchRegionOp>> groups;
      for (auto region : entry.getBody().front().getOps<DispatchRegionOp>())
        if (Value input = linearInput(region))
          groups[input].push_back(region);
      for (auto &[input, regions] : groups) {
        DispatchRegionOp merged = regions.front();
        for (size_t i = 1; i < regions.size(); ++i) {
          FailureOr<DispatchRegionOp> next = mergeRegions(merged, regions[i]);
          if (succeeded(next))
            merged = *next;
        }
      }
    }
  }
};
} // namespace
