//===- EmitRowOps.cpp - GPU kernels that work one row per workgroup -------------===//
//
// embedding, rms_norm (with a fused residual add), rope, kv_append,
// select_rows, softmax, argmax and elementwise chains: workgroup x is the
// row; its threads stride the columns; reductions go through subgroups and
// workgroup memory. Buffers are 1-d: element (r, c) of a [rows, cols]
// tensor is at r * cols + c.
//
//===----------------------------------------------------------------------===//

#include "codegen/gpu/GPUKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::gpu {

namespace {
int64_t innerSize(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t n = 1;
  for (int64_t d = 1; d < type.getRank(); ++d)
    n *= type.getDimSize(d);
  return n;
}

/// Element `c` of row `row` of a gathered table, as f32.
Value tableElement(GPUEmitter &e, WeightType type, Value table, Value row,
                   Value c) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  int64_t cols = type.getShape().back();
  Value flat = e.add(e.mul(row, e.idx(cols)), c);
  auto shiftOf = [&](Value bits) {
    return b.create<arith::IndexCastOp>(loc, b.getI32Type(), bits).getResult();
  };
  switch (type.getFormat()) {
  case WeightFormat::f32:
    return e.load(table, flat);
  case WeightFormat::f16: {
    auto [lo, hi] = e.unpackHalves(e.load(table, e.divu(flat, e.idx(2))));
    return e.select(e.eq(e.remu(flat, e.idx(2)), e.idx(0)), lo, hi);
  }
  case WeightFormat::q8_0:
  case WeightFormat::q4_0: {
    bool q4 = type.getFormat() == WeightFormat::q4_0;
    Value blk = e.divu(flat, e.idx(32));
    Value j = e.remu(flat, e.idx(32));
    Value q;
    if (q4) {
      // Byte j % 16 holds element j (low nibble) and j + 16 (high nibble).
      Value byte = e.remu(j, e.idx(16));
      Value word = e.load(table, e.add(e.mul(blk, e.idx(4)), e.divu(byte, e.idx(4))));
      Value shift = e.add(e.mul(e.remu(byte, e.idx(4)), e.idx(8)),
                          e.select(e.ult(j, e.idx(16)), e.idx(0), e.idx(4)));
      Value bits = b.create<arith::AndIOp>(
          loc, b.create<arith::ShRUIOp>(loc, word, shiftOf(shift)), e.i32(0xF));
      q = b.create<arith::SubIOp>(loc, bits, e.i32(8));
    } else {
      Value word = e.load(table, e.add(e.mul(blk, e.idx(8)), e.divu(j, e.idx(4))));
      Value up = e.mul(e.sub(e.idx(3), e.remu(j, e.idx(4))), e.idx(8));
      q = b.create<arith::ShRSIOp>(
          loc, b.create<arith::ShLIOp>(loc, word, shiftOf(up)), e.i32(24));
    }
    Value scaleWord = e.load(
        table, e.add(e.idx(splitScaleChunk(type) * 4), e.divu(blk, e.idx(2))));
    auto [lo, hi] = e.unpackHalves(scaleWord);
    Value scale = e.select(e.eq(e.remu(blk, e.idx(2)), e.idx(0)), lo, hi);
    return e.mulf(e.toF32(q), scale);
  }
  default:
    return Value();
  }
}

/// silu, gelu, add or mul of scalars.
Value applyElementwise(GPUEmitter &e, Operation &op, ArrayRef<Value> operands) {
  if (isa<SiluOp>(op))
    return e.silu(operands[0]);
  if (isa<GeluOp>(op)) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value x = operands[0];
    Value inner = e.fma(e.f32(0.044715f), e.mulf(x, e.mulf(x, x)), x);
    Value t = e.b.create<math::TanhOp>(
        e.loc, e.mulf(e.f32(static_cast<float>(std::sqrt(2.0 / M_PI))), inner));
    return e.mulf(e.mulf(e.f32(0.5f), x), e.addf(e.f32(1.0f), t));
  }
  if (isa<AddOp>(op))
    return e.addf(operands[0], operands[1]);
  if (isa<MulOp>(op))
    return e.mulf(operands[0], operands[1]);
  return Value();
}
} // namespace

LogicalResult emitElementwise(GPUEmitter &e, func::FuncOp kernel,
                              GPUViews &views) {
  Block &body = kernel.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  int64_t cols = innerSize(ret.getOperand(0));
  Value row = e.block[0];
  Value base = e.mul(row, e.idx(cols));
  e.forThreads(e.idx(cols), [&](Value c) {
    Value at = e.add(base, c);
    DenseMap<Value, Value> values;
    auto get = [&](Value v) {
      auto it = values.find(v);
      if (it != values.end())
        return it->second;
      Value loaded = e.load(views.get(v).memref, at);
      values[v] = loaded;
      return loaded;
    };
    for (Operation &op : body.without_terminator()) {
      if (isa<ReshapeOp>(op)) {
        values[op.getResult(0)] = get(op.getOperand(0));
        continue;
      }
      SmallVector<Value> operands;
      for (Value v : op.getOperands())
        operands.push_back(get(v));
      values[op.getResult(0)] = applyElementwise(e, op, operands);
    }
    for (Value r : ret.getOperands())
      e.store(values.lookup(r), views.get(r).memref, at);
  });
  return success();
}

LogicalResult emitEmbedding(GPUEmitter &e, EmbeddingOp op, GPUViews &views) {
  WeightType table = op.getTable().getType();
  if (!chunkElements(table.getFormat()))
    return op.emitOpError() << "GPU embedding of "
                            << stringifyWeightFormat(table.getFormat())
                            << " tables is not supported";
  if (formatBlockElements(table.getFormat()) > 1 &&
      table.getLayout() != WeightLayout::split)
    return op.emitOpError() << "GPU embedding tables of block formats must use "
                               "the split layout";
  int64_t cols = table.getShape()[1];
  Value row = e.block[0];
  Value token = e.toIndex(e.load(views.get(op.getTokens()).memref, row));
  Value src = views.get(op.getTable()).memref;
  Value dst = views.get(op.getResult()).memref;
  Value base = e.mul(row, e.idx(cols));
  e.forThreads(e.idx(cols), [&](Value c) {
    e.store(tableElement(e, table, src, token, c), dst, e.add(base, c));
  });
  return success();
}

/// [residual add ->] rms_norm: one row per workgroup.
LogicalResult emitNorm(GPUEmitter &e, func::FuncOp kernel, GPUViews &views) {
  Block &body = kernel.getBody().front();
  RMSNormOp norm = *body.getOps<RMSNormOp>().begin();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  AddOp add = norm.getInput().getDefiningOp<AddOp>();
  for (Operation *user : norm.getResult().getUsers())
    if (isa<QuantizeActOp>(user))
      return user->emitOpError()
             << "GPU kernels read f32 activations; do not quantize them";
  auto type = norm.getInput().getType();
  if (type.getRank() != 2)
    return norm.emitOpError() << "GPU rms_norm handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  Value row = e.block[0];
  Value base = e.mul(row, e.idx(cols));
  Value gamma = views.get(norm.getGamma()).memref;
  auto isReturned = [&](Value v) { return llvm::is_contained(ret.getOperands(), v); };
  bool storeSum = add && isReturned(add.getResult());
  auto loadInput = [&](Value at) -> Value {
    if (!add)
      return e.load(views.get(norm.getInput()).memref, at);
    return e.addf(e.load(views.get(add.getLhs()).memref, at),
                  e.load(views.get(add.getRhs()).memref, at));
  };
  Value scratch = e.workgroupMemory(e.threads, e.b.getF32Type());
  Value partial = e.forLoop(e.tid, e.idx(cols), e.idx(e.threads), {e.f32(0)},
                            [&](Value c, ValueRange acc) {
                              Value at = e.add(base, c);
                              Value x = loadInput(at);
                              if (storeSum)
                                e.store(x, views.get(add.getResult()).memref, at);
                              return SmallVector<Value>{e.fma(x, x, acc[0])};
                            })[0];
  Value total = e.workgroupSum(partial, scratch);
  Value mean = e.divf(total, e.f32(static_cast<float>(cols)));
  Value scale = e.b.create<math::RsqrtOp>(
      e.loc, e.addf(mean, e.f32(norm.getEps().convertToFloat())));
  Value out = views.get(norm.getResult()).memref;
  e.forThreads(e.idx(cols), [&](Value c) {
    Value at = e.add(base, c);
    // Each thread re-reads the sum it stored itself: no barrier needed.
    Value x = storeSum ? e.load(views.get(add.getResult()).memref, at)
                       : loadInput(at);
    e.store(e.mulf(e.mulf(x, scale), e.load(gamma, c)), out, at);
  });
  return success();
}

Value ropeFrequency(GPUEmitter &e, RopeOp op, Value i) {
  int64_t dim = op.getInput().getType().getDimSize(2);
  double theta = op.getTheta().convertToDouble();
  // theta^(-2i/d) = exp(-(2 ln theta / d) i)
  Value fi = e.toF32(e.b.create<arith::IndexCastOp>(e.loc, e.b.getI32Type(), i));
  Value f = e.exp(e.mulf(fi, e.f32(static_cast<float>(-2.0 * std::log(theta) / dim))));
  RopeScalingAttr scaling = op.getScaling();
  float factor = static_cast<float>(scaling.getFactor().convertToDouble());
  switch (scaling.getKind()) {
  case RopeScalingKind::none:
    return f;
  case RopeScalingKind::linear:
    return e.divf(f, e.f32(factor));
  case RopeScalingKind::llama3: {
    // Hugging Face's llama3 frequency smoothing (as ropeInverseFrequencies).
    double low = scaling.getLowFreqFactor().convertToDouble();
    double high = scaling.getHighFreqFactor().convertToDouble();
    double original = static_cast<double>(scaling.getOriginalMaxPosition());
    Value wavelen = e.divf(e.f32(static_cast<float>(2 * M_PI)), f);
    Value scaled = e.divf(f, e.f32(factor));
    Value smooth = e.divf(
        e.subf(e.divf(e.f32(static_cast<float>(original)), wavelen),
               e.f32(static_cast<float>(low))),
        e.f32(static_cast<float>(high - low)));
    Value mixed = e.addf(e.mulf(e.subf(e.f32(1), smooth), scaled),
                         e.mulf(smooth, f));
    auto gt = [&](Value a, double v) {
      return e.b.create<arith::CmpFOp>(e.loc, arith::CmpFPredicate::OGT, a,
                                       e.f32(static_cast<float>(v)));
    };
    auto ge = [&](Value a, double v) {
      return e.b.create<arith::CmpFOp>(e.loc, arith::CmpFPredicate::OGE, a,
                                       e.f32(static_cast<float>(v)));
    };
    Value midOrHigh = e.select(ge(wavelen, original / high), mixed, f);
    return e.select(gt(wavelen, original / low), scaled, midOrHigh);
  }
  }
  return f;
}

LogicalResult emitRope(GPUEmitter &e, RopeOp op, GPUViews &views) {
  auto type = op.getInput().getType();
  int64_t heads = type.getDimSize(1), dim = type.getDimSize(2), half = dim / 2;
  bool adjacent = op.getStyle() == RopeStyle::adjacent;
  Value row = e.block[0];
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  Value pos = e.toF32(e.load(views.get(op.getPositions()).memref, row));
  Value base = e.mul(row, e.idx(heads * dim));
  e.forThreads(e.idx(heads * half), [&](Value item) {
    Value h = e.divu(item, e.idx(half));
    Value i = e.remu(item, e.idx(half));
    Value angle = e.mulf(pos, ropeFrequency(e, op, i));
    Value c = e.b.create<math::CosOp>(e.loc, angle);
    Value s = e.b.create<math::SinOp>(e.loc, angle);
    Value ia = adjacent ? e.mul(i, e.idx(2)) : i;
    Value ib = adjacent ? e.add(ia, e.idx(1)) : e.add(i, e.idx(half));
    Value head = e.add(base, e.mul(h, e.idx(dim)));
    Value a = e.load(in, e.add(head, ia));
    Value bb = e.load(in, e.add(head, ib));
    e.store(e.subf(e.mulf(a, c), e.mulf(bb, s)), out, e.add(head, ia));
    e.store(e.addf(e.mulf(bb, c), e.mulf(a, s)), out, e.add(head, ib));
  });
  return success();
}

LogicalResult emitKVAppend(GPUEmitter &e, KVAppendOp op, GPUViews &views) {
  KVCacheType cache = op.getCache().getType();
  if (!cache.getElementType().isF32())
    return op.emitOpError() << "GPU KV caches hold f32";
  int64_t width = cache.getKvHeads() * cache.getHeadDim();
  Value row = e.block[0];
  // Slot s = block * block_size + offset: its row of the layer buffer is s.
  Value slot = e.toIndex(e.load(views.get(op.getSlots()).memref, row));
  Value dstBase = e.mul(slot, e.idx(width));
  Value srcBase = e.mul(row, e.idx(width));
  Value keys = views.get(op.getCache()).memref;
  Value values = views.kvValues.lookup(op.getCache()).memref;
  Value k = views.get(op.getKeys()).memref, v = views.get(op.getValues()).memref;
  e.forThreads(e.idx(width), [&](Value c) {
    e.store(e.load(k, e.add(srcBase, c)), keys, e.add(dstBase, c));
    e.store(e.load(v, e.add(srcBase, c)), values, e.add(dstBase, c));
  });
  return success();
}

LogicalResult emitSelectRows(GPUEmitter &e, SelectRowsOp op, GPUViews &views) {
  int64_t cols = innerSize(op.getInput());
  Value row = e.block[0];
  Value source = e.toIndex(e.load(views.get(op.getRows()).memref, row));
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  Value srcBase = e.mul(source, e.idx(cols)), dstBase = e.mul(row, e.idx(cols));
  e.forThreads(e.idx(cols), [&](Value c) {
    e.store(e.load(in, e.add(srcBase, c)), out, e.add(dstBase, c));
  });
  return success();
}

LogicalResult emitSoftmax(GPUEmitter &e, SoftmaxOp op, GPUViews &views) {
  auto type = op.getInput().getType();
  if (type.getRank() != 2)
    return op.emitOpError() << "GPU softmax handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  Value base = e.mul(e.block[0], e.idx(cols));
  Value in = views.get(op.getInput()).memref;
  Value out = views.get(op.getResult()).memref;
  Value scratch = e.workgroupMemory(e.threads, e.b.getF32Type());
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());
  Value localMax = e.forLoop(e.tid, e.idx(cols), e.idx(e.threads), {negInf},
                             [&](Value c, ValueRange acc) {
                               return SmallVector<Value>{
                                   e.maxf(acc[0], e.load(in, e.add(base, c)))};
                             })[0];
  Value max = e.workgroupMax(localMax, scratch);
  Value localSum = e.forLoop(e.tid, e.idx(cols), e.idx(e.threads), {e.f32(0)},
                             [&](Value c, ValueRange acc) {
                               Value at = e.add(base, c);
                               Value p = e.exp(e.subf(e.load(in, at), max));
                               e.store(p, out, at);
                               return SmallVector<Value>{e.addf(acc[0], p)};
                             })[0];
  Value inv = e.divf(e.f32(1), e.workgroupSum(localSum, scratch));
  // Each thread rescales the elements it wrote itself.
  e.forThreads(e.idx(cols), [&](Value c) {
    Value at = e.add(base, c);
    e.store(e.mulf(e.load(out, at), inv), out, at);
  });
  return success();
}

LogicalResult emitArgmax(GPUEmitter &e, ArgmaxOp op, GPUViews &views) {
  auto type = op.getInput().getType();
  if (type.getRank() != 2)
    return op.emitOpError() << "GPU argmax handles [rows, cols] inputs";
  int64_t cols = type.getDimSize(1);
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value row = e.block[0];
  Value base = e.mul(row, e.idx(cols));
  Value in = views.get(op.getInput()).memref;
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());
  // Each thread's best (the first on ties: columns ascend), then a tree
  // over workgroup memory that keeps the lower column on ties.
  SmallVector<Value> best = e.forLoop(
      e.tid, e.idx(cols), e.idx(e.threads), {negInf, e.tid},
      [&](Value c, ValueRange acc) {
        Value x = e.load(in, e.add(base, c));
        Value better = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT,
                                               x, acc[0]);
        return SmallVector<Value>{e.select(better, x, acc[0]),
                                  e.select(better, c, acc[1])};
      });
  Value values = e.workgroupMemory(e.threads, b.getF32Type());
  Value columns = e.workgroupMemory(e.threads, b.getI32Type());
  auto toI32 = [&](Value v) {
    return b.create<arith::IndexCastOp>(loc, b.getI32Type(), v).getResult();
  };
  e.store(best[0], values, e.tid);
  e.store(toI32(best[1]), columns, e.tid);
  int64_t width = 1;
  while (width < e.threads)
    width *= 2;
  for (int64_t stride = width / 2; stride > 0; stride /= 2) {
    e.barrier();
    Value other = e.add(e.tid, e.idx(stride));
    Value active = b.create<arith::AndIOp>(loc, e.ult(e.tid, e.idx(stride)),
                                           e.ult(other, e.idx(e.threads)));
    e.ifThen(active, [&] {
      Value v = e.load(values, e.tid), w = e.load(values, other);
      Value cv = e.load(columns, e.tid), cw = e.load(columns, other);
      Value greater = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, w, v);
      Value tie = b.create<arith::AndIOp>(
          loc, b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, w, v),
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, cw, cv));
      Value take = b.create<arith::OrIOp>(loc, greater, tie);
      e.store(e.select(take, w, v), values, e.tid);
      e.store(e.select(take, cw, cv), columns, e.tid);
    });
  }
  e.barrier();
  e.ifThen(e.eq(e.tid, e.idx(0)), [&] {
    e.store(e.load(columns, e.idx(0)), views.get(op.getResult()).memref, row);
  });
  return success();
}

} // namespace llmc::gpu
