//===- PlanMemory.cpp - one arena per entry, placed by liveness ---------------===//

#include "passes/Passes.h"
#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_PLANMEMORY
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;
using namespace llmc::llm;

namespace {
int64_t alignUp(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

int64_t elementBytes(Type t) { return (t.getIntOrFloatBitWidth() + 7) / 8; }

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  unsigned start = 0, end = 0; // op indices, inclusive
  int64_t offset = -1;
  Operation *lastUser = nullptr;
  bool returned = false;
};

class EntryPlanner {
public:
  EntryPlanner(func::FuncOp entry, int64_t alignment)
      : entry(entry), alignment(alignment), b(entry.getContext()) {}

  LogicalResult run() {
    collectMaxima();
    Block &block = entry.getBody().front();
    DenseMap<Operation *, unsigned> index;
    unsigned i = 0;
    for (Operation &op : block)
      index[&op] = i++;
    unsigned endOfEntry = i;

    SmallVector<Buffer> buffers;
    DenseMap<Value, size_t> rootOf; // buffer or view -> buffer index
    for (Operation &op : block) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        FailureOr<int64_t> bytes = maxBytes(alloc);
        if (failed(bytes))
          return failure();
        Buffer buf;
        buf.alloc = alloc;
        buf.bytes = alignUp(*bytes, alignment);
        buf.start = buf.end = index[&op];
        rootOf[alloc.getResult()] = buffers.size();
        buffers.push_back(buf);
        continue;
      }
      if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(op)) {
        auto it = rootOf.find(op.getOperand(0));
        if (it != rootOf.end())
          rootOf[op.getResult(0)] = it->second;
      }
      for (Value operand : op.getOperands()) {
        auto it = rootOf.find(operand);
        if (it == rootOf.end())
          continue;
        Buffer &buf = buffers[it->second];
        if (isa<func::ReturnOp>(op)) {
          buf.end = endOfEntry;
          buf.returned = true;
        } else if (index[&op] >= buf.end) {
          buf.end = index[&op];
          if (isa<LaunchOp>(op))
            buf.lastUser = &op;
        }
      }
    }

    // Largest first, each at the lowest offset free for its whole lifetime.
    SmallVector<size_t> order;
    for (size_t k = 0; k < buffers.size(); ++k)
      order.push_back(k);
    llvm::stable_sort(order, [&](size_t x, size_t y) {
      return buffers[x].bytes > buffers[y].bytes;
    });
    int64_t arenaBytes = 0, unplanned = 0;
    SmallVector<size_t> placed;
    for (size_t k : order) {
      Buffer &buf = buffers[k];
      unplanned += buf.bytes;
      SmallVector<std::pair<int64_t, int64_t>> busy; // [offset, end)
      for (size_t p : placed) {
        const Buffer &other = buffers[p];
        if (other.start <= buf.end && buf.start <= other.end)
          busy.push_back({other.offset, other.offset + other.bytes});
      }
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + buf.bytes <= lo)
          break;
        offset = std::max(offset, hi);
      }
      buf.offset = offset;
      arenaBytes = std::max(arenaBytes, offset + buf.bytes);
      placed.push_back(k);
    }

    // Materialize: one arena, a view per buffer.
    b.setInsertionPointToStart(&block);
    auto arenaType = MemRefType::get({std::max<int64_t>(arenaBytes, 1)},
                                     b.getIntegerType(8));
    Value arena = b.create<ArenaOp>(entry.getLoc(), arenaType);
    for (Buffer &buf : buffers) {
      b.setInsertionPoint(buf.alloc);
      Value offset =
          b.create<arith::ConstantIndexOp>(buf.alloc.getLoc(), buf.offset);
      auto view = b.create<memref::ViewOp>(buf.alloc.getLoc(),
                                           buf.alloc.getType(), arena, offset,
                                           buf.alloc.getDynamicSizes());
      view->setAttr("llm.bytes", b.getI64IntegerAttr(buf.bytes));
      buf.alloc.replaceAllUsesWith(view.getResult());
      buf.alloc.erase();
      if (buf.lastUser && !buf.returned) {
        SmallVector<Attribute> frees;
        if (auto existing = buf.lastUser->getAttrOfType<ArrayAttr>("llm.frees"))
          frees.append(existing.begin(), existing.end());
        frees.push_back(b.getDenseI64ArrayAttr({buf.offset, buf.bytes}));
        buf.lastUser->setAttr("llm.frees", b.getArrayAttr(frees));
      }
    }
    entry->setAttr("llm.arena_bytes", b.getI64IntegerAttr(arenaBytes));
    entry->setAttr("llm.unplanned_bytes", b.getI64IntegerAttr(unplanned));
    planStepBuffer();
    return success();
  }

private:
  void collectMaxima() {
    for (BlockArgument arg : entry.getArguments())
      if (auto symbol = entry.getArgAttrOfType<SymbolAttr>(
              arg.getArgNumber(), LLMDialect::kSymbolAttrName))
        maxima[arg] = symbol.getMax();
  }

  /// The largest value an index can take, given the symbols' maxima.
  FailureOr<int64_t> maxValue(Value v) {
    if (auto it = maxima.find(v); it != maxima.end())
      return it->second;
    if (auto apply = v.getDefiningOp<affine::AffineApplyOp>()) {
      SmallVector<int64_t> operands;
      for (Value o : apply.getMapOperands()) {
        FailureOr<int64_t> m = maxValue(o);
        if (failed(m))
          return failure();
        operands.push_back(*m);
      }
      SmallVector<int64_t> results =
          apply.getAffineMap().compose(operands);
      return results[0];
    }
    if (auto constant = v.getDefiningOp<arith::ConstantIndexOp>())
      return constant.value();
    return failure();
  }

  FailureOr<int64_t> maxBytes(memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    int64_t bytes = elementBytes(type.getElementType());
    unsigned next = 0;
    for (int64_t d : type.getShape()) {
      if (ShapedType::isDynamic(d)) {
        FailureOr<int64_t> m = maxValue(alloc.getDynamicSizes()[next++]);
        if (failed(m))
          return alloc.emitOpError()
                 << "has a size whose maximum is unknown";
        d = *m;
      }
      bytes *= d;
    }
    return bytes;
  }

  /// The step buffer: the symbols' values (int32 each), then every per-step
  /// field sized for the maxima, each aligned.
  void planStepBuffer() {
    ModuleOp module = entry->getParentOfType<ModuleOp>();
    int64_t numSymbols = 0;
    if (auto symbols = module->getAttrOfType<ArrayAttr>(kSymbolsAttrName))
      numSymbols = symbols.size();
    int64_t offset = alignUp(4 * numSymbols, alignment);
    for (auto [field, rank] : StepInputOp::knownFields()) {
      (void)rank;
      entry.walk([&](StepBufferOp buffer) {
        if (buffer.getField() != field)
          return;
        MemRefType type = cast<MemRefType>(buffer.getType());
        int64_t bytes = 4;
        unsigned next = 0;
        for (int64_t d : type.getShape()) {
          if (ShapedType::isDynamic(d))
            d = maxValue(buffer.getDynamicSizes()[next++]).value_or(1);
          bytes *= d;
        }
        buffer->setAttr("offset", b.getI64IntegerAttr(offset));
        buffer->setAttr("llm.bytes", b.getI64IntegerAttr(bytes));
        offset = alignUp(offset + bytes, alignment);
      });
    }
    entry->setAttr("llm.step_bytes", b.getI64IntegerAttr(offset));
  }

  func::FuncOp entry;
  int64_t alignment;
  OpBuilder b;
  DenseMap<Value, int64_t> maxima;
};

struct PlanMemoryPass : public llmc::impl::PlanMemoryBase<PlanMemoryPass> {
  using PlanMemoryBase::PlanMemoryBase;
  void runOnOperation() override {
    if (alignment < 1 || (alignment & (alignment - 1))) {
      getOperation().emitError() << "alignment must be a power of two";
      return signalPassFailure();
    }
    for (func::FuncOp entry : getEntries(getOperation())) {
      EntryPlanner planner(entry, alignment);
      if (failed(planner.run()))
        return signalPassFailure();
    }
  }
};
} // namespace
