//===- KernelPlans.cpp - what a fused kernel does, for every target -----------------===//

#include "codegen/common/KernelPlans.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace llmc::llm;

namespace llmc::codegen {

/// Follows a linear's result through the ops of the kernel.
LogicalResult planLinear(LinearOp linear, LinearPlan &plan,
                         ArrayRef<Value> returned) {
  plan.linear = linear;
  Value v = linear.getResult();
  // SwiGLU: silu(gate) * up, with gate and up both linears of the kernel.
  if (v.hasOneUse())
    if (auto silu = dyn_cast<SiluOp>(*v.getUsers().begin()))
      if (silu.getResult().hasOneUse())
        if (auto mul = dyn_cast<MulOp>(*silu.getResult().getUsers().begin())) {
          Value other = mul.getLhs() == silu.getResult() ? mul.getRhs()
                                                         : mul.getLhs();
          if (auto up = other.getDefiningOp<LinearOp>()) {
            plan.up = up;
            v = mul.getResult();
          }
        }
  while (true) {
    bool isReturned = llvm::is_contained(returned, v);
    SmallVector<Operation *> users;
    for (Operation *u : v.getUsers())
      if (!isa<func::ReturnOp>(u))
        users.push_back(u);
    if (isReturned) {
      if (isa<QuantizeActOp>(v.getDefiningOp()))
        plan.storeQ8 = v;
      else if (users.empty() || !isa<ReshapeOp>(users.front()))
        plan.storeF32 = v;
    }
    if (users.empty())
      return success();
    if (users.size() != 1)
      return linear.emitOpError()
             << "has a fused epilogue no target can emit (a value with "
                "several users)";
    Operation *user = users.front();
    if (auto reshape = dyn_cast<ReshapeOp>(user)) {
      auto type = reshape.getResult().getType();
      if (type.getRank() == 3)
        plan.headDim = type.getDimSize(2);
      if (isReturned)
        plan.storeF32 = v;
      v = reshape.getResult();
    } else if (auto rope = dyn_cast<RopeOp>(user)) {
      plan.rope = rope;
      v = rope.getResult();
    } else if (auto append = dyn_cast<KVAppendOp>(user)) {
      plan.kvAppend = append;
      (append.getKeys() == v ? plan.kvKeys : plan.kvValues) = true;
      return success();
    } else if (auto addOp = dyn_cast<AddOp>(user)) {
      plan.residual = addOp.getLhs() == v ? addOp.getRhs() : addOp.getLhs();
      if (!isa<BlockArgument>(plan.residual))
        return addOp.emitOpError() << "adds a value computed in the kernel";
      v = addOp.getResult();
    } else if (auto q = dyn_cast<QuantizeActOp>(user)) {
      plan.quantize = q;
      v = q.getResult();
    } else if (isa<SiluOp, MulOp>(user)) {
      // The up half of a SwiGLU pair: handled by its gate.
      plan.isUp = true;
      return success();
    } else {
      return user->emitOpError()
             << "cannot be fused after a linear layer";
    }
  }
}


int64_t linearTileRows(func::FuncOp kernel, int64_t minimum) {
  int64_t tile = 16;
  kernel.walk([&](Operation *op) {
    if (isa<QuantizeActOp>(op))
      tile = std::lcm(tile, int64_t(32));
    if (auto rope = dyn_cast<RopeOp>(op)) {
      int64_t d = rope.getInput().getType().getDimSize(2);
      tile = std::lcm(tile, rope.getStyle() == RopeStyle::half ? d : 2);
    }
  });
  return std::max<int64_t>(tile, minimum);
}

SmallVector<int64_t> linearTiles(func::FuncOp kernel, int64_t tileRows) {
  SmallVector<int64_t> tiles;
  SmallVector<Value> returned(
      kernel.getBody().front().getTerminator()->getOperands());
  for (LinearOp linear : kernel.getBody().front().getOps<LinearOp>()) {
    LinearPlan plan;
    if (failed(planLinear(linear, plan, returned)) || plan.isUp)
      continue;
    tiles.push_back((plan.rows() + tileRows - 1) / tileRows);
  }
  return tiles;
}

namespace {
bool isElementwiseOp(Operation &op) {
  return isa<SiluOp, GeluOp, AddOp, MulOp, ReshapeOp>(op);
}

/// Leading size of the kernel's main tensor, as an expression of symbols.
FailureOr<AffineExpr> rowsExpr(func::FuncOp kernel) {
  AffineMapAttr shape;
  if (kernel.getNumResults() > 0)
    shape = kernel.getResultAttrOfType<AffineMapAttr>(0, "llm.shape");
  else
    for (unsigned i = 0; i < kernel.getNumArguments() && !shape; ++i)
      if (isa<RankedTensorType>(kernel.getArgumentTypes()[i]))
        shape = kernel.getArgAttrOfType<AffineMapAttr>(i, "llm.shape");
  if (!shape || shape.getValue().getNumResults() == 0)
    return kernel.emitOpError() << "has no symbolic shape to size its grid";
  return shape.getValue().getResult(0);
}

/// The leading (token) size of a kernel argument, as an expression.
FailureOr<AffineExpr> argRows(func::FuncOp kernel, Value arg) {
  auto blockArg = dyn_cast<BlockArgument>(arg);
  if (!blockArg)
    return kernel.emitOpError() << "reads a value computed in the kernel";
  auto shape = kernel.getArgAttrOfType<AffineMapAttr>(blockArg.getArgNumber(),
                                                      "llm.shape");
  if (!shape)
    return kernel.emitOpError() << "has an argument without llm.shape";
  return shape.getValue().getResult(0);
}
} // namespace

Operation *rootOp(func::FuncOp kernel) {
  for (Operation &op : kernel.getBody().front().without_terminator())
    if (!isElementwiseOp(op))
      return &op;
  return nullptr;
}

FailureOr<AffineMap> planGrid(func::FuncOp kernel, unsigned numSymbols,
                              int64_t tileRows, int64_t tokensPerWorkgroup) {
  FailureOr<AffineExpr> rows = rowsExpr(kernel);
  if (failed(rows))
    return failure();
  MLIRContext *ctx = kernel.getContext();
  AffineExpr one = getAffineConstantExpr(1, ctx);
  SmallVector<AffineExpr, 3> grid = {*rows, one, one};
  Block &body = kernel.getBody().front();
  if (!body.getOps<LinearOp>().empty()) {
    LinearOp first = *body.getOps<LinearOp>().begin();
    FailureOr<AffineExpr> tokens = argRows(kernel, first.getInput());
    if (failed(tokens))
      return failure();
    int64_t tiles = 0;
    for (int64_t t : linearTiles(kernel, tileRows))
      tiles += t;
    grid = {getAffineConstantExpr(tiles, ctx),
            (*tokens).ceilDiv(tokensPerWorkgroup), one};
  } else if (!body.getOps<AttentionOp>().empty()) {
    AttentionOp attention = *body.getOps<AttentionOp>().begin();
    FailureOr<AffineExpr> tokens = argRows(kernel, attention.getQuery());
    if (failed(tokens))
      return failure();
    grid = {*tokens,
            getAffineConstantExpr(attention.getQuery().getType().getDimSize(1),
                                  ctx),
            one};
  }
  return AffineMap::get(0, numSymbols, grid, ctx);
}

std::vector<double> ropeInverseFrequencies(RopeOp op) {
  int64_t dim = op.getInput().getType().getDimSize(2);
  double theta = op.getTheta().convertToDouble();
  RopeScalingAttr scaling = op.getScaling();
  double factor = scaling.getFactor().convertToDouble();
  std::vector<double> freqs(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    double f = std::pow(theta, -2.0 * static_cast<double>(i) / dim);
    switch (scaling.getKind()) {
    case RopeScalingKind::none: break;
    case RopeScalingKind::linear: f /= factor; break;
    case RopeScalingKind::llama3: {
      // Hugging Face's llama3 frequency smoothing.
      double low = scaling.getLowFreqFactor().convertToDouble();
      double high = scaling.getHighFreqFactor().convertToDouble();
      double original = static_cast<double>(scaling.getOriginalMaxPosition());
      double lowWavelen = original / low, highWavelen = original / high;
      double wavelen = 2 * M_PI / f;
      if (wavelen > lowWavelen) {
        f /= factor;
      } else if (wavelen >= highWavelen) {
        double smooth = (original / wavelen - low) / (high - low);
        f = (1 - smooth) * f / factor + smooth * f;
      }
      break;
    }
    }
    freqs[i] = f;
  }
  return freqs;
}

} // namespace llmc::codegen
