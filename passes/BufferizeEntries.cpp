//===- BufferizeEntries.cpp - entries on buffers, dispatches as launches ------===//

#include "passes/Passes.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_BUFFERIZEENTRIES
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
MemRefType bufferType(Type tensorType) {
  auto t = cast<RankedTensorType>(tensorType);
  return MemRefType::get(t.getShape(), t.getElementType());
}

class EntryBufferizer {
public:
  EntryBufferizer(func::FuncOp entry, unsigned numSymbols)
      : entry(entry), b(entry.getContext()), numSymbols(numSymbols) {}

  LogicalResult run() {
    Block &block = entry.getBody().front();
    // Symbol values by their position in the module's symbol list.
    SmallVector<StringRef> names;
    if (auto symbols = entry->getParentOfType<ModuleOp>()->getAttrOfType<ArrayAttr>(
            kSymbolsAttrName))
      for (Attribute a : symbols)
        names.push_back(cast<StringAttr>(a).getValue());
    symbolValues.assign(numSymbols, Value());
    for (BlockArgument arg : entry.getArguments())
      if (auto symbol = entry.getArgAttrOfType<SymbolAttr>(
              arg.getArgNumber(), LLMDialect::kSymbolAttrName))
        for (unsigned i = 0; i < names.size(); ++i)
          if (names[i] == symbol.getName())
            symbolValues[i] = arg;

    SmallVector<Operation *> old;
    for (Operation &op : block)
      old.push_back(&op);
    for (Operation *op : old) {
      b.setInsertionPoint(op);
      if (failed(convert(op)))
        return failure();
    }
    // The old ops are dead now; weight references stay (launches use them).
    for (Operation *op : llvm::reverse(old))
      if (!isa<WeightRefOp>(op))
        op->erase();
    SmallVector<Type> results;
    for (Value v : block.getTerminator()->getOperands())
      results.push_back(v.getType());
    entry.setType(FunctionType::get(entry.getContext(),
                                    entry.getArgumentTypes(), results));
    return success();
  }

private:
  Value lookup(Value v) {
    auto it = buffers.find(v);
    return it == buffers.end() ? v : it->second;
  }

  /// Dynamic sizes of a tensor as index values, from its llm.shape.
  FailureOr<SmallVector<Value>> dynamicSizes(Operation *op, Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    SmallVector<Value> sizes;
    if (type.hasStaticShape())
      return sizes;
    auto shape = op->getAttrOfType<AffineMapAttr>(kShapeAttrName);
    if (!shape)
      return op->emitOpError() << "has no llm.shape; run "
                                  "--llmc-symbolic-shapes first";
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (!type.isDynamicDim(i))
        continue;
      AffineMap map = shape.getValue().getSubMap({static_cast<unsigned>(i)});
      if (auto sym = dyn_cast<AffineSymbolExpr>(map.getResult(0))) {
        Value v = symbolValues[sym.getPosition()];
        if (!v)
          return op->emitOpError() << "uses a symbol this entry does not take";
        sizes.push_back(v);
        continue;
      }
      SmallVector<Value> operands;
      for (Value v : symbolValues)
        operands.push_back(v);
      sizes.push_back(
          b.create<affine::AffineApplyOp>(op->getLoc(), map, operands));
    }
    return sizes;
  }

  LogicalResult convert(Operation *op) {
    Location loc = op->getLoc();
    if (auto input = dyn_cast<StepInputOp>(op)) {
      auto view = b.create<StepBufferOp>(loc, bufferType(input.getType()),
                                         input.getField(),
                                         input.getDynamicSizes());
      view->setAttr(kShapeAttrName, input->getAttr(kShapeAttrName));
      buffers[input.getResult()] = view;
      return success();
    }
    if (auto reshape = dyn_cast<ReshapeOp>(op))
      return convertReshape(reshape);
    if (auto dispatch = dyn_cast<DispatchOp>(op)) {
      SmallVector<Value> inputs, outputs;
      for (Value v : dispatch.getInputs())
        inputs.push_back(lookup(v));
      for (Value r : dispatch.getResults()) {
        FailureOr<SmallVector<Value>> sizes = dynamicSizes(op, r);
        if (failed(sizes))
          return failure();
        auto alloc = b.create<memref::AllocOp>(loc, bufferType(r.getType()),
                                               *sizes);
        outputs.push_back(alloc);
        buffers[r] = alloc;
      }
      b.create<LaunchOp>(loc, dispatch.getKernelAttr(), inputs, outputs,
                         dispatch.getKvLayerAttr());
      return success();
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      SmallVector<Value> values;
      for (Value v : ret.getOperands())
        values.push_back(lookup(v));
      b.create<func::ReturnOp>(loc, values);
      return success();
    }
    if (isa<WeightRefOp>(op))
      return success();
    return op->emitOpError() << "cannot be bufferized; expected dispatches, "
                                "reshapes and step inputs only";
  }

  /// [n, a*b] <-> [n, a, b]: collapse the trailing dims, then expand them.
  LogicalResult convertReshape(ReshapeOp reshape) {
    Location loc = reshape.getLoc();
    Value source = lookup(reshape.getInput());
    auto from = reshape.getInput().getType();
    auto to = reshape.getResult().getType();
    bool dynamic = from.isDynamicDim(0);
    int64_t lead = dynamic ? 1 : 0;
    Value flat = source;
    if (from.getRank() != lead + 1) {
      SmallVector<ReassociationIndices> groups;
      if (dynamic)
        groups.push_back({0});
      ReassociationIndices rest;
      for (int64_t i = lead; i < from.getRank(); ++i)
        rest.push_back(i);
      groups.push_back(rest);
      flat = b.create<memref::CollapseShapeOp>(loc, source, groups);
    }
    Value result = flat;
    if (to.getRank() != lead + 1) {
      SmallVector<ReassociationIndices> groups;
      if (dynamic)
        groups.push_back({0});
      ReassociationIndices rest;
      for (int64_t i = lead; i < to.getRank(); ++i)
        rest.push_back(i);
      groups.push_back(rest);
      SmallVector<OpFoldResult> outputShape;
      for (int64_t i = 0; i < to.getRank(); ++i)
        outputShape.push_back(
            to.isDynamicDim(i)
                ? OpFoldResult(b.create<memref::DimOp>(loc, flat, 0).getResult())
                : OpFoldResult(b.getIndexAttr(to.getDimSize(i))));
      result = b.create<memref::ExpandShapeOp>(loc, bufferType(to), flat,
                                               groups, outputShape);
    }
    buffers[reshape.getResult()] = result;
    return success();
  }

  func::FuncOp entry;
  OpBuilder b;
  unsigned numSymbols;
  SmallVector<Value> symbolValues;
  DenseMap<Value, Value> buffers;
};

struct BufferizeEntriesPass
    : public llmc::impl::BufferizeEntriesBase<BufferizeEntriesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    unsigned numSymbols = 0;
    if (auto symbols = module->getAttrOfType<ArrayAttr>(kSymbolsAttrName))
      numSymbols = symbols.size();
    for (func::FuncOp entry : getEntries(module)) {
      EntryBufferizer bufferizer(entry, numSymbols);
      if (failed(bufferizer.run()))
        return signalPassFailure();
    }
  }
};
} // namespace
