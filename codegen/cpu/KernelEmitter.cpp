//===- KernelEmitter.cpp - building CPU kernels from llm ops -----------------===//

#include "codegen/cpu/KernelEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace llmc::cpu {

Value KernelEmitter::min(Value a, Value c) {
  return b.create<arith::MinSIOp>(loc, a, c);
}
Value KernelEmitter::bindingPointer(unsigned index) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value slot = b.create<LLVM::GEPOp>(loc, ptrType, ptrType, bindings,
                                     ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
  return b.create<LLVM::LoadOp>(loc, ptrType, slot);
}

Value KernelEmitter::viewBinding(unsigned index, MemRefType type,
                                 ValueRange dynamicSizes) {
  MLIRContext *ctx = b.getContext();
  Value ptr = bindingPointer(index);
  auto i64 = b.getI64Type();
  int64_t rank = type.getRank();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  auto arrayType = LLVM::LLVMArrayType::get(i64, rank);
  auto descType = LLVM::LLVMStructType::getLiteral(
      ctx, {ptrType, ptrType, i64, arrayType, arrayType});
  SmallVector<Value> sizes;
  unsigned next = 0;
  for (int64_t d : type.getShape()) {
    Value size = ShapedType::isDynamic(d) ? dynamicSizes[next++] : idx(d);
    sizes.push_back(b.create<arith::IndexCastOp>(loc, i64, size));
  }
  SmallVector<Value> strides(rank);
  Value stride = b.create<LLVM::ConstantOp>(loc, i64, b.getI64IntegerAttr(1));
  for (int64_t i = rank - 1; i >= 0; --i) {
    strides[i] = stride;
    if (i > 0)
      stride = b.create<LLVM::MulOp>(loc, stride, sizes[i]);
  }
  Value desc = b.create<LLVM::UndefOp>(loc, descType);
  desc = b.create<LLVM::InsertValueOp>(loc, desc, ptr, ArrayRef<int64_t>{0});
  desc = b.create<LLVM::InsertValueOp>(loc, desc, ptr, ArrayRef<int64_t>{1});
  Value zero = b.create<LLVM::ConstantOp>(loc, i64, b.getI64IntegerAttr(0));
  desc = b.create<LLVM::InsertValueOp>(loc, desc, zero, ArrayRef<int64_t>{2});
  for (int64_t i = 0; i < rank; ++i) {
    desc = b.create<LLVM::InsertValueOp>(loc, desc, sizes[i],
                                         ArrayRef<int64_t>{3, i});
    desc = b.create<LLVM::InsertValueOp>(loc, desc, strides[i],
                                         ArrayRef<int64_t>{4, i});
  }
  return b.create<UnrealizedConversionCastOp>(loc, type, desc).getResult(0);
}

VectorType KernelEmitter::vecF32(int64_t lanes) {
  return VectorType::get({lanes}, b.getF32Type());
}

Value KernelEmitter::splat(VectorType type, Value scalar) {
  return b.create<vector::SplatOp>(loc, type, scalar);
}

Value KernelEmitter::loadVectorF32(Value memref, ValueRange indices,
                                   int64_t lanes) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  Value v = b.create<vector::LoadOp>(loc, VectorType::get({lanes}, element),
                                     memref, indices);
  if (element.isF32())
    return v;
  return b.create<arith::ExtFOp>(loc, vecF32(lanes), v);
}

Value KernelEmitter::loadScalarF32(Value memref, ValueRange indices) {
  Value v = b.create<memref::LoadOp>(loc, memref, indices);
  if (v.getType().isF32())
    return v;
  return b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
}

Value KernelEmitter::reduceAdd(Value vector) {
  return b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, vector,
                                       arith::FastMathFlags::reassoc);
}

Value KernelEmitter::reduceMax(Value vector) {
  return b.create<vector::ReductionOp>(loc, vector::CombiningKind::MAXIMUMF,
                                       vector, arith::FastMathFlags::reassoc);
}

Value KernelEmitter::loadScalarFromBytes(Value bytes, ValueRange indices,
                                         Type type) {
  Value raw = b.create<vector::LoadOp>(
      loc, VectorType::get({4}, b.getIntegerType(8)), bytes, indices);
  Value cast =
      b.create<vector::BitCastOp>(loc, VectorType::get({1}, type), raw);
  return b.create<vector::ExtractOp>(loc, cast, ArrayRef<int64_t>{0});
}

void KernelEmitter::storeScalarToBytes(Value value, Value bytes,
                                       ValueRange indices) {
  Value v = b.create<vector::BroadcastOp>(
      loc, VectorType::get({1}, value.getType()), value);
  Value raw = b.create<vector::BitCastOp>(
      loc, VectorType::get({4}, b.getIntegerType(8)), v);
  b.create<vector::StoreOp>(loc, raw, bytes, indices);
}

Value KernelEmitter::loadActScale(Value act, Value row, Value block, int64_t k) {
  Value offset = add(idx(k), mul(block, idx(4)));
  return loadScalarFromBytes(act, {row, offset}, b.getF32Type());
}

Value KernelEmitter::loadActSum(Value act, Value row, Value block, int64_t k) {
  Value offset = add(idx(k + k / 8), mul(block, idx(4)));
  return loadScalarFromBytes(act, {row, offset}, b.getI32Type());
}

Value KernelEmitter::broadcastActWord(Value act, Value row, Value byteOffset,
                                      int64_t lanes) {
  Value raw = b.create<vector::LoadOp>(
      loc, VectorType::get({4}, b.getIntegerType(8)), act,
      ValueRange{row, byteOffset});
  Value word = b.create<vector::BitCastOp>(
      loc, VectorType::get({1}, b.getI32Type()), raw);
  Value scalar = b.create<vector::ExtractOp>(loc, word, ArrayRef<int64_t>{0});
  return b.create<vector::BroadcastOp>(
      loc, VectorType::get({lanes}, b.getI32Type()), scalar);
}

void KernelEmitter::storeQuantizedBlock(Value act, Value row, Value block,
                                        Value lo, Value hi, int64_t k) {
  auto f32v = vecF32(16);
  Value absLo = b.create<math::AbsFOp>(loc, lo);
  Value absHi = b.create<math::AbsFOp>(loc, hi);
  Value amax = reduceMax(b.create<arith::MaximumFOp>(loc, absLo, absHi));
  Value scale = b.create<arith::DivFOp>(loc, amax, f32(127.0f));
  Value isZero = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, scale,
                                         f32(0.0f));
  Value inv = b.create<arith::SelectOp>(
      loc, isZero, f32(0.0f), b.create<arith::DivFOp>(loc, f32(1.0f), scale));
  Value invV = splat(f32v, inv);
  auto i32v = VectorType::get({16}, b.getI32Type());
  auto i8v = VectorType::get({16}, b.getIntegerType(8));
  auto quantize = [&](Value v) {
    Value r = b.create<math::RoundEvenOp>(loc,
                                          b.create<arith::MulFOp>(loc, v, invV));
    return b.create<arith::FPToSIOp>(loc, i32v, r).getResult();
  };
  Value qLo = quantize(lo), qHi = quantize(hi);
  Value base = mul(block, idx(32));
  b.create<vector::StoreOp>(loc, b.create<arith::TruncIOp>(loc, i8v, qLo), act,
                            ValueRange{row, base});
  b.create<vector::StoreOp>(loc, b.create<arith::TruncIOp>(loc, i8v, qHi), act,
                            ValueRange{row, add(base, idx(16))});
  Value sum = b.create<vector::ReductionOp>(
      loc, vector::CombiningKind::ADD, b.create<arith::AddIOp>(loc, qLo, qHi));
  Value slot = mul(block, idx(4));
  storeScalarToBytes(scale, act, {row, add(idx(k), slot)});
  storeScalarToBytes(sum, act, {row, add(idx(k + k / 8), slot)});
}

Value KernelEmitter::silu(Value x) {
  Type t = x.getType();
  Value one = f32(1.0f);
  if (auto vt = dyn_cast<VectorType>(t))
    one = splat(vt, one);
  Value denom = b.create<arith::AddFOp>(
      loc, one, b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x)));
  return b.create<arith::DivFOp>(loc, x, denom);
}

MemRefType weightMemRefType(MLIRContext *ctx, llm::WeightType type) {
  Builder b(ctx);
  SmallVector<int64_t> shape(type.getShape());
  switch (type.getFormat()) {
  case llm::WeightFormat::f32: return MemRefType::get(shape, b.getF32Type());
  case llm::WeightFormat::f16: return MemRefType::get(shape, b.getF16Type());
  case llm::WeightFormat::bf16: return MemRefType::get(shape, b.getBF16Type());
  default:
    return MemRefType::get({type.getStorageBytes()}, b.getIntegerType(8));
  }
}

} // namespace llmc::cpu
