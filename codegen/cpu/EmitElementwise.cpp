//===- EmitElementwise.cpp - chains of silu, gelu, add and mul ----------------===//
//
// A workgroup is one row: every op of the chain is applied to vectors of the
// row, loading each input once and storing only the kernel's results.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Emitters.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::cpu {

namespace {
Value constantLike(KernelEmitter &e, Type type, float v) {
  Value c = e.f32(v);
  if (auto vt = dyn_cast<VectorType>(type))
    return e.splat(vt, c);
  return c;
}

/// silu(x) = x / (1 + exp(-x)).
Value emitSilu(KernelEmitter &e, Value x) {
  Value negX = e.b.create<arith::NegFOp>(e.loc, x);
  Value denom = e.b.create<arith::AddFOp>(
      e.loc, constantLike(e, x.getType(), 1.0f),
      e.b.create<math::ExpOp>(e.loc, negX));
  return e.b.create<arith::DivFOp>(e.loc, x, denom);
}

/// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
Value emitGelu(KernelEmitter &e, Value x) {
  Type t = x.getType();
  Value x3 = e.b.create<arith::MulFOp>(e.loc, x,
                                       e.b.create<arith::MulFOp>(e.loc, x, x));
  Value inner = e.b.create<arith::AddFOp>(
      e.loc, x,
      e.b.create<arith::MulFOp>(e.loc, constantLike(e, t, 0.044715f), x3));
  Value scaled = e.b.create<arith::MulFOp>(
      e.loc, constantLike(e, t, static_cast<float>(std::sqrt(2.0 / M_PI))),
      inner);
  Value onePlus = e.b.create<arith::AddFOp>(
      e.loc, constantLike(e, t, 1.0f), e.b.create<math::TanhOp>(e.loc, scaled));
  return e.b.create<arith::MulFOp>(
      e.loc, e.b.create<arith::MulFOp>(e.loc, constantLike(e, t, 0.5f), x),
      onePlus);
}
} // namespace

LogicalResult emitElementwise(KernelEmitter &e, func::FuncOp kernel,
                              KernelViews &views) {
  auto ret = cast<func::ReturnOp>(kernel.getBody().front().getTerminator());
  auto resultType = cast<RankedTensorType>(ret.getOperand(0).getType());
  if (resultType.getRank() != 2)
    return kernel.emitOpError() << "CPU elementwise kernels handle [rows, cols]";
  int64_t cols = resultType.getDimSize(1);
  int64_t lanes = lanesFor(cols, e.options.vectorWidth);
  VectorType vt = e.vecF32(lanes);
  Value row = e.workgroup[0];

  e.forLoop(e.idx(0), e.idx(cols), e.idx(lanes), [&](Value c) {
    DenseMap<Value, Value> vectors;
    auto get = [&](Value v) -> Value {
      auto it = vectors.find(v);
      if (it != vectors.end())
        return it->second;
      Value loaded = e.b.create<vector::LoadOp>(e.loc, vt, views.get(v).memref,
                                                ValueRange{row, c});
      vectors[v] = loaded;
      return loaded;
    };
    for (Operation &op : kernel.getBody().front().without_terminator()) {
      Value result;
      if (isa<SiluOp>(op))
        result = emitSilu(e, get(op.getOperand(0)));
      else if (isa<GeluOp>(op))
        result = emitGelu(e, get(op.getOperand(0)));
      else if (isa<AddOp>(op))
        result = e.b.create<arith::AddFOp>(e.loc, get(op.getOperand(0)),
                                           get(op.getOperand(1)));
      else if (isa<MulOp>(op))
        result = e.b.create<arith::MulFOp>(e.loc, get(op.getOperand(0)),
                                           get(op.getOperand(1)));
      vectors[op.getResult(0)] = result;
    }
    for (Value r : ret.getOperands())
      e.b.create<vector::StoreOp>(e.loc, vectors.lookup(r),
                                  views.get(r).memref, ValueRange{row, c});
  });
  return success();
}

} // namespace llmc::cpu
