//===- FormDispatchRegions.cpp - group ops into dispatch regions --------------===//

#include "passes/Passes.h"
#include "passes/RegionUtils.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace llmc {
#define GEN_PASS_DEF_FORMDISPATCHREGIONS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
/// Ops that do work; reshapes, weight references and step inputs do not.
bool isComputeOp(Operation *op) {
  return isa<EmbeddingOp, RMSNormOp, LinearOp, RopeOp, KVAppendOp,
             AttentionOp, SiluOp, GeluOp, AddOp, MulOp, SoftmaxOp, ArgmaxOp,
             SelectRowsOp, TransposeOp, QuantizeActOp>(op);
}

bool isElementwise(Operation *op) {
  return isa<SiluOp, GeluOp, AddOp, MulOp>(op);
}

struct FormDispatchRegionsPass
    : public llmc::impl::FormDispatchRegionsBase<FormDispatchRegionsPass> {
  void runOnOperation() override {
    for (func::FuncOp entry : getEntries(getOperation())) {
      // Group: an elementwise op joins its elementwise producer's group when
      // it is that producer's only user.
      SmallVector<SmallVector<Operation *>> groups;
      DenseMap<Operation *, size_t> groupOf;
      for (Operation &op : entry.getBody().front()) {
        if (!isComputeOp(&op))
          continue;
        std::optional<size_t> join;
        if (isElementwise(&op))
          for (Value operand : op.getOperands())
            if (Operation *producer = operand.getDefiningOp())
              if (isElementwise(producer) && producer->hasOneUse() &&
                  groupOf.count(producer))
                join = groupOf[producer];
        if (join) {
          groups[*join].push_back(&op);
          groupOf[&op] = *join;
        } else {
          groupOf[&op] = groups.size();
          groups.push_back({&op});
        }
      }
      for (auto &group : groups)
        wrapInRegion(group);
    }
  }
};
} // namespace
