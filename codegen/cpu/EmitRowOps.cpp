//===- EmitRowOps.cpp - kernels that work one row per workgroup ----------------===//
//
// embedding, rms_norm, rope, kv_append, select_rows, softmax and argmax: the
// workgroup index x is the row (token); the row is processed with vectors of
// up to 16 f32 lanes.
//
//===----------------------------------------------------------------------===//

#include "codegen/common/KernelPlans.h"
#include "codegen/cpu/Emitters.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

using llmc::codegen::ropeInverseFrequencies;

int64_t lanesFor(int64_t n, int64_t max) {
  for (int64_t lanes = max; lanes > 1; lanes /= 2)
    if (n % lanes == 0)
      return lanes;
  return 1;
}

/// Copies (and widens to f32) row `srcRow` of a float matrix into `dst[row]`.
static void copyRowF32(KernelEmitter &e, Value src, Value srcRow, Value dst,
                       Value dstRow, int64_t cols) {
  int64_t lanes = lanesFor(cols, e.options.vectorWidth);
  e.forLoop(e.idx(0), e.idx(cols), e.idx(lanes), [&](Value c) {
    Value v = e.loadVectorF32(src, {srcRow, c}, lanes);
    e.b.create<vector::StoreOp>(e.loc, v, dst, ValueRange{dstRow, c});
  });
}

/// Dequantizes row `tableRow` of a plain Q8_0/Q4_0 table into dst[row].
static void dequantizeRowF32(KernelEmitter &e, WeightFormat format, Value table,
                             Value tableRow, Value dst, Value row, int64_t cols) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  bool q4 = format == WeightFormat::q4_0;
  int64_t blockBytes = q4 ? 18 : 34;
  int64_t blocks = cols / 32;
  auto i8x16 = VectorType::get({16}, b.getIntegerType(8));
  auto i32x16 = VectorType::get({16}, b.getI32Type());
  VectorType f32v = e.vecF32(16);
  e.forLoop(e.idx(0), e.idx(blocks), e.idx(1), [&](Value blk) {
    Value at = e.mul(e.add(e.mul(tableRow, e.idx(blocks)), blk), e.idx(blockBytes));
    Value d = b.create<arith::ExtFOp>(
        loc, b.getF32Type(),
        b.create<vector::ExtractOp>(
            loc,
            b.create<vector::BitCastOp>(
                loc, VectorType::get({1}, b.getF16Type()),
                b.create<vector::LoadOp>(
                    loc, VectorType::get({2}, b.getIntegerType(8)), table,
                    ValueRange{at})),
            ArrayRef<int64_t>{0}).getResult());
    Value quants = e.add(at, e.idx(2));
    Value q0, q1;
    if (q4) {
      Value wide = b.create<arith::ExtUIOp>(
          loc, i32x16, b.create<vector::LoadOp>(loc, i8x16, table, ValueRange{quants}));
      auto c = [&](int32_t v) {
        return b.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(i32x16, b.getI32IntegerAttr(v).getValue()));
      };
      q0 = b.create<arith::SubIOp>(loc, b.create<arith::AndIOp>(loc, wide, c(15)), c(8));
      q1 = b.create<arith::SubIOp>(loc, b.create<arith::ShRUIOp>(loc, wide, c(4)), c(8));
    } else {
      q0 = b.create<arith::ExtSIOp>(
          loc, i32x16, b.create<vector::LoadOp>(loc, i8x16, table, ValueRange{quants}));
      q1 = b.create<arith::ExtSIOp>(
          loc, i32x16,
          b.create<vector::LoadOp>(loc, i8x16, table,
                                   ValueRange{e.add(quants, e.idx(16))}));
    }
    Value dv = e.splat(f32v, d);
    Value col = e.mul(blk, e.idx(32));
    b.create<vector::StoreOp>(
        loc, b.create<arith::MulFOp>(loc, b.create<arith::SIToFPOp>(loc, f32v, q0), dv),
        dst, ValueRange{row, col});
    b.create<vector::StoreOp>(
        loc, b.create<arith::MulFOp>(loc, b.create<arith::SIToFPOp>(loc, f32v, q1), dv),
        dst, ValueRange{row, e.add(col, e.idx(16))});
  });
}

LogicalResult emitEmbedding(KernelEmitter &e, EmbeddingOp op,
                            KernelViews &views) {
  WeightType table = op.getTable().getType();
  Value row = e.workgroup[0];
  Value tokens = views.get(op.getTokens()).memref;
  Value token = e.toIndex(e.b.create<memref::LoadOp>(e.loc, tokens, row));
  Value dst = views.get(op.getResult()).memref;
  Value src = views.get(op.getTable()).memref;
  int64_t cols = table.getShape()[1];
  switch (table.getFormat()) {
  case WeightFormat::q8_0:
  case WeightFormat::q4_0:
    if (table.getLayout() != WeightLayout::plain)
      return op.emitOpError() << "embedding tables must keep the plain layout";
    dequantizeRowF32(e, table.getFormat(), src, token, dst, row, cols);
    return success();
  case WeightFormat::f32:
  case WeightFormat::f16:
  case WeightFormat::bf16:
    copyRowF32(e, src, token, dst, row, cols);
    return success();
  default:
    return op.emitOpError() << "CPU embedding of "
                            << stringifyWeightFormat(table.getFormat())
                            << " tables is not supported";
  }
}

LogicalResult emitQuantizeAct(KernelEmitter &e, QuantizeActOp op,
                              KernelViews &views) {
  int64_t k = op.getInput().getType().getShape().back();
  Value row = e.workgroup[0];
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  VectorType vt = e.vecF32(16);
  e.forLoop(e.idx(0), e.idx(k / 32), e.idx(1), [&](Value blk) {
    Value col = e.mul(blk, e.idx(32));
    Value lo = e.b.create<vector::LoadOp>(e.loc, vt, in, ValueRange{row, col});
    Value hi = e.b.create<vector::LoadOp>(e.loc, vt, in,
                                          ValueRange{row, e.add(col, e.idx(16))});
    e.storeQuantizedBlock(out, row, blk, lo, hi, k);
  });
  return success();
}

/// [residual add ->] rms_norm [-> quantize]: one row per workgroup.
LogicalResult emitNorm(KernelEmitter &e, func::FuncOp kernel,
                       KernelViews &views) {
  Block &body = kernel.getBody().front();
  RMSNormOp norm = *body.getOps<RMSNormOp>().begin();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  AddOp add = norm.getInput().getDefiningOp<AddOp>();
  QuantizeActOp quantize;
  for (Operation *user : norm.getResult().getUsers())
    if (auto q = dyn_cast<QuantizeActOp>(user))
      quantize = q;
  auto type = norm.getInput().getType();
  if (type.getRank() != 2)
    return norm.emitOpError() << "CPU rms_norm handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  if (quantize && cols % 32)
    return norm.emitOpError() << "quantized outputs need rows of 32k elements";
  int64_t lanes = lanesFor(cols, e.options.vectorWidth);
  if (quantize)
    lanes = 16;
  Value row = e.workgroup[0];
  Value gamma = views.get(norm.getGamma()).memref;
  VectorType vt = e.vecF32(lanes);
  auto isReturned = [&](Value v) { return llvm::is_contained(ret.getOperands(), v); };
  // The input row (the sum when a residual add is fused), stored if returned.
  auto loadInput = [&](Value c) -> Value {
    if (!add)
      return e.loadVectorF32(views.get(norm.getInput()).memref, {row, c}, lanes);
    Value a = e.loadVectorF32(views.get(add.getLhs()).memref, {row, c}, lanes);
    Value bb = e.loadVectorF32(views.get(add.getRhs()).memref, {row, c}, lanes);
    return e.b.create<arith::AddFOp>(e.loc, a, bb);
  };
  Value zero = e.splat(vt, e.f32(0));
  Value sumsq = e.forLoop(e.idx(0), e.idx(cols), e.idx(lanes), {zero},
                          [&](Value c, ValueRange acc) {
                            Value x = loadInput(c);
                            if (add && isReturned(add.getResult()))
                              e.b.create<vector::StoreOp>(
                                  e.loc, x, views.get(add.getResult()).memref,
                                  ValueRange{row, c});
                            return SmallVector<Value>{
                                e.b.create<vector::FMAOp>(e.loc, x, x, acc[0])};
                          })[0];
  Value mean = e.b.create<arith::DivFOp>(e.loc, e.reduceAdd(sumsq),
                                         e.f32(static_cast<float>(cols)));
  Value scale = e.b.create<math::RsqrtOp>(
      e.loc, e.b.create<arith::AddFOp>(e.loc, mean,
                                       e.f32(norm.getEps().convertToFloat())));
  Value scaleV = e.splat(vt, scale);
  auto normed = [&](Value c) -> Value {
    Value x = add && isReturned(add.getResult())
                  ? e.b.create<vector::LoadOp>(e.loc, vt,
                                               views.get(add.getResult()).memref,
                                               ValueRange{row, c})
                  : loadInput(c);
    Value g = e.loadVectorF32(gamma, {c}, lanes);
    return e.b.create<arith::MulFOp>(
        e.loc, e.b.create<arith::MulFOp>(e.loc, x, scaleV), g);
  };
  bool storeNorm = isReturned(norm.getResult());
  if (storeNorm || !quantize)
    e.forLoop(e.idx(0), e.idx(cols), e.idx(lanes), [&](Value c) {
      e.b.create<vector::StoreOp>(e.loc, normed(c),
                                  views.get(norm.getResult()).memref,
                                  ValueRange{row, c});
    });
  if (quantize)
    e.forLoop(e.idx(0), e.idx(cols / 32), e.idx(1), [&](Value blk) {
      Value col = e.mul(blk, e.idx(32));
      e.storeQuantizedBlock(views.get(quantize.getResult()).memref, row, blk,
                            normed(col), normed(e.add(col, e.idx(16))), cols);
    });
  return success();
}

LogicalResult emitRope(KernelEmitter &e, RopeOp op, KernelViews &views) {
  auto type = op.getInput().getType();
  int64_t heads = type.getDimSize(1), dim = type.getDimSize(2), half = dim / 2;
  bool adjacent = op.getStyle() == RopeStyle::adjacent;
  Value row = e.workgroup[0];
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  Value positions = views.get(op.getPositions()).memref;
  Value pos = e.b.create<arith::SIToFPOp>(
      e.loc, e.b.getF64Type(),
      e.b.create<memref::LoadOp>(e.loc, positions, row));

  // The frequencies are compile-time constants: a small constant table.
  std::vector<double> freqs = ropeInverseFrequencies(op);
  auto tableType = VectorType::get({half}, e.b.getF64Type());
  Value table = e.b.create<arith::ConstantOp>(
      e.loc, DenseElementsAttr::get(tableType, ArrayRef<double>(freqs)));
  auto tableMem = MemRefType::get({half}, e.b.getF64Type());
  Value tableBuf = e.b.create<memref::AllocaOp>(e.loc, tableMem);
  e.b.create<vector::StoreOp>(e.loc, table, tableBuf, ValueRange{e.idx(0)});

  e.forLoop(e.idx(0), e.idx(half), e.idx(1), [&](Value i) {
    // Angles in double, so long contexts keep their precision.
    Value angle = e.b.create<arith::MulFOp>(
        e.loc, pos, e.b.create<memref::LoadOp>(e.loc, tableBuf, i));
    Value c = e.b.create<arith::TruncFOp>(e.loc, e.b.getF32Type(),
                                          e.b.create<math::CosOp>(e.loc, angle));
    Value s = e.b.create<arith::TruncFOp>(e.loc, e.b.getF32Type(),
                                          e.b.create<math::SinOp>(e.loc, angle));
    Value ia = adjacent ? e.mul(i, e.idx(2)) : i;
    Value ib = adjacent ? e.add(ia, e.idx(1)) : e.add(i, e.idx(half));
    e.forLoop(e.idx(0), e.idx(heads), e.idx(1), [&](Value h) {
      Value a = e.b.create<memref::LoadOp>(e.loc, in, ValueRange{row, h, ia});
      Value bb = e.b.create<memref::LoadOp>(e.loc, in, ValueRange{row, h, ib});
      Value outA = e.b.create<arith::SubFOp>(
          e.loc, e.b.create<arith::MulFOp>(e.loc, a, c),
          e.b.create<arith::MulFOp>(e.loc, bb, s));
      Value outB = e.b.create<arith::AddFOp>(
          e.loc, e.b.create<arith::MulFOp>(e.loc, bb, c),
          e.b.create<arith::MulFOp>(e.loc, a, s));
      e.b.create<memref::StoreOp>(e.loc, outA, out, ValueRange{row, h, ia});
      e.b.create<memref::StoreOp>(e.loc, outB, out, ValueRange{row, h, ib});
    });
  });
  return success();
}

LogicalResult emitKVAppend(KernelEmitter &e, KVAppendOp op,
                           KernelViews &views) {
  KVCacheType cache = op.getCache().getType();
  int64_t blockSize = cache.getBlockSize(), heads = cache.getKvHeads(),
          dim = cache.getHeadDim();
  int64_t lanes = lanesFor(dim, e.options.vectorWidth);
  Value row = e.workgroup[0];
  Value slot = e.toIndex(e.b.create<memref::LoadOp>(
      e.loc, views.get(op.getSlots()).memref, row));
  Value block = e.b.create<arith::DivUIOp>(e.loc, slot, e.idx(blockSize));
  Value offset = e.b.create<arith::RemUIOp>(e.loc, slot, e.idx(blockSize));
  Value keys = views.get(op.getCache()).memref;
  Value values = views.kvValues.lookup(op.getCache()).memref;
  Value k = views.get(op.getKeys()).memref, v = views.get(op.getValues()).memref;
  bool f16Cache = cache.getElementType().isF16();
  e.forLoop(e.idx(0), e.idx(heads), e.idx(1), [&](Value h) {
    e.forLoop(e.idx(0), e.idx(dim), e.idx(lanes), [&](Value d) {
      for (auto [src, dst] : {std::pair{k, keys}, std::pair{v, values}}) {
        Value x = e.loadVectorF32(src, {row, h, d}, lanes);
        if (f16Cache)
          x = e.b.create<arith::TruncFOp>(
              e.loc, VectorType::get({lanes}, e.b.getF16Type()), x);
        e.b.create<vector::StoreOp>(e.loc, x, dst,
                                    ValueRange{block, offset, h, d});
      }
    });
  });
  return success();
}

LogicalResult emitSelectRows(KernelEmitter &e, SelectRowsOp op,
                             KernelViews &views) {
  Value row = e.workgroup[0];
  Value source = e.toIndex(e.b.create<memref::LoadOp>(
      e.loc, views.get(op.getRows()).memref, row));
  copyRowF32(e, views.get(op.getInput()).memref, source,
             views.get(op.getResult()).memref, row,
             op.getInput().getType().getDimSize(1));
  return success();
}

LogicalResult emitSoftmax(KernelEmitter &e, SoftmaxOp op, KernelViews &views) {
  auto type = op.getInput().getType();
  if (type.getRank() != 2)
    return op.emitOpError() << "CPU softmax handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  Value row = e.workgroup[0];
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());
  Value max = e.forLoop(e.idx(0), e.idx(cols), e.idx(1), {negInf},
                        [&](Value c, ValueRange acc) {
                          Value x = e.loadScalarF32(in, {row, c});
                          return SmallVector<Value>{
                              e.b.create<arith::MaximumFOp>(e.loc, x, acc[0])};
                        })[0];
  Value sum = e.forLoop(e.idx(0), e.idx(cols), e.idx(1), {e.f32(0)},
                        [&](Value c, ValueRange acc) {
                          Value x = e.loadScalarF32(in, {row, c});
                          Value p = e.b.create<math::ExpOp>(
                              e.loc, e.b.create<arith::SubFOp>(e.loc, x, max));
                          e.b.create<memref::StoreOp>(e.loc, p, out,
                                                      ValueRange{row, c});
                          return SmallVector<Value>{
                              e.b.create<arith::AddFOp>(e.loc, acc[0], p)};
                        })[0];
  Value inv = e.b.create<arith::DivFOp>(e.loc, e.f32(1), sum);
  e.forLoop(e.idx(0), e.idx(cols), e.idx(1), [&](Value c) {
    Value p = e.b.create<memref::LoadOp>(e.loc, out, ValueRange{row, c});
    e.b.create<memref::StoreOp>(e.loc, e.b.create<arith::MulFOp>(e.loc, p, inv),
                                out, ValueRange{row, c});
  });
  return success();
}

LogicalResult emitArgmax(KernelEmitter &e, ArgmaxOp op, KernelViews &views) {
  auto type = op.getInput().getType();
  if (type.getRank() != 2)
    return op.emitOpError() << "CPU argmax handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  Value row = e.workgroup[0];
  Value in = views.get(op.getInput()).memref;
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());
  SmallVector<Value> best = e.forLoop(
      e.idx(0), e.idx(cols), e.idx(1), {negInf, e.idx(0)},
      [&](Value c, ValueRange acc) {
        Value x = e.loadScalarF32(in, {row, c});
        Value better = e.b.create<arith::CmpFOp>(e.loc, arith::CmpFPredicate::OGT,
                                                 x, acc[0]);
        return SmallVector<Value>{
            e.b.create<arith::SelectOp>(e.loc, better, x, acc[0]),
            e.b.create<arith::SelectOp>(e.loc, better, c, acc[1])};
      });
  Value index = e.b.create<arith::IndexCastOp>(e.loc, e.b.getI32Type(), best[1]);
  e.b.create<memref::StoreOp>(e.loc, index, views.get(op.getResult()).memref,
                              row);
  return success();
}

} // namespace llmc::cpu
