//===- FuseEpilogues.cpp - consumers into the kernel of their producer --------===//

#include "passes/Passes.h"
#include "passes/RegionUtils.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"

namespace llmc {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
bool hasLinear(DispatchRegionOp region) {
  return !region.getBody().front().getOps<LinearOp>().empty();
}

/// The region (through reshapes) that produces `value`, if any.
DispatchRegionOp producerOf(Value value) {
  return throughReshapes(value).getDefiningOp<DispatchRegionOp>();
}

/// Whether `consumer` may join `producer`: its root op is an epilogue the
/// producer's kind supports.
bool isEpilogueOf(DispatchRegionOp consumer, DispatchRegionOp producer) {
  Operation *root = regionRoot(consumer);
  Operation *producerRoot = regionRoot(producer);
  bool linear = hasLinear(producer);
  Block &body = consumer.getBody().front();
  if (!root) {
    // An elementwise chain: a residual add or SwiGLU's product.
    return linear;
  }
  if (isa<RopeOp, KVAppendOp>(root))
    return linear && llvm::hasSingleElement(body.without_terminator());
  if (isa<QuantizeActOp>(root)) {
    // Attention quantizes per (token, head): heads must hold whole blocks.
    if (auto attention = dyn_cast_or_null<AttentionOp>(producerRoot))
      return attention.getQuery().getType().getDimSize(2) % 32 == 0;
    return linear || isa_and_nonnull<RMSNormOp>(producerRoot) ||
           (!producerRoot && !linear);
  }
  if (isa<RMSNormOp>(root))
    // Residual add + rms_norm, when the add is its own region.
    return !producerRoot && !linear;
  return false;
}

/// Tensors the consumer reads must come from the producer or from outside
/// both kernels (weights, step inputs, the residual stream...).
bool readsOnlyFrom(DispatchRegionOp consumer, DispatchRegionOp producer) {
  for (Value input : consumer.getInputs()) {
    if (!isa<RankedTensorType>(input.getType()))
      continue;
    DispatchRegionOp from = producerOf(input);
    if (from && from != producer && producer->isBeforeInBlock(from))
      return false;
  }
  return true;
}

struct FuseEpiloguesPass
    : public llmc::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  void runOnOperation() override {
    for (func::FuncOp entry : getEntries(getOperation())) {
      bool changed = true;
      while (changed) {
        changed = false;
        for (auto consumer :
             llvm::make_early_inc_range(entry.getBody().front().getOps<DispatchRegionOp>())) {
          DispatchRegionOp producer;
          for (Value input : consumer.getInputs()) {
            DispatchRegionOp p = producerOf(input);
            if (p && (!producer || producer->isBeforeInBlock(p)))
              producer = p; // the latest producer among its inputs
          }
          if (!producer || !isEpilogueOf(consumer, producer) ||
              !readsOnlyFrom(consumer, producer))
            continue;
          if (succeeded(mergeRegions(producer, consumer))) {
            changed = true;
            break; // the region list changed
          }
        }
      }
    }
  }
};
} // namespace
