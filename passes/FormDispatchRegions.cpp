//===- FormDispatchRegions.cpp - group ops into dispatch regions --------------===//

#include "passes/Passes.h"
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
             SelectRowsOp, TransposeOp>(op);
}

bool isElementwise(Operation *op) {
  return isa<SiluOp, GeluOp, AddOp, MulOp>(op);
}

/// Wraps `ops` (in block order) into one llm.dispatch_region.
void wrapInRegion(ArrayRef<Operation *> ops) {
  Operation *last = ops.back();
  llvm::SetVector<Operation *> inRegion(ops.begin(), ops.end());
  // Inputs: values used inside but defined outside, in first-use order.
  llvm::SetVector<Value> inputs;
  for (Operation *op : ops)
    for (Value operand : op->getOperands())
      if (!inRegion.contains(operand.getDefiningOp()))
        inputs.insert(operand);
  // Results: values defined inside and used outside.
  SmallVector<Value> results;
  for (Operation *op : ops)
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            return !inRegion.contains(user);
          }))
        results.push_back(result);

  OpBuilder b(last->getContext());
  b.setInsertionPointAfter(last);
  SmallVector<Type> resultTypes;
  for (Value r : results)
    resultTypes.push_back(r.getType());
  auto region = b.create<DispatchRegionOp>(last->getLoc(), resultTypes,
                                           inputs.getArrayRef());
  Block *body = new Block();
  region.getBody().push_back(body);
  IRMapping mapping;
  for (Value input : inputs)
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  b.setInsertionPointToStart(body);
  for (Operation *op : ops)
    b.clone(*op, mapping);
  SmallVector<Value> yielded;
  for (Value r : results)
    yielded.push_back(mapping.lookup(r));
  b.create<YieldOp>(last->getLoc(), yielded);
  // Shapes of the results travel with the region for later passes.
  if (results.size() == 1)
    if (Attribute shape = results[0].getDefiningOp()->getAttr(kShapeAttrName))
      region->setAttr(kShapeAttrName, shape);
  for (auto [r, n] : llvm::zip(results, region.getResults()))
    r.replaceAllUsesWith(n);
  for (Operation *op : llvm::reverse(ops))
    op->erase();
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
