//===- GPUEmitter.cpp - building GPU kernels (gpu dialect) for Vulkan and CUDA ----===//

#include "codegen/gpu/GPUEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;

namespace llmc::gpu {

namespace {
constexpr int64_t kCUDASubgroupSize = 32;
} // namespace

GPUEmitter::GPUEmitter(OpBuilder &b, Location loc, mlir::gpu::GPUFuncOp func,
                       GPUTarget target, int64_t workgroupSize)
    : LoopBuilder(b, loc), func(func), target(target), threads(workgroupSize) {
  tid = b.create<mlir::gpu::ThreadIdOp>(loc, mlir::gpu::Dimension::x);
  for (auto d : {mlir::gpu::Dimension::x, mlir::gpu::Dimension::y,
                 mlir::gpu::Dimension::z})
    block.push_back(b.create<mlir::gpu::BlockIdOp>(loc, d));
  if (target == GPUTarget::CUDA)
    subgroupSize = idx(kCUDASubgroupSize);
  else
    subgroupSize = b.create<mlir::gpu::SubgroupSizeOp>(loc, /*upper_bound=*/nullptr);
  lane = remu(tid, subgroupSize);
  subgroup = divu(tid, subgroupSize);
  numSubgroups = b.create<arith::CeilDivUIOp>(loc, idx(threads), subgroupSize);
}

Value GPUEmitter::sub(Value a, Value c) { return b.create<arith::SubIOp>(loc, a, c); }
Value GPUEmitter::divu(Value a, Value c) { return b.create<arith::DivUIOp>(loc, a, c); }
Value GPUEmitter::remu(Value a, Value c) { return b.create<arith::RemUIOp>(loc, a, c); }
Value GPUEmitter::min(Value a, Value c) { return b.create<arith::MinUIOp>(loc, a, c); }
Value GPUEmitter::ult(Value a, Value c) {
  return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, a, c);
}
Value GPUEmitter::eq(Value a, Value c) {
  return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a, c);
}
Value GPUEmitter::select(Value cond, Value a, Value c) {
  return b.create<arith::SelectOp>(loc, cond, a, c);
}

Value GPUEmitter::addf(Value a, Value c) { return b.create<arith::AddFOp>(loc, a, c); }
Value GPUEmitter::subf(Value a, Value c) { return b.create<arith::SubFOp>(loc, a, c); }
Value GPUEmitter::mulf(Value a, Value c) { return b.create<arith::MulFOp>(loc, a, c); }
Value GPUEmitter::divf(Value a, Value c) { return b.create<arith::DivFOp>(loc, a, c); }
Value GPUEmitter::maxf(Value a, Value c) { return b.create<arith::MaximumFOp>(loc, a, c); }
Value GPUEmitter::fma(Value a, Value c, Value acc) {
  return b.create<math::FmaOp>(loc, a, c, acc);
}
Value GPUEmitter::exp(Value x) { return b.create<math::ExpOp>(loc, x); }
Value GPUEmitter::silu(Value x) {
  return divf(x, addf(f32(1.0f), exp(b.create<arith::NegFOp>(loc, x))));
}

Value GPUEmitter::load(Value memref, Value index) {
  return b.create<memref::LoadOp>(loc, memref, index);
}
void GPUEmitter::store(Value value, Value memref, Value index) {
  b.create<memref::StoreOp>(loc, value, memref, index);
}
Value GPUEmitter::extract(Value vector, int64_t i) {
  return b.create<vector::ExtractOp>(loc, vector, ArrayRef<int64_t>{i});
}

void GPUEmitter::forThreads(Value n, const std::function<void(Value)> &body) {
  forLoop(tid, n, idx(threads), body);
}

void GPUEmitter::ifThenElse(Value cond, const std::function<void()> &then,
                            const std::function<void()> &otherwise) {
  auto op = b.create<scf::IfOp>(loc, cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getThenRegion().front());
  then();
  b.setInsertionPointToStart(&op.getElseRegion().front());
  otherwise();
}

Value GPUEmitter::workgroupMemory(int64_t n, Type element) {
  return workgroupMemory2D(0, n, element);
}

Value GPUEmitter::workgroupMemory2D(int64_t rows, int64_t cols, Type element) {
  SmallVector<int64_t, 2> shape;
  if (rows)
    shape.push_back(rows);
  shape.push_back(cols);
  if (target == GPUTarget::CUDA) {
    // NVVM: a workgroup attribution (a memref.alloc would be a device malloc).
    auto space = mlir::gpu::AddressSpaceAttr::get(
        b.getContext(), mlir::gpu::AddressSpace::Workgroup);
    auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface(), space);
    Value memory = func.addWorkgroupAttribution(type, loc);
    func.setWorkgroupAttributionAttr(func.getNumWorkgroupAttributions() - 1,
                                     "llvm.align", b.getI64IntegerAttr(32));
    return memory;
  }
  // SPIR-V: an alloc in address space 3 becomes a Workgroup variable.
  auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface(),
                              b.getI64IntegerAttr(3));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&func.getBody().front());
  return b.create<memref::AllocOp>(loc, type);
}

void GPUEmitter::barrier() { b.create<mlir::gpu::BarrierOp>(loc); }

Value GPUEmitter::reduceWithShuffles(Value x, bool max) {
  // A butterfly: log2(32) exchanges; every lane ends with the result.
  for (int64_t offset = kCUDASubgroupSize / 2; offset > 0; offset /= 2) {
    auto shuffle = b.create<mlir::gpu::ShuffleOp>(
        loc, x, static_cast<int32_t>(offset),
        static_cast<int32_t>(kCUDASubgroupSize), mlir::gpu::ShuffleMode::XOR);
    Value other = shuffle.getShuffleResult();
    x = max ? maxf(x, other) : addf(x, other);
  }
  return x;
}

Value GPUEmitter::subgroupSum(Value x) {
  if (target == GPUTarget::CUDA)
    return reduceWithShuffles(x, false);
  return b.create<mlir::gpu::SubgroupReduceOp>(
      loc, x, mlir::gpu::AllReduceOperation::ADD, /*uniform=*/false);
}

Value GPUEmitter::subgroupMax(Value x) {
  if (target == GPUTarget::CUDA)
    return reduceWithShuffles(x, true);
  return b.create<mlir::gpu::SubgroupReduceOp>(
      loc, x, mlir::gpu::AllReduceOperation::MAXNUMF, /*uniform=*/false);
}

Value GPUEmitter::workgroupReduce(Value x, Value scratch, bool max) {
  Value part = max ? subgroupMax(x) : subgroupSum(x);
  barrier(); // the scratch may still be read by a previous reduction
  ifThen(eq(lane, idx(0)), [&] { store(part, scratch, subgroup); });
  barrier();
  Value init = max ? f32(-std::numeric_limits<float>::infinity()) : f32(0);
  return forLoop(idx(0), numSubgroups, idx(1), {init},
                 [&](Value s, ValueRange acc) {
                   Value v = load(scratch, s);
                   return SmallVector<Value>{max ? maxf(acc[0], v)
                                                 : addf(acc[0], v)};
                 })[0];
}

Value GPUEmitter::workgroupSum(Value x, Value scratch) {
  return workgroupReduce(x, scratch, false);
}
Value GPUEmitter::workgroupMax(Value x, Value scratch) {
  return workgroupReduce(x, scratch, true);
}

Value GPUEmitter::halfToF32(Value bits) {
  if (target == GPUTarget::CUDA) {
    Value h = b.create<arith::TruncIOp>(loc, b.getI16Type(), bits);
    return b.create<arith::ExtFOp>(
        loc, b.getF32Type(),
        b.create<arith::BitcastOp>(loc, b.getF16Type(), h).getResult());
  }
  // Exponent and mantissa moved into binary32 position, then rescaled by
  // 2^(127 - 15): exact for normal and subnormal halves (weights hold no
  // infinities). The sign is put back last.
  Value magnitude = b.create<arith::ShLIOp>(
      loc, b.create<arith::AndIOp>(loc, bits, i32(0x7FFF)), i32(13));
  Value scaled = mulf(b.create<arith::BitcastOp>(loc, b.getF32Type(), magnitude),
                      f32(0x1p112f));
  Value sign = b.create<arith::ShLIOp>(
      loc, b.create<arith::AndIOp>(loc, bits, i32(0x8000)), i32(16));
  Value result = b.create<arith::OrIOp>(
      loc, b.create<arith::BitcastOp>(loc, b.getI32Type(), scaled), sign);
  return b.create<arith::BitcastOp>(loc, b.getF32Type(), result);
}

std::pair<Value, Value> GPUEmitter::unpackHalves(Value word) {
  Value low = target == GPUTarget::CUDA
                  ? word
                  : b.create<arith::AndIOp>(loc, word, i32(0xFFFF)).getResult();
  Value high = b.create<arith::ShRUIOp>(loc, word, i32(16));
  return {halfToF32(low), halfToF32(high)};
}

Value GPUEmitter::signedByte(Value word, int64_t j) {
  Value shifted = j == 3 ? word
                         : b.create<arith::ShLIOp>(loc, word, i32(24 - 8 * j))
                               .getResult();
  return b.create<arith::ShRSIOp>(loc, shifted, i32(24));
}

Value GPUEmitter::nibble(Value word, int64_t shift) {
  Value shifted = shift == 0
                      ? word
                      : b.create<arith::ShRUIOp>(loc, word, i32(shift)).getResult();
  return b.create<arith::AndIOp>(loc, shifted, i32(0xF));
}

Value GPUEmitter::toF32(Value v) {
  return b.create<arith::SIToFPOp>(loc, b.getF32Type(), v);
}

int64_t splitQuantBytesPerBlock(llm::WeightFormat format) {
  return format == llm::WeightFormat::q4_0 ? 16 : 32;
}

int64_t splitScaleChunk(llm::WeightType type) {
  int64_t blocks = type.getNumElements() / 32;
  return blocks * splitQuantBytesPerBlock(type.getFormat()) / 16;
}

int64_t chunkElements(llm::WeightFormat format) {
  switch (format) {
  case llm::WeightFormat::f32: return 4;
  case llm::WeightFormat::f16: return 8;
  case llm::WeightFormat::q8_0: return 16;
  case llm::WeightFormat::q4_0: return 32;
  default: return 0;
  }
}

} // namespace llmc::gpu
