//===- QuantizeActivations.cpp - int8 inputs for block-quantized linears ------===//

#include "passes/Passes.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
struct QuantizeActivationsPass
    : public llmc::impl::QuantizeActivationsBase<QuantizeActivationsPass> {
  void runOnOperation() override {
    for (func::FuncOp entry : getEntries(getOperation())) {
      DenseMap<Value, Value> quantized;
      entry.walk([&](LinearOp linear) {
        WeightFormat format = linear.getWeight().getType().getFormat();
        if (format != WeightFormat::q8_0 && format != WeightFormat::q4_0)
          return;
        Value input = linear.getInput();
        auto type = cast<RankedTensorType>(input.getType());
        if (!type.getElementType().isF32())
          return;
        Value &q = quantized[input];
        if (!q) {
          OpBuilder b(linear);
          if (Operation *def = input.getDefiningOp())
            b.setInsertionPointAfter(def);
          else
            b.setInsertionPointToStart(&entry.getBody().front());
          SmallVector<int64_t> shape(type.getShape());
          shape.back() = QuantizeActOp::rowBytes(shape.back());
          auto op = b.create<QuantizeActOp>(
              linear.getLoc(),
              RankedTensorType::get(shape, b.getIntegerType(8)), input);
          // Keep the symbolic sizes: the same rows, wider.
          if (Operation *def = input.getDefiningOp())
            if (auto s = def->getAttrOfType<AffineMapAttr>(kShapeAttrName)) {
              AffineMap map = s.getValue();
              SmallVector<AffineExpr> sizes(map.getResults());
              sizes.back() = getAffineConstantExpr(shape.back(), &getContext());
              op->setAttr(kShapeAttrName,
                          AffineMapAttr::get(AffineMap::get(
                              0, map.getNumSymbols(), sizes, &getContext())));
            }
          q = op.getResult();
        }
        linear.getInputMutable().assign(q);
      });
    }
  }
};
} // namespace
