//===- EmitAttention.cpp - causal GQA attention over the paged KV cache -------===//
//
// A workgroup is one (token, query head): it streams the keys and values of
// its sequence through the block table, up to and including its own position,
// with an online softmax (running maximum and sum), so the score row is never
// written to memory. The head dimension is one vector.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Emitters.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

LogicalResult emitAttention(KernelEmitter &e, func::FuncOp kernel,
                            AttentionOp op, KernelViews &views) {
  KVCacheType cache = op.getCache().getType();
  auto queryType = op.getQuery().getType();
  int64_t heads = queryType.getDimSize(1), dim = cache.getHeadDim();
  int64_t group = heads / cache.getKvHeads();
  int64_t blockSize = cache.getBlockSize();
  if (dim > 512)
    return op.emitOpError() << "CPU attention handles head_dim up to 512";

  Value t = e.workgroup[0], h = e.workgroup[1];
  Value q = views.get(op.getQuery()).memref;
  // The result is stored, or (fused) reshaped to [tokens, heads * head_dim]
  // and quantized for the next linear layer.
  QuantizeActOp quantize;
  for (Operation *user : op.getResult().getUsers())
    if (auto reshape = dyn_cast<ReshapeOp>(user))
      for (Operation *u : reshape.getResult().getUsers())
        if (auto q8 = dyn_cast<QuantizeActOp>(u))
          quantize = q8;
  if (quantize && dim % 32)
    return op.emitOpError() << "a fused quantization needs head_dim % 32 == 0";
  bool store = llvm::is_contained(
      kernel.getBody().front().getTerminator()->getOperands(), op.getResult());
  Value out = store ? views.get(op.getResult()).memref : Value();
  Value keys = views.get(op.getCache()).memref;
  Value values = views.kvValues.lookup(op.getCache()).memref;
  Value tables = views.get(op.getBlockTables()).memref;
  Value pos = e.toIndex(e.b.create<memref::LoadOp>(
      e.loc, views.get(op.getPositions()).memref, t));
  Value seq = e.toIndex(e.b.create<memref::LoadOp>(
      e.loc, views.get(op.getSeqIds()).memref, t));
  Value kvHead = e.b.create<arith::DivUIOp>(e.loc, h, e.idx(group));

  VectorType vt = e.vecF32(dim);
  Value qv = e.loadVectorF32(q, {t, h, e.idx(0)}, dim);
  Value scale = e.f32(op.getScale().convertToFloat());
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());
  Value end = e.add(pos, e.idx(1));
  SmallVector<Value> state = e.forLoop(
      e.idx(0), end, e.idx(1), {negInf, e.f32(0), e.splat(vt, e.f32(0))},
      [&](Value j, ValueRange s) {
        Value maxSoFar = s[0], sum = s[1], acc = s[2];
        Value blockSlot = e.b.create<arith::DivUIOp>(e.loc, j, e.idx(blockSize));
        Value inBlock = e.b.create<arith::RemUIOp>(e.loc, j, e.idx(blockSize));
        Value block = e.toIndex(e.b.create<memref::LoadOp>(
            e.loc, tables, ValueRange{seq, blockSlot}));
        Value kv = e.loadVectorF32(keys, {block, inBlock, kvHead, e.idx(0)}, dim);
        Value score = e.b.create<arith::MulFOp>(
            e.loc, e.reduceAdd(e.b.create<arith::MulFOp>(e.loc, qv, kv)), scale);
        Value newMax = e.b.create<arith::MaximumFOp>(e.loc, maxSoFar, score);
        Value correction = e.b.create<math::ExpOp>(
            e.loc, e.b.create<arith::SubFOp>(e.loc, maxSoFar, newMax));
        Value p = e.b.create<math::ExpOp>(
            e.loc, e.b.create<arith::SubFOp>(e.loc, score, newMax));
        Value newSum = e.b.create<arith::AddFOp>(
            e.loc, e.b.create<arith::MulFOp>(e.loc, sum, correction), p);
        Value vv =
            e.loadVectorF32(values, {block, inBlock, kvHead, e.idx(0)}, dim);
        Value scaled = e.b.create<arith::MulFOp>(e.loc, acc,
                                                 e.splat(vt, correction));
        Value newAcc =
            e.b.create<vector::FMAOp>(e.loc, e.splat(vt, p), vv, scaled);
        return SmallVector<Value>{newMax, newSum, newAcc};
      });
  Value inv = e.b.create<arith::DivFOp>(e.loc, e.f32(1), state[1]);
  Value result = e.b.create<arith::MulFOp>(e.loc, state[2], e.splat(vt, inv));
  if (out)
    e.b.create<vector::StoreOp>(e.loc, result, out, ValueRange{t, h, e.idx(0)});
  if (quantize) {
    int64_t k = heads * dim;
    Value q8 = views.get(quantize.getResult()).memref;
    for (int64_t blk = 0; blk < dim / 32; ++blk) {
      Value lo = e.b.create<vector::ExtractStridedSliceOp>(
          e.loc, result, ArrayRef<int64_t>{32 * blk}, ArrayRef<int64_t>{16},
          ArrayRef<int64_t>{1});
      Value hi = e.b.create<vector::ExtractStridedSliceOp>(
          e.loc, result, ArrayRef<int64_t>{32 * blk + 16}, ArrayRef<int64_t>{16},
          ArrayRef<int64_t>{1});
      Value block = e.add(e.mul(h, e.idx(dim / 32)), e.idx(blk));
      e.storeQuantizedBlock(q8, t, block, lo, hi, k);
    }
  }
  return success();
}

} // namespace llmc::cpu
