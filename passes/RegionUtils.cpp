//===- RegionUtils.cpp - forming, dissolving and merging dispatch regions -------===//

#include "passes/RegionUtils.h"
#include "passes/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace llmc::llm;

namespace llmc {

DispatchRegionOp wrapInRegion(ArrayRef<Operation *> ops) {
  Operation *last = ops.back();
  llvm::SetVector<Operation *> inRegion(ops.begin(), ops.end());
  llvm::SetVector<Value> inputs;
  for (Operation *op : ops)
    for (Value operand : op->getOperands())
      if (!inRegion.contains(operand.getDefiningOp()))
        inputs.insert(operand);
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
  if (results.size() == 1)
    if (Attribute shape = results[0].getDefiningOp()->getAttr(kShapeAttrName))
      region->setAttr(kShapeAttrName, shape);
  for (auto [r, n] : llvm::zip(results, region.getResults()))
    r.replaceAllUsesWith(n);
  for (Operation *op : llvm::reverse(ops))
    op->erase();
  return region;
}

SmallVector<Operation *> dissolveRegion(DispatchRegionOp region) {
  Block &body = region.getBody().front();
  for (auto [arg, input] : llvm::zip(body.getArguments(), region.getInputs()))
    arg.replaceAllUsesWith(input);
  auto yield = cast<YieldOp>(body.getTerminator());
  for (auto [result, value] : llvm::zip(region.getResults(), yield.getValues()))
    result.replaceAllUsesWith(value);
  SmallVector<Operation *> ops;
  for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
    op.moveBefore(region);
    ops.push_back(&op);
  }
  region.erase();
  return ops;
}

Value throughReshapes(Value value) {
  while (auto reshape = value.getDefiningOp<ReshapeOp>())
    value = reshape.getInput();
  return value;
}

Operation *regionRoot(DispatchRegionOp region) {
  for (Operation &op : region.getBody().front().without_terminator())
    if (!isa<ReshapeOp, SiluOp, GeluOp, AddOp, MulOp>(op))
      return &op;
  return nullptr;
}

FailureOr<DispatchRegionOp> mergeRegions(DispatchRegionOp producer,
                                         DispatchRegionOp consumer) {
  if (producer->getBlock() != consumer->getBlock() ||
      !producer->isBeforeInBlock(consumer))
    return failure();
  // Reshapes of the producer's results that the consumer reads come along.
  SmallVector<Operation *> reshapes;
  for (Value input : consumer.getInputs()) {
    SmallVector<Operation *> chain;
    Value v = input;
    while (auto reshape = v.getDefiningOp<ReshapeOp>()) {
      chain.push_back(reshape);
      v = reshape.getInput();
    }
    if (v.getDefiningOp() == producer.getOperation())
      reshapes.append(chain.rbegin(), chain.rend());
  }
  llvm::SetVector<Operation *> pulled(reshapes.begin(), reshapes.end());
  // Every other op between the two must not need the producer's values: the
  // merged region is placed where the consumer is. Reshapes of them (views)
  // whose users all come later move below the consumer instead.
  SmallVector<Operation *> moveAfter;
  llvm::SmallPtrSet<Operation *, 8> dependsOnProducer = {producer};
  for (Operation *op = producer->getNextNode(); op != consumer;
       op = op->getNextNode()) {
    if (pulled.contains(op))
      continue;
    bool uses = llvm::any_of(op->getOperands(), [&](Value v) {
      return dependsOnProducer.contains(v.getDefiningOp());
    });
    if (!uses)
      continue;
    if (!isa<ReshapeOp>(op) || llvm::any_of(op->getUsers(), [&](Operation *u) {
          return u->getBlock() == consumer->getBlock() &&
                 u->isBeforeInBlock(consumer) && !isa<ReshapeOp>(u);
        }))
      return failure();
    dependsOnProducer.insert(op);
    moveAfter.push_back(op);
  }
  for (Operation *op : llvm::reverse(moveAfter))
    op->moveAfter(consumer);
  SmallVector<Operation *> ops = dissolveRegion(producer);
  for (Operation *op = ops.empty() ? nullptr : ops.back()->getNextNode();
       op && op != consumer.getOperation(); op = op->getNextNode())
    if (pulled.contains(op))
      ops.push_back(op);
  SmallVector<Operation *> consumerOps = dissolveRegion(consumer);
  ops.append(consumerOps.begin(), consumerOps.end());
  // Ops from the producer now precede the reshapes: keep block order.
  llvm::sort(ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return wrapInRegion(ops);
}

} // namespace llmc
