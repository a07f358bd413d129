//===- EmitAttention.cpp - causal GQA attention over the paged KV cache (GPU) ---===//
//
// A workgroup is one (token, query head). Its keys, 0..position, are taken in
// tiles of kAttentionKeyTile:
//  1. scores: each subgroup takes keys of the tile in turn, its lanes
//     striding head_dim (coalesced reads of the key row), one subgroup sum
//     per key, into workgroup memory (-inf past the position);
//  2. the tile's maximum updates the running maximum m; the probabilities
//     exp(s - m) go to workgroup memory and the running sum is rescaled;
//  3. values: thread (g, d) accumulates dimension d over the keys g, g + G,
//     ... of the tile (G = workgroup / head_dim groups), rescaling its
//     accumulator by exp(m_old - m_new) first;
// then the G partial accumulators are summed through workgroup memory and
// divided by the running sum. Scores are never written to global memory.
//
//===----------------------------------------------------------------------===//

#include "codegen/gpu/GPUKernels.h"

#include <limits>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::gpu {

LogicalResult emitAttention(GPUEmitter &e, func::FuncOp kernel, AttentionOp op,
                            GPUViews &views) {
  KVCacheType cache = op.getCache().getType();
  if (!cache.getElementType().isF32())
    return op.emitOpError() << "GPU KV caches hold f32";
  auto queryType = op.getQuery().getType();
  int64_t heads = queryType.getDimSize(1), dim = cache.getHeadDim();
  int64_t kvHeads = cache.getKvHeads(), group = heads / kvHeads;
  int64_t blockSize = cache.getBlockSize();
  int64_t tableWidth = op.getBlockTables().getType().getDimSize(1);
  if (ShapedType::isDynamic(tableWidth))
    return op.emitOpError() << "needs a static block table width";
  for (Operation *user : op.getResult().getUsers())
    if (isa<QuantizeActOp>(user) ||
        (isa<ReshapeOp>(user) &&
         llvm::any_of(user->getUsers(),
                      [](Operation *u) { return isa<QuantizeActOp>(u); })))
      return op.emitOpError()
             << "GPU kernels read f32 activations; do not quantize them";
  if (!llvm::is_contained(kernel.getBody().front().getTerminator()->getOperands(),
                          op.getResult()))
    return op.emitOpError() << "GPU attention must store its result";
  int64_t groups = e.threads / dim;
  if (groups < 1)
    return op.emitOpError() << "head_dim " << dim << " exceeds the workgroup ("
                            << e.threads << " threads)";
  constexpr int64_t kt = kAttentionKeyTile;

  OpBuilder &b = e.b;
  Location loc = e.loc;
  Type f32 = b.getF32Type();
  Value t = e.block[0], h = e.block[1];
  Value q = views.get(op.getQuery()).memref;
  Value out = views.get(op.getResult()).memref;
  Value keys = views.get(op.getCache()).memref;
  Value values = views.kvValues.lookup(op.getCache()).memref;
  Value tables = views.get(op.getBlockTables()).memref;
  Value pos = e.toIndex(e.load(views.get(op.getPositions()).memref, t));
  Value seq = e.toIndex(e.load(views.get(op.getSeqIds()).memref, t));
  Value kvHead = e.divu(h, e.idx(group));
  Value qBase = e.mul(e.add(e.mul(t, e.idx(heads)), h), e.idx(dim));
  Value tableRow = e.mul(seq, e.idx(tableWidth));
  // Index of key/value row j of this sequence and KV head in a layer buffer.
  auto rowOf = [&](Value j) {
    Value block = e.toIndex(e.load(tables, e.add(tableRow, e.divu(j, e.idx(blockSize)))));
    Value slot = e.add(e.mul(block, e.idx(blockSize)), e.remu(j, e.idx(blockSize)));
    return e.mul(e.add(e.mul(slot, e.idx(kvHeads)), kvHead), e.idx(dim));
  };

  Value qs = e.workgroupMemory(dim, f32);
  Value scores = e.workgroupMemory(kt, f32);
  Value probs = e.workgroupMemory(kt, f32);
  Value partial = e.workgroupMemory(groups * dim, f32);
  Value scale = e.f32(op.getScale().convertToFloat());
  Value negInf = e.f32(-std::numeric_limits<float>::infinity());

  e.forThreads(e.idx(dim), [&](Value d) {
    e.store(e.mulf(e.load(q, e.add(qBase, d)), scale), qs, d);
  });
  e.barrier();

  Value g = e.divu(e.tid, e.idx(dim));
  Value d = e.remu(e.tid, e.idx(dim));
  Value active = e.ult(e.tid, e.idx(groups * dim));
  Value tiles = e.divu(e.add(pos, e.idx(kt)), e.idx(kt));
  SmallVector<Value> state = e.forLoop(
      e.idx(0), tiles, e.idx(1), {negInf, e.f32(0), e.f32(0)},
      [&](Value tile, ValueRange s) {
        Value maxSoFar = s[0], sum = s[1], acc = s[2];
        Value j0 = e.mul(tile, e.idx(kt));
        // 1. Scores of the tile's keys, one subgroup per key.
        e.forLoop(e.subgroup, e.idx(kt), e.numSubgroups, [&](Value jj) {
          Value j = e.add(j0, jj);
          Value valid = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, j, pos);
          Value row = rowOf(e.min(j, pos));
          Value dot = e.forLoop(e.lane, e.idx(dim), e.subgroupSize, {e.f32(0)},
                                [&](Value dd, ValueRange a) {
                                  return SmallVector<Value>{e.fma(
                                      e.load(qs, dd), e.load(keys, e.add(row, dd)),
                                      a[0])};
                                })[0];
          Value score = e.subgroupSum(dot);
          e.ifThen(e.eq(e.lane, e.idx(0)),
                   [&] { e.store(e.select(valid, score, negInf), scores, jj); });
        });
        e.barrier();
        // 2. The running maximum, the tile's probabilities and the sum.
        Value tileMax = e.forLoop(e.idx(0), e.idx(kt), e.idx(1), {negInf},
                                  [&](Value jj, ValueRange a) {
                                    return SmallVector<Value>{
                                        e.maxf(a[0], e.load(scores, jj))};
                                  })[0];
        Value newMax = e.maxf(maxSoFar, tileMax);
        Value correction = e.exp(e.subf(maxSoFar, newMax));
        e.ifThen(e.ult(e.tid, e.idx(kt)), [&] {
          e.store(e.exp(e.subf(e.load(scores, e.tid), newMax)), probs, e.tid);
        });
        e.barrier();
        Value tileSum = e.forLoop(e.idx(0), e.idx(kt), e.idx(1), {e.f32(0)},
                                  [&](Value jj, ValueRange a) {
                                    return SmallVector<Value>{
                                        e.addf(a[0], e.load(probs, jj))};
                                  })[0];
        Value newSum = e.fma(sum, correction, tileSum);
        // 3. Values: thread (g, d) takes keys g, g + G, ... of the tile.
        Value first = e.select(active, g, e.idx(kt));
        Value newAcc = e.forLoop(
            first, e.idx(kt), e.idx(groups), {e.mulf(acc, correction)},
            [&](Value jj, ValueRange a) {
              Value row = rowOf(e.min(e.add(j0, jj), pos));
              return SmallVector<Value>{e.fma(e.load(probs, jj),
                                              e.load(values, e.add(row, d)), a[0])};
            })[0];
        e.barrier(); // the next tile overwrites scores and probabilities
        return SmallVector<Value>{newMax, newSum, newAcc};
      });

  e.ifThen(active, [&] { e.store(state[2], partial, e.tid); });
  e.barrier();
  e.ifThen(e.ult(e.tid, e.idx(dim)), [&] {
    Value total = e.forLoop(e.idx(0), e.idx(groups), e.idx(1), {e.f32(0)},
                            [&](Value gg, ValueRange a) {
                              return SmallVector<Value>{e.addf(
                                  a[0], e.load(partial, e.add(e.mul(gg, e.idx(dim)),
                                                              e.tid)))};
                            })[0];
    e.store(e.divf(total, state[1]), out, e.add(qBase, e.tid));
  });
  return success();
}

} // namespace llmc::gpu
