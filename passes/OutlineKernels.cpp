//===- OutlineKernels.cpp - dispatch regions into kernel functions ------------===//

#include "passes/Passes.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/raw_ostream.h"

namespace llmc {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
/// The symbolic shape of a value: its defining op's llm.shape, or its static
/// shape as constants.
Attribute shapeOf(Value value, unsigned numSymbols) {
  if (Operation *def = value.getDefiningOp()) {
    if (auto region = dyn_cast<DispatchRegionOp>(def)) {
      // A multi-result region keeps each result's shape on its yield operand.
      Block &body = region.getBody().front();
      Value inner = body.getTerminator()->getOperand(
          cast<OpResult>(value).getResultNumber());
      if (Operation *innerDef = inner.getDefiningOp())
        if (Attribute shape = innerDef->getAttr(kShapeAttrName))
          return shape;
    }
    if (Attribute shape = def->getAttr(kShapeAttrName))
      return shape;
  }
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return {};
  SmallVector<AffineExpr> sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(getAffineConstantExpr(d, value.getContext()));
  return AffineMapAttr::get(
      AffineMap::get(0, numSymbols, sizes, value.getContext()));
}

/// A short name for the kernel from its first compute op: k3_rms_norm.
std::string kernelBaseName(Block &body) {
  for (Operation &op : body)
    if (op.getDialect() && !isa<YieldOp>(op))
      return op.getName().stripDialect().str();
  return "kernel";
}

/// Text that is equal for kernels that are identical up to their name.
std::string fingerprint(func::FuncOp kernel) {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  flags.printGenericOpForm().useLocalScope().elideLargeElementsAttrs(0);
  kernel->print(os, flags);
  // Drop the symbol name from the printed function header.
  std::string name = ("\"" + kernel.getSymName() + "\"").str();
  for (size_t pos; (pos = text.find(name)) != std::string::npos;)
    text.erase(pos, name.size());
  return text;
}

struct OutlineKernelsPass
    : public llmc::impl::OutlineKernelsBase<OutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    unsigned numSymbols = 0;
    if (auto symbols = module->getAttrOfType<ArrayAttr>(kSymbolsAttrName))
      numSymbols = symbols.size();
    SymbolTable symbolTable(module);
    std::map<std::string, func::FuncOp> byFingerprint;
    unsigned counter = 0;

    SmallVector<DispatchRegionOp> regions;
    for (func::FuncOp entry : getEntries(module))
      entry.walk([&](DispatchRegionOp r) { regions.push_back(r); });

    OpBuilder b(module.getContext());
    for (DispatchRegionOp region : regions) {
      Block &body = region.getBody().front();
      // The cache layer moves to the dispatch so all layers share a kernel.
      std::optional<int64_t> kvLayer;
      for (Operation &op : body) {
        if (auto append = dyn_cast<KVAppendOp>(op)) {
          kvLayer = append.getLayer();
          append.setLayer(0);
        } else if (auto attention = dyn_cast<AttentionOp>(op)) {
          kvLayer = attention.getLayer();
          attention.setLayer(0);
        }
      }

      b.setInsertionPointToEnd(module.getBody());
      auto type = FunctionType::get(module.getContext(),
                                    region.getInputs().getTypes(),
                                    region.getResultTypes());
      std::string name =
          "k" + std::to_string(counter) + "_" + kernelBaseName(body);
      auto kernel = b.create<func::FuncOp>(region.getLoc(), name, type);
      kernel->setAttr("llm.kernel", b.getUnitAttr());
      kernel.setPrivate();
      for (auto [i, input] : llvm::enumerate(region.getInputs()))
        if (Attribute shape = shapeOf(input, numSymbols))
          kernel.setArgAttr(i, kShapeAttrName, shape);
      Block &yieldBlock = region.getBody().front();
      for (unsigned i = 0; i < region.getNumResults(); ++i)
        if (Attribute shape =
                shapeOf(yieldBlock.getTerminator()->getOperand(i), numSymbols))
          kernel.setResultAttr(i, kShapeAttrName, shape);
      kernel.getBody().takeBody(region.getBody());
      Block &kernelBody = kernel.getBody().front();
      Operation *yield = kernelBody.getTerminator();
      b.setInsertionPoint(yield);
      b.create<func::ReturnOp>(yield->getLoc(), yield->getOperands());
      yield->erase();

      std::string key = fingerprint(kernel);
      auto [it, inserted] = byFingerprint.emplace(key, kernel);
      if (!inserted) {
        kernel.erase();
        kernel = it->second;
      } else {
        symbolTable.insert(kernel);
        ++counter;
      }

      b.setInsertionPoint(region);
      auto dispatch = b.create<DispatchOp>(
          region.getLoc(), region.getResultTypes(), kernel.getSymName(),
          region.getInputs(),
          kvLayer ? b.getI64IntegerAttr(*kvLayer) : IntegerAttr());
      if (Attribute shape = region->getAttr(kShapeAttrName))
        dispatch->setAttr(kShapeAttrName, shape);
      region.replaceAllUsesWith(dispatch.getResults());
      region.erase();
    }
  }
};
} // namespace
