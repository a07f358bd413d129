//===- LowerKernels.cpp - llm kernels to gpu.funcs behind the dispatch ABI ------===//

#include "codegen/gpu/GPUKernels.h"
#include "codegen/gpu/GPUPasses.h"

#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace llmc::gpu {
#define GEN_PASS_DEF_GPULOWERKERNELS
#include "codegen/gpu/GPUPasses.h.inc"
} // namespace llmc::gpu

using namespace mlir;
using namespace llmc::llm;

namespace llmc::gpu {

bool isVectorBinding(func::FuncOp kernel, Value arg) {
  for (LinearOp linear : kernel.getBody().front().getOps<LinearOp>())
    if (linear.getInput() == arg || linear.getWeight() == arg)
      return true;
  return false;
}

int64_t workgroupSizeFor(func::FuncOp kernel, int64_t preferred) {
  int64_t size = preferred;
  kernel.walk([&](AttentionOp op) {
    int64_t dim = op.getCache().getType().getHeadDim();
    size = std::max(size, (dim + 31) / 32 * 32);
  });
  return size;
}

LogicalResult emitKernelBody(GPUEmitter &e, func::FuncOp kernel,
                             GPUViews &views, bool tiledPrefill) {
  Block &body = kernel.getBody().front();
  if (!body.getOps<LinearOp>().empty())
    return emitLinearFamily(e, kernel, views, tiledPrefill);
  if (!body.getOps<AttentionOp>().empty())
    return emitAttention(e, kernel, *body.getOps<AttentionOp>().begin(), views);
  if (!body.getOps<RMSNormOp>().empty())
    return emitNorm(e, kernel, views);
  Operation *root = codegen::rootOp(kernel);
  if (!root)
    return emitElementwise(e, kernel, views);
  if (root->getNextNode() != body.getTerminator())
    return kernel.emitOpError() << "has a region the GPU targets cannot lower";
  return llvm::TypeSwitch<Operation *, LogicalResult>(root)
      .Case([&](EmbeddingOp op) { return emitEmbedding(e, op, views); })
      .Case([&](RopeOp op) { return emitRope(e, op, views); })
      .Case([&](KVAppendOp op) { return emitKVAppend(e, op, views); })
      .Case([&](SelectRowsOp op) { return emitSelectRows(e, op, views); })
      .Case([&](SoftmaxOp op) { return emitSoftmax(e, op, views); })
      .Case([&](ArgmaxOp op) { return emitArgmax(e, op, views); })
      .Case([&](QuantizeActOp op) {
        return op.emitOpError()
               << "GPU kernels read f32 activations; do not quantize them";
      })
      .Default([&](Operation *op) {
        return op->emitOpError() << "has no GPU lowering";
      });
}

namespace {

Type elementTypeOf(Builder &b, Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getElementType();
  auto weight = cast<WeightType>(type);
  if (weight.getFormat() == WeightFormat::f32)
    return b.getF32Type();
  return b.getI32Type();
}

MemRefType bindingType(Builder &b, Type element, bool vector) {
  if (vector)
    element = VectorType::get({4}, element);
  return MemRefType::get({ShapedType::kDynamic}, element);
}

struct GPULowerKernelsPass
    : public impl::GPULowerKernelsBase<GPULowerKernelsPass> {
  using GPULowerKernelsBase::GPULowerKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    GPUTarget kind;
    if (target == "vulkan") {
      kind = GPUTarget::Vulkan;
    } else if (target == "cuda") {
      kind = GPUTarget::CUDA;
    } else {
      module.emitError() << "unknown GPU target '" << target
                         << "' (expected vulkan or cuda)";
      return signalPassFailure();
    }
    if (workgroupSize < 32 || workgroupSize > 1024 || workgroupSize % 32) {
      module.emitError() << "workgroup-size must be a multiple of 32 in "
                            "[32, 1024], got "
                         << static_cast<int64_t>(workgroupSize);
      return signalPassFailure();
    }
    module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    unsigned numSymbols = 0;
    if (auto symbols = module->getAttrOfType<ArrayAttr>("llm.symbols"))
      numSymbols = symbols.size();
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("llm.kernel"))
        kernels.push_back(func);
    for (func::FuncOp kernel : kernels)
      if (failed(lower(module, kernel, numSymbols, kind)))
        return signalPassFailure();
  }

  LogicalResult lower(ModuleOp module, func::FuncOp kernel, unsigned numSymbols,
                      GPUTarget kind) {
    int64_t threads = workgroupSizeFor(kernel, workgroupSize);
    if (threads > 1024)
      return kernel.emitOpError() << "needs " << threads
                                  << " threads per workgroup (at most 1024)";
    FailureOr<AffineMap> grid =
        codegen::planGrid(kernel, numSymbols, gpuLinearTileRows(kernel),
                          linearTokensPerWorkgroup(kernel, kind, tiledPrefill));
    if (failed(grid))
      return failure();
    MLIRContext *ctx = kernel.getContext();
    OpBuilder b(ctx);
    Location loc = kernel.getLoc();
    Block &kernelBody = kernel.getBody().front();
    auto ret = cast<func::ReturnOp>(kernelBody.getTerminator());

    // The bindings: header, arguments (KV layers twice), results.
    SmallVector<Type> types = {bindingType(b, b.getI32Type(), false)};
    for (BlockArgument arg : kernelBody.getArguments()) {
      Type type = arg.getType();
      if (auto cache = dyn_cast<KVCacheType>(type)) {
        types.append(2, bindingType(b, cache.getElementType(), false));
        continue;
      }
      if (!isa<RankedTensorType, WeightType>(type))
        return kernel.emitOpError()
               << "has an argument of unsupported type " << type;
      types.push_back(bindingType(b, elementTypeOf(b, type),
                                  isVectorBinding(kernel, arg)));
    }
    for (Value result : ret.getOperands())
      types.push_back(bindingType(b, elementTypeOf(b, result.getType()), false));

    std::string name = kernel.getSymName().str();
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = b.create<mlir::gpu::GPUModuleOp>(loc, name + "_module");
    b.setInsertionPointToStart(gpuModule.getBody());
    auto func = b.create<mlir::gpu::GPUFuncOp>(
        loc, name, FunctionType::get(ctx, types, {}));
    func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                  b.getUnitAttr());
    auto size = b.getDenseI32ArrayAttr(
        {static_cast<int32_t>(threads), 1, 1});
    func.setKnownBlockSizeAttr(size);
    if (kind == GPUTarget::Vulkan)
      func->setAttr(spirv::getEntryPointABIAttrName(),
                    spirv::getEntryPointABIAttr(
                        ctx, {static_cast<int32_t>(threads), 1, 1}));

    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    GPUEmitter e(b, loc, func, kind, threads);
    for (unsigned i = 0; i < numSymbols; ++i)
      e.symbols.push_back(
          e.toIndex(e.load(entry.getArgument(0), e.idx(i))));

    GPUViews views;
    unsigned binding = 1;
    auto rowsOf = [&](Type type, AffineMapAttr shape) -> FailureOr<Value> {
      auto tensor = cast<RankedTensorType>(type);
      if (tensor.getRank() == 0)
        return e.idx(1);
      if (!tensor.isDynamicDim(0))
        return e.idx(tensor.getDimSize(0));
      if (!shape)
        return kernel.emitOpError() << "has a dynamic tensor without llm.shape";
      return e.evalSymbolic(shape.getValue().getResult(0));
    };
    for (BlockArgument arg : kernelBody.getArguments()) {
      if (isa<KVCacheType>(arg.getType())) {
        views.views[arg] = GPUValue{entry.getArgument(binding++), Value()};
        views.kvValues[arg] = GPUValue{entry.getArgument(binding++), Value()};
        continue;
      }
      Value rows;
      if (isa<RankedTensorType>(arg.getType())) {
        FailureOr<Value> r = rowsOf(
            arg.getType(),
            kernel.getArgAttrOfType<AffineMapAttr>(arg.getArgNumber(), "llm.shape"));
        if (failed(r))
          return failure();
        rows = *r;
      }
      views.views[arg] = GPUValue{entry.getArgument(binding++), rows};
    }
    for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
      FailureOr<Value> r = rowsOf(
          result.getType(), kernel.getResultAttrOfType<AffineMapAttr>(i, "llm.shape"));
      if (failed(r))
        return failure();
      views.views[result] = GPUValue{entry.getArgument(binding++), *r};
    }

    if (failed(emitKernelBody(e, kernel, views, tiledPrefill)))
      return failure();
    b.create<mlir::gpu::ReturnOp>(loc);

    gpuModule->setAttr("llm.kernel_name", b.getStringAttr(name));
    gpuModule->setAttr("llm.grid", AffineMapAttr::get(*grid));
    gpuModule->setAttr("llm.num_bindings", b.getI64IntegerAttr(binding));
    gpuModule->setAttr("llm.workgroup_size",
                       b.getDenseI64ArrayAttr({threads, 1, 1}));
    kernel.erase();
    return success();
  }
};
} // namespace

} // namespace llmc::gpu
