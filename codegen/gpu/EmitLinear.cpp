//===- EmitLinear.cpp - linear layers and their fused epilogues on GPUs ---------===//
//
// The kernel structure is the CPU's (codegen/cpu/EmitLinear.cpp): one or more
// linear layers reading the same input, each followed by its fused epilogue
// (bias, rope, KV append, residual add, SwiGLU); the grid is (row tiles of
// all weights, token tiles of 4).
//
// A workgroup computes a tile of R rows x up to 4 tokens:
//  - each subgroup takes 4 rows at a time; its lanes stride the rows in
//    16-byte chunks (f32: 4 elements, f16: 8, Q8_0: half a block, Q4_0: a
//    block), so a subgroup's loads are consecutive 16-byte vectors of one
//    row: coalesced, and the input chunk is loaded once for the 4 rows;
//  - block formats are read in the split layout (quants, then f16 scales);
//    a chunk's products are summed and scaled once;
//  - one subgroup reduction per (row, token) leaves the dot products in a
//    tile in workgroup memory;
//  - after a barrier, the workgroup runs the epilogue over the tile (rope
//    pairs across threads behind one more barrier) and stores.
// A one-token version (decode) and a four-token version are both emitted,
// chosen by the tile's token count.
//
// On CUDA a workgroup takes 32 tokens, and tiles of more than 4 (prefill)
// use tensor cores: per 32-wide step along K, the 32 input rows are
// converted to f16 and the weight rows dequantized to f16 into workgroup
// memory (transposed, [k][row], so both operands load row-major), then each
// warp multiplies its 16x16 output fragments with WMMA m16n16k16 (f16 in,
// f32 accumulated). Activations rounded to f16 make prefill logits differ
// from f32 by about 1e-2; decode (one token) stays f32.
//
//===----------------------------------------------------------------------===//

#include "codegen/gpu/GPUKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace llmc::llm;

namespace llmc::gpu {

using codegen::kLinearTokensPerWorkgroup;
using codegen::LinearPlan;
using codegen::planLinear;

namespace {

class LinearEmitter {
public:
  LinearEmitter(GPUEmitter &e, GPUViews &views, bool tiledPrefill)
      : e(e), b(e.b), views(views), tiledRequested(tiledPrefill) {}

  LogicalResult emit(func::FuncOp kernel);

private:
  void emitTile(LinearPlan plan, Value tileIndex);
  void compute(LinearOp linear, Value into, Value r0, Value rows,
               int64_t tokensInTile, Value tokenOffset);
  /// Up to 4 tokens with subgroup dot products (1 and 4 token versions).
  void computeSIMT(LinearOp linear, Value into, Value r0, Value rows);
  /// CUDA, more than 4 tokens: tensor cores.
  void computeMMA(LinearOp linear, Value into, Value r0, Value rows);
  /// The 4 weights of piece `p` (4 elements) of a 16-byte chunk, as f32.
  SmallVector<Value, 4> decodePiece(WeightFormat format, Value chunk, int64_t p);
  Value chunkScale(WeightType type, Value weights, Value block);
  void epilogue(LinearPlan plan, Value r0, Value rows);

  GPUEmitter &e;
  OpBuilder &b;
  GPUViews &views;
  bool tiledRequested, tiled = false;
  int64_t tileRows = 0, tileTokensMax = 0;
  Value t0, tokens, tileTokens;
  Value tile, upTile; // [tokens][tileRows] in workgroup memory
  Value stageA, stageB; // CUDA: f16 operands of the tensor-core path
};

} // namespace

int64_t gpuLinearTileRows(func::FuncOp kernel) {
  return codegen::linearTileRows(kernel, /*minimum=*/16);
}

namespace {
/// K elements per tiled step (one Q8_0/Q4_0 block), tokens per tile.
constexpr int64_t kMMAStepK = 32, kMMATokens = 32;
/// Row padding of the staging arrays (keeps 16-byte strides and spreads the
/// rows over shared-memory banks).
constexpr int64_t kMMAPad = 8;
/// Workgroup memory every Vulkan device offers.
constexpr int64_t kVulkanSharedBytes = 32768;
} // namespace

bool usesTiledPrefill(func::FuncOp kernel, GPUTarget target, bool requested) {
  if (kernel.getBody().front().getOps<LinearOp>().empty())
    return false;
  if (target == GPUTarget::CUDA)
    return true;
  if (!requested)
    return false;
  // f32 staging: the output and up tiles, A and B.
  int64_t rows = gpuLinearTileRows(kernel);
  int64_t bytes = 4 * (2 * kMMATokens * rows + kMMATokens * (kMMAStepK + kMMAPad) +
                       kMMAStepK * (rows + kMMAPad));
  return bytes <= kVulkanSharedBytes;
}

int64_t linearTokensPerWorkgroup(func::FuncOp kernel, GPUTarget target,
                                 bool tiledPrefill) {
  return usesTiledPrefill(kernel, target, tiledPrefill) ? kMMATokens
                                                        : kLinearTokensPerWorkgroup;
}

LogicalResult LinearEmitter::emit(func::FuncOp kernel) {
  Block &body = kernel.getBody().front();
  SmallVector<Value> returned(body.getTerminator()->getOperands());
  SmallVector<LinearPlan> plans;
  Value input;
  bool anyUp = false;
  for (LinearOp linear : body.getOps<LinearOp>()) {
    LinearPlan plan;
    if (failed(planLinear(linear, plan, returned)))
      return failure();
    if (input && linear.getInput() != input)
      return linear.emitOpError() << "reads another input than its siblings";
    input = linear.getInput();
    WeightType w = linear.getWeight().getType();
    int64_t k = w.getShape()[1];
    if (!chunkElements(w.getFormat()))
      return linear.emitOpError()
             << "GPU linear on " << stringifyWeightFormat(w.getFormat())
             << " weights is not supported (they are converted to q8_0 "
                "unless the target computes with them)";
    if (formatBlockElements(w.getFormat()) > 1 &&
        w.getLayout() != WeightLayout::split)
      return linear.emitOpError()
             << "GPU linear layers read block formats in the split layout";
    if (k % chunkElements(w.getFormat()))
      return linear.emitOpError() << "GPU linear layers need rows of a multiple of "
                                  << chunkElements(w.getFormat()) << " "
                                  << stringifyWeightFormat(w.getFormat())
                                  << " elements, got " << k;
    if (!linear.getInput().getType().getElementType().isF32())
      return linear.emitOpError()
             << "GPU linear layers read f32 activations; do not quantize them";
    if (plan.quantize || plan.storeQ8)
      return linear.emitOpError()
             << "GPU kernels read f32 activations; do not quantize them";
    if (plan.kvAppend && !plan.kvAppend.getCache().getType().getElementType().isF32())
      return linear.emitOpError() << "GPU KV caches hold f32";
    anyUp |= static_cast<bool>(plan.up);
    if (!plan.isUp)
      plans.push_back(plan);
  }
  tileRows = gpuLinearTileRows(kernel);
  tiled = usesTiledPrefill(kernel, e.target, tiledRequested);
  int64_t tt = tileTokensMax =
      linearTokensPerWorkgroup(kernel, e.target, tiledRequested);
  tile = e.workgroupMemory(tt * tileRows, b.getF32Type());
  if (anyUp)
    upTile = e.workgroupMemory(tt * tileRows, b.getF32Type());
  if (tiled) {
    // Tensor cores take f16 operands; the Vulkan version stages f32.
    Type staged = e.target == GPUTarget::CUDA ? b.getF16Type() : b.getF32Type();
    stageA = e.workgroupMemory2D(kMMATokens, kMMAStepK + kMMAPad, staged);
    stageB = e.workgroupMemory2D(kMMAStepK, tileRows + kMMAPad, staged);
  }

  t0 = e.mul(e.block[1], e.idx(tt));
  tokens = views.get(input).rows;
  tileTokens = e.min(e.sub(tokens, t0), e.idx(tt));

  // Each weight owns a range of workgroups along x.
  int64_t start = 0;
  for (LinearPlan &plan : plans) {
    int64_t count = (plan.rows() + tileRows - 1) / tileRows;
    Value x = e.block[0];
    Value inRange = b.create<arith::AndIOp>(
        e.loc,
        b.create<arith::CmpIOp>(e.loc, arith::CmpIPredicate::uge, x, e.idx(start)),
        e.ult(x, e.idx(start + count)));
    e.ifThen(inRange, [&] { emitTile(plan, e.sub(x, e.idx(start))); });
    start += count;
  }
  return success();
}

void LinearEmitter::emitTile(LinearPlan plan, Value tileIndex) {
  int64_t n = plan.linear.getWeight().getType().getShape()[0];
  Value r0 = e.mul(tileIndex, e.idx(tileRows));
  Value rows = e.min(e.idx(tileRows), e.sub(e.idx(n), r0));
  auto both = [&](LinearOp linear, Value into) {
    if (!tiled)
      return computeSIMT(linear, into, r0, rows);
    e.ifThenElse(
        b.create<arith::CmpIOp>(e.loc, arith::CmpIPredicate::ule, tileTokens,
                                e.idx(kLinearTokensPerWorkgroup)),
        [&] { computeSIMT(linear, into, r0, rows); },
        [&] { computeMMA(linear, into, r0, rows); });
  };
  both(plan.linear, tile);
  if (plan.up)
    both(plan.up, upTile);
  e.barrier();
  epilogue(plan, r0, rows);
}

SmallVector<Value, 4> LinearEmitter::decodePiece(WeightFormat format, Value chunk,
                                                 int64_t p) {
  SmallVector<Value, 4> w;
  switch (format) {
  case WeightFormat::f32:
    for (int64_t i = 0; i < 4; ++i)
      w.push_back(e.extract(chunk, i));
    break;
  case WeightFormat::f16:
    for (int64_t word = 2 * p; word < 2 * p + 2; ++word) {
      auto [lo, hi] = e.unpackHalves(e.extract(chunk, word));
      w.push_back(lo);
      w.push_back(hi);
    }
    break;
  case WeightFormat::q8_0: {
    Value word = e.extract(chunk, p);
    for (int64_t j = 0; j < 4; ++j)
      w.push_back(e.toF32(e.signedByte(word, j)));
    break;
  }
  case WeightFormat::q4_0: {
    // Elements 0..15 are the low nibbles of bytes 0..15, 16..31 the high.
    Value word = e.extract(chunk, p % 4);
    int64_t high = p >= 4 ? 4 : 0;
    for (int64_t j = 0; j < 4; ++j)
      w.push_back(e.toF32(
          b.create<arith::SubIOp>(e.loc, e.nibble(word, 8 * j + high), e.i32(8))));
    break;
  }
  default:
    llvm_unreachable("checked by emit()");
  }
  return w;
}

Value LinearEmitter::chunkScale(WeightType type, Value weights, Value block) {
  // 8 f16 scales per 16-byte chunk of the scale section.
  Value chunk = e.load(weights, e.add(e.idx(splitScaleChunk(type)),
                                      e.divu(block, e.idx(8))));
  Value word = b.create<vector::ExtractElementOp>(
      e.loc, chunk,
      b.create<arith::IndexCastOp>(e.loc, b.getI32Type(),
                                   e.remu(e.divu(block, e.idx(2)), e.idx(4))));
  auto [lo, hi] = e.unpackHalves(word);
  return e.select(e.eq(e.remu(block, e.idx(2)), e.idx(0)), lo, hi);
}

void LinearEmitter::computeSIMT(LinearOp linear, Value into, Value r0,
                                Value rows) {
  e.ifThenElse(
      e.eq(tileTokens, e.idx(1)),
      [&] { compute(linear, into, r0, rows, 1, e.idx(0)); },
      [&] {
        // Groups of 4 tokens (one group unless the tile is larger).
        e.forLoop(e.idx(0), tileTokens, e.idx(kLinearTokensPerWorkgroup),
                  [&](Value offset) {
                    compute(linear, into, r0, rows, kLinearTokensPerWorkgroup,
                            offset);
                  });
      });
}

void LinearEmitter::computeMMA(LinearOp linear, Value into, Value r0,
                               Value rows) {
  WeightType type = linear.getWeight().getType();
  WeightFormat format = type.getFormat();
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  if (k % kMMAStepK) // no whole steps: the SIMT kernel in groups of 4 tokens
    return computeSIMT(linear, into, r0, rows);
  Location loc = e.loc;
  bool tensorCores = e.target == GPUTarget::CUDA;
  int64_t ce = chunkElements(format);
  int64_t chunks = k / ce, chunksPerStep = kMMAStepK / ce, pieces = ce / 4;
  bool blocks = formatBlockElements(format) > 1;
  Value x = views.get(linear.getInput()).memref;
  Value w = views.get(linear.getWeight()).memref;
  Type f16 = b.getF16Type();
  auto stage = [&](Value v) -> Value {
    return tensorCores ? b.create<arith::TruncFOp>(loc, f16, v).getResult() : v;
  };

  // Tensor cores: warp i's fragments are output tokens [fTok, +16) x rows
  // [fRow, +16); warps without a fragment of their own repeat the last one
  // (not stored). SIMT: thread tid owns outputs tid, tid + threads, ...
  int64_t warps = e.threads / 32;
  int64_t fragments = (kMMATokens / 16) * (tileRows / 16);
  int64_t perWarp = (fragments + warps - 1) / warps;
  int64_t perThread = (kMMATokens * tileRows + e.threads - 1) / e.threads;
  auto fragA = mlir::gpu::MMAMatrixType::get({16, 16}, f16, "AOp");
  auto fragB = mlir::gpu::MMAMatrixType::get({16, 16}, f16, "BOp");
  auto fragC = mlir::gpu::MMAMatrixType::get({16, 16}, b.getF32Type(), "COp");
  SmallVector<Value, 4> fTok, fRow, owns;
  SmallVector<Value> init;
  if (tensorCores) {
    for (int64_t i = 0; i < perWarp; ++i) {
      Value f = e.add(e.subgroup, e.idx(i * warps));
      owns.push_back(e.ult(f, e.idx(fragments)));
      f = e.min(f, e.idx(fragments - 1));
      fTok.push_back(e.mul(e.remu(f, e.idx(kMMATokens / 16)), e.idx(16)));
      fRow.push_back(e.mul(e.divu(f, e.idx(kMMATokens / 16)), e.idx(16)));
    }
    init.assign(perWarp, b.create<mlir::gpu::SubgroupMmaConstantMatrixOp>(
                             loc, fragC, e.f32(0)));
  } else {
    init.assign(perThread, e.f32(0));
  }
  // Output `i` of this thread (SIMT), clamped into the tile.
  auto simtOutput = [&](int64_t i) {
    Value o = e.min(e.add(e.tid, e.idx(i * e.threads)),
                    e.idx(kMMATokens * tileRows - 1));
    return std::pair{e.divu(o, e.idx(tileRows)), e.remu(o, e.idx(tileRows))};
  };

  Value lastToken = e.sub(tokens, e.idx(1));
  SmallVector<Value> acc = e.forLoop(
      e.idx(0), e.idx(k / kMMAStepK), e.idx(1), init,
      [&](Value step, ValueRange a) {
        e.barrier(); // the previous step's operands are consumed
        // A: 32 tokens x 32 inputs, [token][k].
        e.forThreads(e.idx(kMMATokens * kMMAStepK / 4), [&](Value item) {
          Value t = e.divu(item, e.idx(kMMAStepK / 4));
          Value p = e.remu(item, e.idx(kMMAStepK / 4));
          Value token = e.min(e.add(t0, t), lastToken);
          Value xv = e.load(x, e.add(e.mul(token, e.idx(k / 4)),
                                     e.add(e.mul(step, e.idx(kMMAStepK / 4)), p)));
          for (int64_t i = 0; i < 4; ++i)
            b.create<memref::StoreOp>(
                loc, stage(e.extract(xv, i)), stageA,
                ValueRange{t, e.add(e.mul(p, e.idx(4)), e.idx(i))});
        });
        // B: the tile's weight rows dequantized as they are loaded, [k][row].
        e.forThreads(e.idx(tileRows * chunksPerStep), [&](Value item) {
          Value r = e.divu(item, e.idx(chunksPerStep));
          Value cc = e.remu(item, e.idx(chunksPerStep));
          Value row = e.min(e.add(r0, r), e.idx(n - 1));
          Value chunk = e.load(w, e.add(e.mul(row, e.idx(chunks)),
                                        e.add(e.mul(step, e.idx(chunksPerStep)), cc)));
          Value scale = blocks ? chunkScale(type, w,
                                            e.add(e.mul(row, e.idx(k / 32)), step))
                               : Value();
          for (int64_t p = 0; p < pieces; ++p) {
            SmallVector<Value, 4> ws = decodePiece(format, chunk, p);
            for (int64_t i = 0; i < 4; ++i) {
              Value v = blocks ? e.mulf(ws[i], scale) : ws[i];
              Value kk = e.add(e.mul(cc, e.idx(ce)), e.idx(4 * p + i));
              b.create<memref::StoreOp>(loc, stage(v), stageB, ValueRange{kk, r});
            }
          }
        });
        e.barrier();
        SmallVector<Value> next(a);
        if (tensorCores) {
          for (int64_t i = 0; i < perWarp; ++i)
            for (int64_t ks = 0; ks < kMMAStepK; ks += 16) {
              Value fa = b.create<mlir::gpu::SubgroupMmaLoadMatrixOp>(
                  loc, fragA, stageA, ValueRange{fTok[i], e.idx(ks)},
                  b.getIndexAttr(kMMAStepK + kMMAPad), UnitAttr());
              Value fb = b.create<mlir::gpu::SubgroupMmaLoadMatrixOp>(
                  loc, fragB, stageB, ValueRange{e.idx(ks), fRow[i]},
                  b.getIndexAttr(tileRows + kMMAPad), UnitAttr());
              next[i] = b.create<mlir::gpu::SubgroupMmaComputeOp>(
                  loc, fragC, fa, fb, next[i], UnitAttr(), UnitAttr());
            }
          return next;
        }
        for (int64_t i = 0; i < perThread; ++i) {
          auto [t, r] = simtOutput(i);
          next[i] = e.forLoop(e.idx(0), e.idx(kMMAStepK), e.idx(1), {next[i]},
                              [&](Value kk, ValueRange s) {
                                Value av = b.create<memref::LoadOp>(
                                    loc, stageA, ValueRange{t, kk});
                                Value bv = b.create<memref::LoadOp>(
                                    loc, stageB, ValueRange{kk, r});
                                return SmallVector<Value>{e.fma(av, bv, s[0])};
                              })[0];
        }
        return next;
      });

  if (!tensorCores) {
    for (int64_t i = 0; i < perThread; ++i) {
      auto [t, r] = simtOutput(i);
      e.ifThen(e.ult(e.add(e.tid, e.idx(i * e.threads)),
                     e.idx(kMMATokens * tileRows)),
               [&] { e.store(acc[i], into, e.add(e.mul(t, e.idx(tileRows)), r)); });
    }
    return;
  }
  // The fragments into the f32 tile, [token][row].
  auto tileType = MemRefType::get({kMMATokens, tileRows}, b.getF32Type(),
                                  MemRefLayoutAttrInterface(),
                                  cast<MemRefType>(into.getType()).getMemorySpace());
  Value tile2D = b.create<memref::ExpandShapeOp>(
      loc, tileType, into, SmallVector<ReassociationIndices>{{0, 1}});
  for (int64_t i = 0; i < perWarp; ++i)
    e.ifThen(owns[i], [&] {
      b.create<mlir::gpu::SubgroupMmaStoreMatrixOp>(
          loc, acc[i], tile2D, ValueRange{fTok[i], fRow[i]},
          b.getIndexAttr(tileRows), UnitAttr());
    });
}

void LinearEmitter::compute(LinearOp linear, Value into, Value r0, Value rows,
                            int64_t tokensInTile, Value tokenOffset) {
  WeightType type = linear.getWeight().getType();
  WeightFormat format = type.getFormat();
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  int64_t ce = chunkElements(format);
  int64_t chunks = k / ce, pieces = ce / 4;
  bool blocks = formatBlockElements(format) > 1;
  constexpr int64_t rs = kLinearRowsPerSubgroup;
  Value x = views.get(linear.getInput()).memref;
  Value w = views.get(linear.getWeight()).memref;
  SmallVector<Value, 4> tokenBase;
  Value lastToken = e.sub(tokens, e.idx(1));
  Value first = e.add(t0, tokenOffset);
  for (int64_t t = 0; t < tokensInTile; ++t)
    tokenBase.push_back(
        e.mul(e.min(e.add(first, e.idx(t)), lastToken), e.idx(k / 4)));

  e.forLoop(e.mul(e.subgroup, e.idx(rs)), e.idx(tileRows),
            e.mul(e.numSubgroups, e.idx(rs)), [&](Value rg) {
    SmallVector<Value, 4> row;
    for (int64_t u = 0; u < rs; ++u)
      row.push_back(e.min(e.add(r0, e.add(rg, e.idx(u))), e.idx(n - 1)));
    SmallVector<Value> init(rs * tokensInTile, e.f32(0));
    SmallVector<Value> acc = e.forLoop(
        e.lane, e.idx(chunks), e.subgroupSize, init, [&](Value c, ValueRange a) {
          SmallVector<Value, 4> wv, scale;
          for (int64_t u = 0; u < rs; ++u) {
            wv.push_back(e.load(w, e.add(e.mul(row[u], e.idx(chunks)), c)));
            if (blocks) {
              Value block = e.add(e.mul(row[u], e.idx(k / 32)),
                                  ce == 32 ? c : e.divu(c, e.idx(32 / ce)));
              scale.push_back(chunkScale(type, w, block));
            }
          }
          // Block formats sum the chunk's products, then scale once.
          SmallVector<Value> dots = blocks ? init : SmallVector<Value>(a);
          for (int64_t p = 0; p < pieces; ++p) {
            SmallVector<Value, 4> xv;
            for (int64_t t = 0; t < tokensInTile; ++t)
              xv.push_back(e.load(
                  x, e.add(tokenBase[t], e.add(e.mul(c, e.idx(pieces)), e.idx(p)))));
            for (int64_t u = 0; u < rs; ++u) {
              SmallVector<Value, 4> ws = decodePiece(format, wv[u], p);
              for (int64_t t = 0; t < tokensInTile; ++t)
                for (int64_t i = 0; i < 4; ++i)
                  dots[u * tokensInTile + t] = e.fma(
                      ws[i], e.extract(xv[t], i), dots[u * tokensInTile + t]);
            }
          }
          if (!blocks)
            return dots;
          SmallVector<Value> next;
          for (int64_t u = 0; u < rs; ++u)
            for (int64_t t = 0; t < tokensInTile; ++t)
              next.push_back(e.fma(scale[u], dots[u * tokensInTile + t],
                                   a[u * tokensInTile + t]));
          return next;
        });
    for (int64_t u = 0; u < rs; ++u)
      for (int64_t t = 0; t < tokensInTile; ++t) {
        Value sum = e.subgroupSum(acc[u * tokensInTile + t]);
        Value r = e.add(rg, e.idx(u));
        Value write = b.create<arith::AndIOp>(e.loc, e.eq(e.lane, e.idx(0)),
                                              e.ult(r, rows));
        e.ifThen(write, [&] {
          Value tokenRow = e.add(tokenOffset, e.idx(t));
          e.store(sum, into, e.add(e.mul(tokenRow, e.idx(tileRows)), r));
        });
      }
  });
}

void LinearEmitter::epilogue(LinearPlan plan, Value r0, Value rows) {
  Location loc = e.loc;
  int64_t n = plan.linear.getWeight().getType().getShape()[0];
  Value elements = e.mul(tileTokens, e.idx(tileRows));
  // Element (t, r) of the tile, for r < rows.
  auto forElements = [&](const std::function<void(Value, Value, Value)> &body) {
    e.forThreads(elements, [&](Value item) {
      Value t = e.divu(item, e.idx(tileRows));
      Value r = e.remu(item, e.idx(tileRows));
      e.ifThen(e.ult(r, rows), [&] { body(item, t, r); });
    });
  };
  // Biases first: rope and SwiGLU see biased values. A thread updates the
  // elements it reads again below, so this needs no barrier of its own.
  auto addBias = [&](LinearOp linear, Value into) {
    if (!linear.getBias())
      return;
    Value bias = views.get(linear.getBias()).memref;
    forElements([&](Value item, Value, Value r) {
      e.store(e.addf(e.load(into, item), e.load(bias, e.add(r0, r))), into, item);
    });
  };
  addBias(plan.linear, tile);
  if (plan.up)
    addBias(plan.up, upTile);

  if (plan.rope) {
    e.barrier();
    RopeOp rope = plan.rope;
    int64_t d = rope.getInput().getType().getDimSize(2), half = d / 2;
    bool adjacent = rope.getStyle() == RopeStyle::adjacent;
    Value positions = views.get(rope.getPositions()).memref;
    int64_t pairs = tileRows / 2; // tiles hold whole heads or whole pairs
    e.forThreads(e.mul(tileTokens, e.idx(pairs)), [&](Value item) {
      Value t = e.divu(item, e.idx(pairs));
      Value p = e.remu(item, e.idx(pairs));
      Value ia, ib, fi;
      if (adjacent) {
        ia = e.mul(p, e.idx(2));
        ib = e.add(ia, e.idx(1));
        fi = e.divu(e.remu(e.add(r0, ia), e.idx(d)), e.idx(2));
      } else {
        Value head = e.divu(p, e.idx(half));
        fi = e.remu(p, e.idx(half));
        ia = e.add(e.mul(head, e.idx(d)), fi);
        ib = e.add(ia, e.idx(half));
      }
      Value pos = e.toF32(e.load(positions, e.add(t0, t)));
      Value angle = e.mulf(pos, ropeFrequency(e, rope, fi));
      Value c = b.create<math::CosOp>(loc, angle);
      Value s = b.create<math::SinOp>(loc, angle);
      Value at = e.mul(t, e.idx(tileRows));
      Value a = e.load(tile, e.add(at, ia)), bb = e.load(tile, e.add(at, ib));
      e.store(e.subf(e.mulf(a, c), e.mulf(bb, s)), tile, e.add(at, ia));
      e.store(e.addf(e.mulf(bb, c), e.mulf(a, s)), tile, e.add(at, ib));
    });
    e.barrier();
  }

  Value out = plan.storeF32 ? views.get(plan.storeF32).memref : Value();
  Value residual = plan.residual ? views.get(plan.residual).memref : Value();
  Value cache, slots;
  if (plan.kvAppend) {
    slots = views.get(plan.kvAppend.getSlots()).memref;
    cache = plan.kvKeys ? views.get(plan.kvAppend.getCache()).memref
                        : views.kvValues.lookup(plan.kvAppend.getCache()).memref;
  }
  forElements([&](Value item, Value t, Value r) {
    Value token = e.add(t0, t);
    Value row = e.add(r0, r);
    Value v = e.load(tile, item);
    if (plan.up)
      v = e.mulf(e.silu(v), e.load(upTile, item));
    Value at = e.add(e.mul(token, e.idx(n)), row);
    if (residual)
      v = e.addf(v, e.load(residual, at));
    if (out)
      e.store(v, out, at);
    if (cache) {
      // The cache row of slot s is s: [blocks * block_size][kv_heads * dim].
      Value slot = e.toIndex(e.load(slots, token));
      e.store(v, cache, e.add(e.mul(slot, e.idx(n)), row));
    }
  });
}

LogicalResult emitLinearFamily(GPUEmitter &e, func::FuncOp kernel,
                               GPUViews &views, bool tiledPrefill) {
  LinearEmitter emitter(e, views, tiledPrefill);
  return emitter.emit(kernel);
}

} // namespace llmc::gpu
