//===- LoopBuilder.cpp - index arithmetic and structured control flow ------===//

#include "codegen/common/LoopBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace llmc::codegen {

Value LoopBuilder::idx(int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value LoopBuilder::i32(int32_t v) {
  return b.create<arith::ConstantIntOp>(loc, v, 32);
}

Value LoopBuilder::f32(float v) {
  return b.create<arith::ConstantFloatOp>(loc, APFloat(v), b.getF32Type());
}

Value LoopBuilder::add(Value a, Value c) {
  return b.create<arith::AddIOp>(loc, a, c);
}

Value LoopBuilder::mul(Value a, Value c) {
  return b.create<arith::MulIOp>(loc, a, c);
}

Value LoopBuilder::toIndex(Value v) {
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), v);
}

Value LoopBuilder::evalSymbolic(AffineExpr expr) {
  if (auto c = dyn_cast<AffineConstantExpr>(expr))
    return idx(c.getValue());
  if (auto s = dyn_cast<AffineSymbolExpr>(expr))
    return symbols[s.getPosition()];
  auto bin = cast<AffineBinaryOpExpr>(expr);
  Value lhs = evalSymbolic(bin.getLHS()), rhs = evalSymbolic(bin.getRHS());
  switch (expr.getKind()) {
  case AffineExprKind::Add: return add(lhs, rhs);
  case AffineExprKind::Mul: return mul(lhs, rhs);
  case AffineExprKind::FloorDiv: return b.create<arith::DivUIOp>(loc, lhs, rhs);
  case AffineExprKind::CeilDiv: return b.create<arith::CeilDivUIOp>(loc, lhs, rhs);
  case AffineExprKind::Mod: return b.create<arith::RemUIOp>(loc, lhs, rhs);
  default: llvm_unreachable("not an expression of symbols");
  }
}

SmallVector<Value> LoopBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange init,
    const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto loop = b.create<scf::ForOp>(
      loc, lb, ub, step, init,
      [&](OpBuilder &nested, Location, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(nested.getInsertionBlock());
        SmallVector<Value> yields = body(iv, args);
        b.create<scf::YieldOp>(loc, yields);
      });
  return SmallVector<Value>(loop.getResults());
}

void LoopBuilder::forLoop(Value lb, Value ub, Value step,
                          const std::function<void(Value)> &body) {
  forLoop(lb, ub, step, ValueRange{}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>{};
  });
}

void LoopBuilder::ifThen(Value cond, const std::function<void()> &then) {
  auto op = b.create<scf::IfOp>(loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getThenRegion().front());
  then();
}

} // namespace llmc::codegen
