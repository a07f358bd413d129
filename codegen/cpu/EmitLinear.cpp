//===- EmitLinear.cpp - linear layers and their fused epilogues on the CPU ------===//
//
// A linear kernel holds one or more linear layers that read the same input
// (q, k and v; gate and up) and what was fused after them: bias, rope, the
// KV cache append, the residual add, SwiGLU and the quantization of the
// result for the next layer.
//
// The grid is (row tiles of all weights, token tiles). A workgroup computes a
// tile of R output rows of one weight for up to 4 tokens into a scratch tile,
// then applies the epilogue to the scratch and stores.
//
// Weights:
//  - f32/f16/bf16 (plain rows) with f32 inputs: one vector accumulator per
//    token along K, each weight vector loaded once for the 4 tokens;
//  - Q8_0/Q4_0 in the rows16 (rows8) layout with int8 activation blocks: a
//    512-bit (256-bit) register holds 4 quants of 16 (8) rows, one row per
//    32-bit lane; 4 activation bytes are broadcast and multiplied in with
//    vpdpbusd (AVX-512 VNNI) or vpmaddubsw + vpmaddwd (AVX2). The unsigned
//    encoding's offset (8 for Q4_0 nibbles, 128 for Q8_0) is removed through
//    the activation block's precomputed sum. Each lane ends with one row's
//    dot product: no horizontal reduction.
//
//===----------------------------------------------------------------------===//

#include "codegen/common/KernelPlans.h"
#include "codegen/cpu/Emitters.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <numeric>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

using llmc::codegen::LinearPlan;
using llmc::codegen::linearTileRows;
using llmc::codegen::planLinear;
using llmc::codegen::ropeInverseFrequencies;

namespace {

int64_t weightRowGroup(WeightType w) {
  switch (w.getLayout()) {
  case WeightLayout::rows16: return 16;
  case WeightLayout::rows8: return 8;
  default: return 0;
  }
}

/// Only computes and stores f32 rows: no bias, rope, SwiGLU, residual, KV
/// append or quantization fused after it (an output matrix).
bool isPlainStore(LinearPlan &plan) {
  return plan.storeF32 && !plan.up && !plan.rope && !plan.kvAppend &&
         !plan.residual && !plan.storeQ8 && !plan.quantize &&
         !plan.linear.getBias() &&
         cast<ShapedType>(plan.storeF32.getType()).getRank() == 2;
}

class LinearEmitter {
public:
  LinearEmitter(KernelEmitter &e, KernelViews &views) : e(e), b(e.b), views(views) {}

  LogicalResult emit(func::FuncOp kernel);

private:
  void emitTile(LinearPlan plan, Value tile, int64_t tileRows);
  void computeTile(LinearOp linear, Value scratch, Value r0, Value rows,
                   int64_t tileRows, int64_t tokensInTile);
  void computeFloat(LinearOp linear, Value scratch, Value r0, Value rows,
                    int64_t tokensInTile);
  void computeInterleaved(LinearOp linear, Value scratch, Value r0, Value rows,
                          int64_t tokensInTile);
  void computePlainQuantized(LinearOp linear, Value scratch, Value r0,
                             Value rows, int64_t tokensInTile);
  void applyRope(LinearPlan plan, Value scratch, Value r0,
                 int64_t tileRows);
  Value intDot(Value acc, Value weights, Value acts, int64_t lanes,
               bool signedWeights);

  KernelEmitter &e;
  OpBuilder &b;
  KernelViews &views;
  // The token tile of this workgroup.
  Value t0, tokens, tileTokens;
  SmallVector<Value, 4> tokenRows; // clamped to the last token
};

} // namespace

LogicalResult LinearEmitter::emit(func::FuncOp kernel) {
  Block &body = kernel.getBody().front();
  SmallVector<Value> returned(body.getTerminator()->getOperands());
  SmallVector<LinearPlan> plans;
  Value input;
  for (LinearOp linear : body.getOps<LinearOp>()) {
    LinearPlan plan;
    if (failed(planLinear(linear, plan, returned)))
      return failure();
    if (input && linear.getInput() != input)
      return linear.emitOpError() << "reads another input than its siblings";
    WeightType w = linear.getWeight().getType();
    bool floatWeights = formatBlockElements(w.getFormat()) == 1;
    bool blockWeights = w.getFormat() == WeightFormat::q8_0 ||
                        w.getFormat() == WeightFormat::q4_0;
    bool int8Input = linear.getInput().getType().getElementType().isInteger(8);
    if (!floatWeights && !blockWeights)
      return linear.emitOpError()
             << "CPU linear on " << stringifyWeightFormat(w.getFormat())
             << " weights is not supported (they are converted to q8_0 "
                "unless the target computes with them)";
    if (blockWeights != int8Input)
      return linear.emitOpError()
             << (blockWeights ? "q8_0/q4_0 weights need int8 activations "
                                "(run --llmc-quantize-activations)"
                              : "float weights need f32 activations");
    input = linear.getInput();
    if (!plan.isUp)
      plans.push_back(plan);
    // A tail of fewer than 16 rows (a vocabulary such as 32001) is stored
    // with a masked store; the fused epilogues work on whole 16-row vectors.
    if (plan.rows() % 16 && !isPlainStore(plan))
      return linear.emitOpError()
             << "CPU linear kernels with a fused epilogue need a multiple of "
                "16 output rows, got "
             << plan.rows();
  }
  int64_t tileRows = linearTileRows(kernel);

  // The token tile.
  t0 = e.mul(e.workgroup[1], e.idx(kLinearTokensPerWorkgroup));
  tokens = views.get(input).rows;
  Value remaining = b.create<arith::SubIOp>(e.loc, tokens, t0);
  tileTokens = e.min(remaining, e.idx(kLinearTokensPerWorkgroup));
  Value last = b.create<arith::SubIOp>(e.loc, tokens, e.idx(1));
  for (int64_t i = 0; i < kLinearTokensPerWorkgroup; ++i)
    tokenRows.push_back(e.min(e.add(t0, e.idx(i)), last));

  // Each weight owns a range of workgroups along x.
  int64_t start = 0;
  for (LinearPlan &plan : plans) {
    int64_t count = (plan.rows() + tileRows - 1) / tileRows;
    Value x = e.workgroup[0];
    Value inRange = b.create<arith::AndIOp>(
        e.loc,
        b.create<arith::CmpIOp>(e.loc, arith::CmpIPredicate::uge, x,
                                e.idx(start)),
        b.create<arith::CmpIOp>(e.loc, arith::CmpIPredicate::ult, x,
                                e.idx(start + count)));
    e.ifThen(inRange, [&] {
      Value tile = b.create<arith::SubIOp>(e.loc, x, e.idx(start));
      emitTile(plan, tile, tileRows);
    });
    start += count;
  }
  return success();
}

void LinearEmitter::emitTile(LinearPlan plan, Value tile,
                             int64_t tileRows) {
  Location loc = e.loc;
  int64_t tt = kLinearTokensPerWorkgroup;
  int64_t n = plan.rows();
  Value r0 = e.mul(tile, e.idx(tileRows));
  Value rows = e.min(e.idx(tileRows), b.create<arith::SubIOp>(loc, e.idx(n), r0));
  auto scratchType = MemRefType::get({tt, tileRows}, b.getF32Type());
  Value scratch = b.create<memref::AllocaOp>(loc, scratchType);
  Value upScratch;
  // Decode usually has one token: a single-token path avoids computing the
  // clamped duplicates.
  Value single = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq,
                                         tileTokens, e.idx(1));
  auto compute = [&](LinearOp linear, Value into) {
    auto branch = b.create<scf::IfOp>(loc, single, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    computeTile(linear, into, r0, rows, tileRows, 1);
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    computeTile(linear, into, r0, rows, tileRows, tt);
  };
  compute(plan.linear, scratch);
  if (plan.up) {
    upScratch = b.create<memref::AllocaOp>(loc, scratchType);
    compute(plan.up, upScratch);
  }
  int64_t lanes = 16;
  VectorType vt = e.vecF32(lanes);
  // Biases first: rope and SwiGLU see biased values.
  auto addBias = [&](LinearOp linear, Value into) {
    if (!linear.getBias())
      return;
    Value bias = views.get(linear.getBias()).memref;
    e.forLoop(e.idx(0), tileTokens, e.idx(1), [&](Value t) {
      e.forLoop(e.idx(0), rows, e.idx(lanes), [&](Value c) {
        Value v = b.create<vector::LoadOp>(loc, vt, into, ValueRange{t, c});
        v = b.create<arith::AddFOp>(
            loc, v, e.loadVectorF32(bias, {e.add(r0, c)}, lanes));
        b.create<vector::StoreOp>(loc, v, into, ValueRange{t, c});
      });
    });
  };
  addBias(plan.linear, scratch);
  if (plan.up)
    addBias(plan.up, upScratch);
  if (plan.rope)
    applyRope(plan, scratch, r0, tileRows);

  // Elementwise epilogue, 16 rows at a time, then the stores.
  Value slots;
  Value cache;
  if (plan.kvKeys || plan.kvValues) {
    slots = views.get(plan.kvAppend.getSlots()).memref;
    BoundValue kv = plan.kvKeys ? views.get(plan.kvAppend.getCache())
                                : views.kvValues.lookup(plan.kvAppend.getCache());
    cache = b.create<memref::CollapseShapeOp>(
        loc, kv.memref, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  }
  KVCacheType cacheType =
      plan.kvAppend ? plan.kvAppend.getCache().getType() : KVCacheType();
  Value out = plan.storeF32 ? views.get(plan.storeF32).memref : Value();
  Value q8 = plan.storeQ8 ? views.get(plan.storeQ8).memref : Value();
  Value residual = plan.residual ? views.get(plan.residual).memref : Value();

  e.forLoop(e.idx(0), tileTokens, e.idx(1), [&](Value t) {
    Value token = e.add(t0, t);
    Value block, inBlock;
    if (cache) {
      Value slot = e.toIndex(b.create<memref::LoadOp>(loc, slots, token));
      block = b.create<arith::DivUIOp>(loc, slot, e.idx(cacheType.getBlockSize()));
      inBlock = b.create<arith::RemUIOp>(loc, slot, e.idx(cacheType.getBlockSize()));
    }
    e.forLoop(e.idx(0), rows, e.idx(lanes), [&](Value c) {
      Value row = e.add(r0, c);
      Value v = b.create<vector::LoadOp>(loc, vt, scratch, ValueRange{t, c});
      if (upScratch) {
        Value up = b.create<vector::LoadOp>(loc, vt, upScratch, ValueRange{t, c});
        v = b.create<arith::MulFOp>(loc, e.silu(v), up);
      }
      if (residual)
        v = b.create<arith::AddFOp>(
            loc, v,
            b.create<vector::LoadOp>(loc, vt, residual, ValueRange{token, row}));
      if (out) {
        auto outType = cast<MemRefType>(out.getType());
        if (outType.getRank() == 3) {
          // [tokens, heads, head_dim]: the flat row index splits in two.
          int64_t d = outType.getDimSize(2);
          Value h = b.create<arith::DivUIOp>(loc, row, e.idx(d));
          Value dd = b.create<arith::RemUIOp>(loc, row, e.idx(d));
          b.create<vector::StoreOp>(loc, v, out, ValueRange{token, h, dd});
        } else if (n % lanes) {
          // The last vector of a tail holds fewer than `lanes` rows.
          Value count = e.min(e.idx(lanes), b.create<arith::SubIOp>(loc, rows, c));
          Value mask = b.create<vector::CreateMaskOp>(
              loc, VectorType::get({lanes}, b.getI1Type()), ValueRange{count});
          b.create<vector::MaskedStoreOp>(loc, out, ValueRange{token, row},
                                          mask, v);
        } else {
          b.create<vector::StoreOp>(loc, v, out, ValueRange{token, row});
        }
      }
      if (cache) {
        Value x = v;
        if (cacheType.getElementType().isF16())
          x = b.create<arith::TruncFOp>(
              loc, VectorType::get({lanes}, b.getF16Type()), x);
        b.create<vector::StoreOp>(loc, x, cache, ValueRange{block, inBlock, row});
      }
      if (q8)
        b.create<vector::StoreOp>(loc, v, scratch, ValueRange{t, c});
    });
    if (q8) {
      int64_t k = n;
      e.forLoop(e.idx(0), rows, e.idx(32), [&](Value c) {
        Value lo = b.create<vector::LoadOp>(loc, vt, scratch, ValueRange{t, c});
        Value hi = b.create<vector::LoadOp>(loc, vt, scratch,
                                            ValueRange{t, e.add(c, e.idx(16))});
        Value blockIndex =
            b.create<arith::DivUIOp>(loc, e.add(r0, c), e.idx(32));
        e.storeQuantizedBlock(q8, token, blockIndex, lo, hi, k);
      });
    }
  });
}

void LinearEmitter::applyRope(LinearPlan plan, Value scratch, Value r0,
                              int64_t tileRows) {
  Location loc = e.loc;
  RopeOp rope = plan.rope;
  int64_t d = rope.getInput().getType().getDimSize(2);
  int64_t half = d / 2;
  bool adjacent = rope.getStyle() == RopeStyle::adjacent;
  std::vector<double> freqs = ropeInverseFrequencies(rope);
  auto tableType = VectorType::get({half}, b.getF64Type());
  Value table = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(tableType, ArrayRef<double>(freqs)));
  Value tableBuf = b.create<memref::AllocaOp>(
      loc, MemRefType::get({half}, b.getF64Type()));
  b.create<vector::StoreOp>(loc, table, tableBuf, ValueRange{e.idx(0)});
  Value positions = views.get(rope.getPositions()).memref;
  // Tiles hold whole heads (half style) or whole pairs (adjacent style).
  int64_t pairsPerTile = tileRows / 2;
  e.forLoop(e.idx(0), tileTokens, e.idx(1), [&](Value t) {
    Value pos = b.create<arith::SIToFPOp>(
        loc, b.getF64Type(),
        b.create<memref::LoadOp>(loc, positions, e.add(t0, t)));
    e.forLoop(e.idx(0), e.idx(pairsPerTile), e.idx(1), [&](Value p) {
      // Pair p of the tile: its two rows and its frequency index.
      Value ia, ib, fi;
      if (adjacent) {
        ia = e.mul(p, e.idx(2));
        ib = e.add(ia, e.idx(1));
        Value rowInHead =
            b.create<arith::RemUIOp>(loc, e.add(r0, ia), e.idx(d));
        fi = b.create<arith::DivUIOp>(loc, rowInHead, e.idx(2));
      } else {
        Value head = b.create<arith::DivUIOp>(loc, p, e.idx(half));
        fi = b.create<arith::RemUIOp>(loc, p, e.idx(half));
        ia = e.add(e.mul(head, e.idx(d)), fi);
        ib = e.add(ia, e.idx(half));
      }
      Value angle = b.create<arith::MulFOp>(
          loc, pos, b.create<memref::LoadOp>(loc, tableBuf, fi));
      Value c = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                          b.create<math::CosOp>(loc, angle));
      Value s = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                          b.create<math::SinOp>(loc, angle));
      Value a = b.create<memref::LoadOp>(loc, scratch, ValueRange{t, ia});
      Value bb = b.create<memref::LoadOp>(loc, scratch, ValueRange{t, ib});
      Value outA = b.create<arith::SubFOp>(loc, b.create<arith::MulFOp>(loc, a, c),
                                           b.create<arith::MulFOp>(loc, bb, s));
      Value outB = b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, bb, c),
                                           b.create<arith::MulFOp>(loc, a, s));
      b.create<memref::StoreOp>(loc, outA, scratch, ValueRange{t, ia});
      b.create<memref::StoreOp>(loc, outB, scratch, ValueRange{t, ib});
    });
  });
}

void LinearEmitter::computeTile(LinearOp linear, Value scratch, Value r0,
                                Value rows, int64_t tileRows,
                                int64_t tokensInTile) {
  WeightType w = linear.getWeight().getType();
  if (weightRowGroup(w))
    return computeInterleaved(linear, scratch, r0, rows, tokensInTile);
  if (formatBlockElements(w.getFormat()) > 1)
    return computePlainQuantized(linear, scratch, r0, rows, tokensInTile);
  computeFloat(linear, scratch, r0, rows, tokensInTile);
}

void LinearEmitter::computeFloat(LinearOp linear, Value scratch, Value r0,
                                 Value rows, int64_t tokensInTile) {
  Location loc = e.loc;
  WeightType weight = linear.getWeight().getType();
  int64_t k = weight.getShape()[1];
  int64_t lanes = lanesFor(k, e.options.vectorWidth);
  Value x = views.get(linear.getInput()).memref;
  Value w = views.get(linear.getWeight()).memref;
  VectorType vt = e.vecF32(lanes);
  e.forLoop(e.idx(0), rows, e.idx(1), [&](Value i) {
    Value n = e.add(r0, i);
    SmallVector<Value> init(tokensInTile, e.splat(vt, e.f32(0)));
    SmallVector<Value> acc = e.forLoop(
        e.idx(0), e.idx(k), e.idx(lanes), init, [&](Value kk, ValueRange accs) {
          Value wv = e.loadVectorF32(w, {n, kk}, lanes);
          SmallVector<Value> next;
          for (int64_t t = 0; t < tokensInTile; ++t) {
            Value xv = b.create<vector::LoadOp>(loc, vt, x,
                                                ValueRange{tokenRows[t], kk});
            next.push_back(b.create<vector::FMAOp>(loc, wv, xv, accs[t]));
          }
          return next;
        });
    for (int64_t t = 0; t < tokensInTile; ++t)
      b.create<memref::StoreOp>(loc, e.reduceAdd(acc[t]), scratch,
                                ValueRange{e.idx(t), i});
  });
}

Value LinearEmitter::intDot(Value acc, Value weights, Value acts, int64_t lanes,
                            bool signedWeights) {
  Location loc = e.loc;
  auto i32v = VectorType::get({lanes}, b.getI32Type());
  if (e.options.hasAVX512VNNI && lanes == 16)
    return b.create<LLVM::CallIntrinsicOp>(
               loc, i32v, b.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
               ValueRange{acc, weights, acts})
        .getResult(0);
  // AVX2: u8 x s8 pairs to i16 (vpmaddubsw), pairs of i16 to i32 (vpmaddwd).
  auto i8v = VectorType::get({lanes * 4}, b.getIntegerType(8));
  auto i16v = VectorType::get({lanes * 2}, b.getIntegerType(16));
  Value w8 = b.create<vector::BitCastOp>(loc, i8v, weights);
  Value a8 = b.create<vector::BitCastOp>(loc, i8v, acts);
  if (signedWeights) {
    // |w| as unsigned and the sign moved onto the activation keeps the
    // pairwise sums within int16.
    a8 = b.create<LLVM::CallIntrinsicOp>(loc, i8v,
                                         b.getStringAttr("llvm.x86.avx2.psign.b"),
                                         ValueRange{a8, w8})
             .getResult(0);
    w8 = b.create<math::AbsIOp>(loc, w8);
  }
  Value pairs = b.create<LLVM::CallIntrinsicOp>(
                    loc, i16v, b.getStringAttr("llvm.x86.avx2.pmadd.ub.sw"),
                    ValueRange{w8, a8})
                    .getResult(0);
  Value ones = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(i16v, b.getI16IntegerAttr(1).getValue()));
  Value quads = b.create<LLVM::CallIntrinsicOp>(
                    loc, i32v, b.getStringAttr("llvm.x86.avx2.pmadd.wd"),
                    ValueRange{pairs, ones})
                    .getResult(0);
  return b.create<arith::AddIOp>(loc, acc, quads);
}

void LinearEmitter::computeInterleaved(LinearOp linear, Value scratch, Value r0,
                                       Value rows, int64_t tokensInTile) {
  Location loc = e.loc;
  WeightType weight = linear.getWeight().getType();
  int64_t k = weight.getShape()[1];
  int64_t blocks = k / 32;
  int64_t group = weightRowGroup(weight);
  bool q4 = weight.getFormat() == WeightFormat::q4_0;
  // rows16 (VNNI) stores Q8_0 quants offset by 128 (unsigned); rows8 (AVX2)
  // keeps them signed for the sign trick.
  bool signedQ8 = !q4 && group != 16;
  int64_t quantBytes = q4 ? 16 : 32;      // per row per block
  int64_t steps = quantBytes / 4;         // 4-byte words per row per block
  int64_t groupBytes = blocks * (quantBytes + 2) * group;
  Value act = views.get(linear.getInput()).memref;
  Value w = views.get(linear.getWeight()).memref;
  auto i32v = VectorType::get({group}, b.getI32Type());
  auto i8Load = VectorType::get({group * 4}, b.getIntegerType(8));
  VectorType f32v = e.vecF32(group);
  Value nibbleMask = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(i32v, b.getI32IntegerAttr(0x0F0F0F0F).getValue()));
  Value four = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(i32v, b.getI32IntegerAttr(4).getValue()));
  Value zero = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(i32v, b.getI32IntegerAttr(0).getValue()));
  int64_t offset = q4 ? -8 : (signedQ8 ? 0 : -128);

  // Dot-product latency, not bandwidth, limits one accumulator: keep
  // `unroll` row groups x tokens x 2 (even/odd words) chains in flight.
  auto computeGroups = [&](Value g, int64_t unroll) {
    SmallVector<Value> bases, scaleBases;
    for (int64_t u = 0; u < unroll; ++u) {
      Value groupIndex = b.create<arith::DivUIOp>(
          loc, e.add(r0, e.add(g, e.idx(u * group))), e.idx(group));
      Value base = e.mul(groupIndex, e.idx(groupBytes));
      bases.push_back(base);
      scaleBases.push_back(e.add(base, e.idx(blocks * quantBytes * group)));
    }
    SmallVector<Value> init(unroll * tokensInTile, e.splat(f32v, e.f32(0)));
    SmallVector<Value> acc = e.forLoop(
        e.idx(0), e.idx(blocks), e.idx(1), init, [&](Value blk, ValueRange accs) {
          Value actBase = e.mul(blk, e.idx(32));
          // Per token: its offset correction and two partial dot products.
          SmallVector<Value> start(tokensInTile, zero);
          if (offset)
            for (int64_t t = 0; t < tokensInTile; ++t) {
              Value sum = e.loadActSum(act, tokenRows[t], blk, k);
              start[t] = b.create<vector::SplatOp>(
                  loc, i32v,
                  b.create<arith::MulIOp>(
                      loc, sum, b.create<arith::ConstantIntOp>(loc, offset, 32)));
            }
          SmallVector<Value> next;
          for (int64_t u = 0; u < unroll; ++u) {
            SmallVector<Value> even(start), odd(tokensInTile, zero);
            Value quantBase =
                e.add(bases[u], e.mul(blk, e.idx(quantBytes * group)));
            for (int64_t s = 0; s < steps; ++s) {
              Value raw = b.create<vector::LoadOp>(
                  loc, i8Load, w,
                  ValueRange{e.add(quantBase, e.idx(s * group * 4))});
              Value word = b.create<vector::BitCastOp>(loc, i32v, raw);
              for (int64_t t = 0; t < tokensInTile; ++t) {
                if (q4) {
                  Value lo = b.create<arith::AndIOp>(loc, word, nibbleMask);
                  Value hi = b.create<arith::AndIOp>(
                      loc, b.create<arith::ShRUIOp>(loc, word, four), nibbleMask);
                  Value aLo = e.broadcastActWord(
                      act, tokenRows[t], e.add(actBase, e.idx(4 * s)), group);
                  Value aHi = e.broadcastActWord(
                      act, tokenRows[t], e.add(actBase, e.idx(16 + 4 * s)), group);
                  even[t] = intDot(even[t], lo, aLo, group, false);
                  odd[t] = intDot(odd[t], hi, aHi, group, false);
                } else {
                  Value a = e.broadcastActWord(act, tokenRows[t],
                                               e.add(actBase, e.idx(4 * s)), group);
                  Value &chain = s % 2 ? odd[t] : even[t];
                  chain = intDot(chain, word, a, group, signedQ8);
                }
              }
            }
            Value scaleBytes = b.create<vector::LoadOp>(
                loc, VectorType::get({2 * group}, b.getIntegerType(8)), w,
                ValueRange{e.add(scaleBases[u], e.mul(blk, e.idx(2 * group)))});
            Value scales = b.create<arith::ExtFOp>(
                loc, f32v,
                b.create<vector::BitCastOp>(
                    loc, VectorType::get({group}, b.getF16Type()), scaleBytes)
                    .getResult());
            for (int64_t t = 0; t < tokensInTile; ++t) {
              Value da = e.loadActScale(act, tokenRows[t], blk, k);
              Value scale =
                  b.create<arith::MulFOp>(loc, scales, e.splat(f32v, da));
              Value dot = b.create<arith::SIToFPOp>(
                  loc, f32v, b.create<arith::AddIOp>(loc, even[t], odd[t]));
              next.push_back(b.create<vector::FMAOp>(
                  loc, dot, scale, accs[u * tokensInTile + t]));
            }
          }
          return next;
        });
    for (int64_t u = 0; u < unroll; ++u)
      for (int64_t t = 0; t < tokensInTile; ++t)
        b.create<vector::StoreOp>(loc, acc[u * tokensInTile + t], scratch,
                                  ValueRange{e.idx(t), e.add(g, e.idx(u * group))});
  };
  int64_t unroll = tokensInTile == 1 ? 4 : 1;
  Value span = e.idx(unroll * group);
  Value whole = e.mul(b.create<arith::DivUIOp>(loc, rows, span), span);
  e.forLoop(e.idx(0), whole, span, [&](Value g) { computeGroups(g, unroll); });
  if (unroll > 1)
    e.forLoop(whole, rows, e.idx(group), [&](Value g) { computeGroups(g, 1); });
}

void LinearEmitter::computePlainQuantized(LinearOp linear, Value scratch,
                                          Value r0, Value rows,
                                          int64_t tokensInTile) {
  // Q8_0/Q4_0 rows as stored (a matrix whose rows are not a whole number of
  // row groups): one row at a time, each block widened to i32 lanes.
  Location loc = e.loc;
  WeightType weight = linear.getWeight().getType();
  int64_t k = weight.getShape()[1];
  int64_t blocks = k / 32;
  bool q4 = weight.getFormat() == WeightFormat::q4_0;
  int64_t blockBytes = q4 ? 18 : 34;
  Value act = views.get(linear.getInput()).memref;
  Value w = views.get(linear.getWeight()).memref;
  auto i32x16 = VectorType::get({16}, b.getI32Type());
  auto i8x16 = VectorType::get({16}, b.getIntegerType(8));
  auto f16x1 = VectorType::get({2}, b.getIntegerType(8));
  e.forLoop(e.idx(0), rows, e.idx(1), [&](Value i) {
    Value n = e.add(r0, i);
    SmallVector<Value> init(tokensInTile, e.f32(0));
    SmallVector<Value> acc = e.forLoop(
        e.idx(0), e.idx(blocks), e.idx(1), init, [&](Value blk, ValueRange accs) {
          Value at = e.mul(e.add(e.mul(n, e.idx(blocks)), blk), e.idx(blockBytes));
          Value dRaw = b.create<vector::LoadOp>(loc, f16x1, w, ValueRange{at});
          Value dw = b.create<arith::ExtFOp>(
              loc, b.getF32Type(),
              b.create<vector::ExtractOp>(
                  loc,
                  b.create<vector::BitCastOp>(
                      loc, VectorType::get({1}, b.getF16Type()), dRaw),
                  ArrayRef<int64_t>{0}).getResult());
          Value q0, q1;
          Value quants = e.add(at, e.idx(2));
          if (q4) {
            Value bytes = b.create<vector::LoadOp>(loc, i8x16, w, ValueRange{quants});
            Value wide = b.create<arith::ExtUIOp>(loc, i32x16, bytes);
            Value mask = b.create<arith::ConstantOp>(
                loc, DenseElementsAttr::get(i32x16, b.getI32IntegerAttr(15).getValue()));
            Value eight = b.create<arith::ConstantOp>(
                loc, DenseElementsAttr::get(i32x16, b.getI32IntegerAttr(8).getValue()));
            Value four = b.create<arith::ConstantOp>(
                loc, DenseElementsAttr::get(i32x16, b.getI32IntegerAttr(4).getValue()));
            q0 = b.create<arith::SubIOp>(loc, b.create<arith::AndIOp>(loc, wide, mask), eight);
            q1 = b.create<arith::SubIOp>(loc, b.create<arith::ShRUIOp>(loc, wide, four), eight);
          } else {
            q0 = b.create<arith::ExtSIOp>(
                loc, i32x16, b.create<vector::LoadOp>(loc, i8x16, w, ValueRange{quants}));
            q1 = b.create<arith::ExtSIOp>(
                loc, i32x16,
                b.create<vector::LoadOp>(loc, i8x16, w,
                                         ValueRange{e.add(quants, e.idx(16))}));
          }
          SmallVector<Value> next;
          for (int64_t t = 0; t < tokensInTile; ++t) {
            Value base = e.mul(blk, e.idx(32));
            Value a0 = b.create<arith::ExtSIOp>(
                loc, i32x16,
                b.create<vector::LoadOp>(loc, i8x16, act, ValueRange{tokenRows[t], base}));
            Value a1 = b.create<arith::ExtSIOp>(
                loc, i32x16,
                b.create<vector::LoadOp>(loc, i8x16, act,
                                         ValueRange{tokenRows[t], e.add(base, e.idx(16))}));
            Value dot = b.create<vector::ReductionOp>(
                loc, vector::CombiningKind::ADD,
                b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, q0, a0),
                                        b.create<arith::MulIOp>(loc, q1, a1)));
            Value da = e.loadActScale(act, tokenRows[t], blk, k);
            Value scaled = b.create<arith::MulFOp>(
                loc, b.create<arith::SIToFPOp>(loc, b.getF32Type(), dot),
                b.create<arith::MulFOp>(loc, dw, da));
            next.push_back(b.create<arith::AddFOp>(loc, accs[t], scaled));
          }
          return next;
        });
    for (int64_t t = 0; t < tokensInTile; ++t)
      b.create<memref::StoreOp>(loc, acc[t], scratch, ValueRange{e.idx(t), i});
  });
}

LogicalResult emitLinearFamily(KernelEmitter &e, func::FuncOp kernel,
                               KernelViews &views) {
  LinearEmitter emitter(e, views);
  return emitter.emit(kernel);
}

} // namespace llmc::cpu
