//===- EmitLinear.cpp - y = x W^T (+ bias) on the CPU -------------------------===//
//
// A workgroup computes a tile of 16 output columns (weight rows) for 4 tokens:
// each weight vector is loaded once and multiplied into 4 accumulators, one per
// token. Tokens past the end of the input are clamped for loading and not
// stored, so one code path serves decode (1 token) and prefill (many).
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Emitters.h"

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

LogicalResult emitLinear(KernelEmitter &e, LinearOp op, KernelViews &views) {
  WeightType weight = op.getWeight().getType();
  if (formatBlockElements(weight.getFormat()) > 1 ||
      weight.getLayout() != WeightLayout::plain)
    return op.emitOpError() << "CPU linear on "
                            << stringifyWeightFormat(weight.getFormat())
                            << " weights is not supported yet";
  auto inputType = op.getInput().getType();
  if (inputType.getRank() != 2)
    return op.emitOpError() << "CPU linear handles [tokens, K] inputs";
  int64_t rows = weight.getShape()[0], cols = weight.getShape()[1];
  int64_t lanes = lanesFor(cols, e.options.vectorWidth);
  constexpr int64_t tokensPerGroup = kLinearTokensPerWorkgroup;

  BoundValue input = views.get(op.getInput());
  Value x = input.memref;
  Value w = views.get(op.getWeight()).memref;
  Value y = views.get(op.getResult()).memref;
  Value bias = op.getBias() ? views.get(op.getBias()).memref : Value();
  Value tokens = input.rows;

  Value n0 = e.mul(e.workgroup[0], e.idx(kLinearRowsPerWorkgroup));
  Value nEnd = e.min(e.add(n0, e.idx(kLinearRowsPerWorkgroup)), e.idx(rows));
  Value t0 = e.mul(e.workgroup[1], e.idx(tokensPerGroup));
  Value lastToken = e.b.create<arith::SubIOp>(e.loc, tokens, e.idx(1));
  SmallVector<Value> tokenRows;
  for (int64_t i = 0; i < tokensPerGroup; ++i)
    tokenRows.push_back(e.min(e.add(t0, e.idx(i)), lastToken));

  VectorType vt = e.vecF32(lanes);
  e.forLoop(n0, nEnd, e.idx(1), [&](Value n) {
    SmallVector<Value> init(tokensPerGroup, e.splat(vt, e.f32(0)));
    SmallVector<Value> acc = e.forLoop(
        e.idx(0), e.idx(cols), e.idx(lanes), init,
        [&](Value k, ValueRange accs) {
          Value wv = e.loadVectorF32(w, {n, k}, lanes);
          SmallVector<Value> next;
          for (int64_t i = 0; i < tokensPerGroup; ++i) {
            Value xv = e.b.create<vector::LoadOp>(e.loc, vt, x,
                                                  ValueRange{tokenRows[i], k});
            next.push_back(e.b.create<vector::FMAOp>(e.loc, wv, xv, accs[i]));
          }
          return next;
        });
    Value b = bias ? e.loadScalarF32(bias, {n}) : Value();
    for (int64_t i = 0; i < tokensPerGroup; ++i) {
      Value t = e.add(t0, e.idx(i));
      Value inRange =
          e.b.create<arith::CmpIOp>(e.loc, arith::CmpIPredicate::ult, t, tokens);
      e.ifThen(inRange, [&] {
        Value sum = e.reduceAdd(acc[i]);
        if (b)
          sum = e.b.create<arith::AddFOp>(e.loc, sum, b);
        e.b.create<memref::StoreOp>(e.loc, sum, y, ValueRange{t, n});
      });
    }
  });
  return success();
}

} // namespace llmc::cpu
