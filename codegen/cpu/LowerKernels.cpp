//===- LowerKernels.cpp - llm kernels to loops behind the dispatch ABI --------===//

#include "codegen/cpu/CPUPasses.h"
#include "codegen/cpu/Emitters.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace llmc::cpu {
#define GEN_PASS_DEF_CPULOWERKERNELS
#include "codegen/cpu/CPUPasses.h.inc"
} // namespace llmc::cpu

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

using codegen::rootOp;

namespace {
/// Keys/values of a cache binding are viewed with a block count this large;
/// the kernel only ever indexes the blocks its block tables name.
constexpr int64_t kViewBlocks = int64_t(1) << 24;
} // namespace

LogicalResult emitKernelBody(KernelEmitter &e, func::FuncOp kernel,
                             KernelViews &views) {
  Block &body = kernel.getBody().front();
  if (!body.getOps<LinearOp>().empty())
    return emitLinearFamily(e, kernel, views);
  if (!body.getOps<AttentionOp>().empty())
    return emitAttention(e, kernel, *body.getOps<AttentionOp>().begin(), views);
  if (!body.getOps<RMSNormOp>().empty())
    return emitNorm(e, kernel, views);
  Operation *root = rootOp(kernel);
  if (!root)
    return emitElementwise(e, kernel, views);
  if (root->getNextNode() != body.getTerminator())
    return kernel.emitOpError()
           << "has a region the CPU target cannot lower yet";
  return llvm::TypeSwitch<Operation *, LogicalResult>(root)
      .Case([&](EmbeddingOp op) { return emitEmbedding(e, op, views); })
      .Case([&](RopeOp op) { return emitRope(e, op, views); })
      .Case([&](KVAppendOp op) { return emitKVAppend(e, op, views); })
      .Case([&](SelectRowsOp op) { return emitSelectRows(e, op, views); })
      .Case([&](SoftmaxOp op) { return emitSoftmax(e, op, views); })
      .Case([&](ArgmaxOp op) { return emitArgmax(e, op, views); })
      .Case([&](QuantizeActOp op) { return emitQuantizeAct(e, op, views); })
      .Default([&](Operation *op) {
        return op->emitOpError() << "has no CPU lowering";
      });
}

namespace {
struct CPULowerKernelsPass
    : public impl::CPULowerKernelsBase<CPULowerKernelsPass> {
  using CPULowerKernelsBase::CPULowerKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    unsigned numSymbols = 0;
    if (auto symbols = module->getAttrOfType<ArrayAttr>("llm.symbols"))
      numSymbols = symbols.size();
    CPUOptions options;
    options.vectorWidth = vectorWidth;
    options.hasAVX512VNNI = vnni;
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("llm.kernel"))
        kernels.push_back(func);
    for (func::FuncOp kernel : kernels)
      if (failed(lower(kernel, numSymbols, options)))
        return signalPassFailure();
  }

  LogicalResult lower(func::FuncOp kernel, unsigned numSymbols,
                      const CPUOptions &options) {
    FailureOr<AffineMap> grid = codegen::planGrid(
        kernel, numSymbols, codegen::linearTileRows(kernel),
        kLinearTokensPerWorkgroup);
    if (failed(grid))
      return failure();
    MLIRContext *ctx = kernel.getContext();
    OpBuilder b(kernel);
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto i64 = b.getI64Type();
    auto abiType = FunctionType::get(ctx, {ptrType, i64, i64, i64}, {});
    Location loc = kernel.getLoc();
    auto abi = b.create<func::FuncOp>(loc, kernel.getSymName().str() + ".abi",
                                      abiType);
    Block *body = abi.addEntryBlock();
    b.setInsertionPointToStart(body);

    // Symbols come first: every dynamic size is an expression of them.
    SmallVector<Value> workgroup;
    for (unsigned i = 1; i <= 3; ++i)
      workgroup.push_back(b.create<arith::IndexCastOp>(
          loc, b.getIndexType(), body->getArgument(i)));
    KernelEmitter e(b, loc, body->getArgument(0), workgroup, {}, options);
    if (numSymbols > 0) {
      Value header = e.viewBinding(
          0, MemRefType::get({numSymbols}, b.getI32Type()), {});
      for (unsigned i = 0; i < numSymbols; ++i)
        e.symbols.push_back(e.toIndex(
            b.create<memref::LoadOp>(loc, header, ValueRange{e.idx(i)})));
    }

    KernelViews views;
    unsigned binding = 1;
    auto viewTensor = [&](Value v, RankedTensorType type,
                          AffineMapAttr shape) -> FailureOr<BoundValue> {
      SmallVector<Value> dynamic;
      Value rows = type.getRank() ? e.idx(type.getDimSize(0)) : Value();
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d))
          continue;
        if (!shape)
          return kernel.emitOpError() << "has a dynamic tensor without llm.shape";
        dynamic.push_back(e.evalSymbolic(shape.getValue().getResult(d)));
        if (d == 0)
          rows = dynamic.back();
      }
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      return BoundValue{e.viewBinding(binding++, memrefType, dynamic), rows};
    };

    Block &kernelBody = kernel.getBody().front();
    for (BlockArgument arg : kernelBody.getArguments()) {
      Type type = arg.getType();
      if (auto tensor = dyn_cast<RankedTensorType>(type)) {
        auto shape = kernel.getArgAttrOfType<AffineMapAttr>(arg.getArgNumber(),
                                                            "llm.shape");
        FailureOr<BoundValue> view = viewTensor(arg, tensor, shape);
        if (failed(view))
          return failure();
        views.views[arg] = *view;
      } else if (auto weight = dyn_cast<WeightType>(type)) {
        views.views[arg] =
            BoundValue{e.viewBinding(binding++, weightMemRefType(ctx, weight), {}),
                       Value()};
      } else if (auto cache = dyn_cast<KVCacheType>(type)) {
        auto cacheType = MemRefType::get(
            {ShapedType::kDynamic, cache.getBlockSize(), cache.getKvHeads(),
             cache.getHeadDim()},
            cache.getElementType());
        Value blocks = e.idx(kViewBlocks);
        views.views[arg] = BoundValue{e.viewBinding(binding++, cacheType, blocks),
                                      Value()};
        views.kvValues[arg] = BoundValue{
            e.viewBinding(binding++, cacheType, blocks), Value()};
      } else {
        return kernel.emitOpError() << "has an argument of unsupported type "
                                    << type;
      }
    }
    auto ret = cast<func::ReturnOp>(kernelBody.getTerminator());
    for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
      auto shape = kernel.getResultAttrOfType<AffineMapAttr>(i, "llm.shape");
      FailureOr<BoundValue> view =
          viewTensor(result, cast<RankedTensorType>(result.getType()), shape);
      if (failed(view))
        return failure();
      views.views[result] = *view;
    }

    if (failed(emitKernelBody(e, kernel, views)))
      return failure();
    b.create<func::ReturnOp>(loc);

    std::string name = kernel.getSymName().str();
    abi->setAttr("llm.kernel", b.getUnitAttr());
    abi->setAttr("llm.grid", AffineMapAttr::get(*grid));
    abi->setAttr("llm.num_bindings", b.getI64IntegerAttr(binding));
    kernel.erase();
    abi.setSymName(name);
    return success();
  }
};
} // namespace

} // namespace llmc::cpu
