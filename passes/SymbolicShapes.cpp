//===- SymbolicShapes.cpp - every dynamic size as a symbol expression ------===//
//
// One artifact serves any prompt length up to the maxima: every buffer is sized
// from the symbols' maxima and every kernel reads the actual sizes at run time.
// This pass makes that possible by writing down, for every tensor, its sizes as
// affine expressions of the entry symbols.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/TypeSwitch.h"

namespace llmc {
#define GEN_PASS_DEF_SYMBOLICSHAPES
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
using Sizes = SmallVector<AffineExpr>;

class ShapeInference {
public:
  ShapeInference(MLIRContext *ctx, ArrayRef<StringRef> symbolNames)
      : ctx(ctx), symbolNames(symbolNames) {}

  LogicalResult run(func::FuncOp entry) {
    for (BlockArgument arg : entry.getArguments()) {
      if (auto symbol = entry.getArgAttrOfType<SymbolAttr>(
              arg.getArgNumber(), LLMDialect::kSymbolAttrName)) {
        unsigned position = llvm::find(symbolNames, symbol.getName()) -
                            symbolNames.begin();
        symbolExprs[arg] = getAffineSymbolExpr(position, ctx);
      } else if (isa<RankedTensorType>(arg.getType())) {
        return entry.emitError()
               << "entry argument #" << arg.getArgNumber()
               << " is a tensor; per-step tensors must come from "
                  "llm.step_input";
      }
    }
    WalkResult result = entry.walk([&](Operation *op) {
      return failed(inferOp(op)) ? WalkResult::interrupt()
                                 : WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

private:
  AffineExpr constant(int64_t v) { return getAffineConstantExpr(v, ctx); }

  /// Sizes of a static-shaped type, or of the operand's recorded sizes.
  FailureOr<Sizes> sizesOf(Operation *user, Value value) {
    auto it = shapes.find(value);
    if (it != shapes.end())
      return it->second;
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (type && type.hasStaticShape()) {
      Sizes sizes;
      for (int64_t dim : type.getShape())
        sizes.push_back(constant(dim));
      return sizes;
    }
    user->emitOpError() << "uses a tensor whose sizes are unknown";
    return failure();
  }

  /// Static dims of `type` as constants, dynamic ones from `dynamic` in order.
  Sizes fromType(RankedTensorType type, ArrayRef<AffineExpr> dynamic) {
    Sizes sizes;
    unsigned next = 0;
    for (int64_t dim : type.getShape())
      sizes.push_back(ShapedType::isDynamic(dim) ? dynamic[next++]
                                                 : constant(dim));
    return sizes;
  }

  LogicalResult sameSizes(Operation *op, StringRef a, const Sizes &sa,
                          StringRef b, const Sizes &sb) {
    if (sa == sb)
      return success();
    return op->emitOpError() << a << " has sizes " << printSizes(sa) << " but "
                             << b << " has sizes " << printSizes(sb);
  }

  std::string printSizes(const Sizes &sizes) {
    return printSymbolicSizes(sizes, symbolNames);
  }

  LogicalResult inferOp(Operation *op) {
    if (op->getNumResults() == 0 ||
        llvm::none_of(op->getResultTypes(),
                      [](Type t) { return isa<RankedTensorType>(t); }))
      return success();
    if (op->getNumResults() != 1)
      return op->emitOpError() << "has several tensor results; symbolic "
                                  "shapes handles one";
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    FailureOr<Sizes> sizes =
        llvm::TypeSwitch<Operation *, FailureOr<Sizes>>(op)
            .Case<StepInputOp>([&](StepInputOp input) -> FailureOr<Sizes> {
              Sizes dynamic;
              for (Value size : input.getDynamicSizes()) {
                auto it = symbolExprs.find(size);
                if (it == symbolExprs.end()) {
                  input.emitOpError() << "has a dynamic size that is not an "
                                         "llm.symbol entry argument";
                  return failure();
                }
                dynamic.push_back(it->second);
              }
              return fromType(resultType, dynamic);
            })
            .Case<EmbeddingOp>([&](EmbeddingOp emb) -> FailureOr<Sizes> {
              FailureOr<Sizes> tokens = sizesOf(op, emb.getTokens());
              if (failed(tokens))
                return failure();
              return Sizes{(*tokens)[0],
                           constant(emb.getTable().getType().getShape()[1])};
            })
            .Case<LinearOp>([&](LinearOp linear) -> FailureOr<Sizes> {
              FailureOr<Sizes> input = sizesOf(op, linear.getInput());
              if (failed(input))
                return failure();
              Sizes out = *input;
              out.back() = constant(linear.getWeight().getType().getShape()[0]);
              return out;
            })
            .Case<QuantizeActOp>([&](QuantizeActOp q) -> FailureOr<Sizes> {
              FailureOr<Sizes> input = sizesOf(op, q.getInput());
              if (failed(input))
                return failure();
              input->back() = constant(resultType.getShape().back());
              return input;
            })
            .Case<RopeOp, AttentionOp>([&](Operation *) {
              return sizesOf(op, op->getOperand(0));
            })
            .Case<RMSNormOp, SiluOp, GeluOp, SoftmaxOp>(
                [&](Operation *) { return sizesOf(op, op->getOperand(0)); })
            .Case<AddOp, MulOp>([&](Operation *) -> FailureOr<Sizes> {
              FailureOr<Sizes> lhs = sizesOf(op, op->getOperand(0));
              FailureOr<Sizes> rhs = sizesOf(op, op->getOperand(1));
              if (failed(lhs) || failed(rhs) ||
                  failed(sameSizes(op, "lhs", *lhs, "rhs", *rhs)))
                return failure();
              return lhs;
            })
            .Case<ArgmaxOp>([&](ArgmaxOp argmax) -> FailureOr<Sizes> {
              FailureOr<Sizes> input = sizesOf(op, argmax.getInput());
              if (failed(input))
                return failure();
              input->pop_back();
              return input;
            })
            .Case<ReshapeOp>([&](ReshapeOp reshape) -> FailureOr<Sizes> {
              FailureOr<Sizes> input = sizesOf(op, reshape.getInput());
              if (failed(input))
                return failure();
              Sizes dynamic;
              if (resultType.isDynamicDim(0))
                dynamic.push_back((*input)[0]);
              return fromType(resultType, dynamic);
            })
            .Case<TransposeOp>([&](TransposeOp transpose) -> FailureOr<Sizes> {
              FailureOr<Sizes> input = sizesOf(op, transpose.getInput());
              if (failed(input))
                return failure();
              Sizes out;
              for (int64_t p : transpose.getPermutation())
                out.push_back((*input)[p]);
              return out;
            })
            .Case<SelectRowsOp>([&](SelectRowsOp select) -> FailureOr<Sizes> {
              FailureOr<Sizes> rows = sizesOf(op, select.getRows());
              FailureOr<Sizes> input = sizesOf(op, select.getInput());
              if (failed(rows) || failed(input))
                return failure();
              return Sizes{(*rows)[0], (*input)[1]};
            })
            .Default([&](Operation *) -> FailureOr<Sizes> {
              if (resultType.hasStaticShape())
                return fromType(resultType, {});
              op->emitOpError()
                  << "has a dynamic result whose sizes llmc cannot express";
              return failure();
            });
    if (failed(sizes))
      return failure();

    // Extra consistency checks between operands.
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      Sizes q = *sizes;
      FailureOr<Sizes> pos = sizesOf(op, attn.getPositions());
      if (failed(pos) ||
          failed(sameSizes(op, "positions", *pos, "query tokens", {q[0]})))
        return failure();
    }
    if (auto rope = dyn_cast<RopeOp>(op)) {
      FailureOr<Sizes> pos = sizesOf(op, rope.getPositions());
      if (failed(pos) || failed(sameSizes(op, "positions", *pos,
                                          "input tokens", {(*sizes)[0]})))
        return failure();
    }

    for (auto [i, expr] : llvm::enumerate(*sizes))
      if (!resultType.isDynamicDim(i) && expr != constant(resultType.getDimSize(i)))
        return op->emitOpError() << "static size " << resultType.getDimSize(i)
                                 << " of dimension " << i
                                 << " disagrees with the inferred "
                                 << printSizes(*sizes);
    shapes[op->getResult(0)] = *sizes;
    op->setAttr(kShapeAttrName,
                AffineMapAttr::get(AffineMap::get(0, symbolNames.size(),
                                                  *sizes, ctx)));
    return success();
  }

  MLIRContext *ctx;
  ArrayRef<StringRef> symbolNames;
  DenseMap<Value, AffineExpr> symbolExprs;
  DenseMap<Value, Sizes> shapes;
};

struct SymbolicShapesPass
    : public llmc::impl::SymbolicShapesBase<SymbolicShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entries = getEntries(module);

    SmallVector<StringRef> names;
    for (func::FuncOp entry : entries)
      for (unsigned i = 0; i < entry.getNumArguments(); ++i)
        if (auto symbol = entry.getArgAttrOfType<SymbolAttr>(
                i, LLMDialect::kSymbolAttrName))
          if (!llvm::is_contained(names, symbol.getName()))
            names.push_back(symbol.getName());

    Builder builder(module.getContext());
    SmallVector<Attribute> nameAttrs;
    for (StringRef name : names)
      nameAttrs.push_back(builder.getStringAttr(name));
    module->setAttr(kSymbolsAttrName, builder.getArrayAttr(nameAttrs));

    for (func::FuncOp entry : entries) {
      ShapeInference inference(module.getContext(), names);
      if (failed(inference.run(entry)))
        return signalPassFailure();
    }
  }
};
} // namespace
