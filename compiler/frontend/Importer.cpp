//===- Importer.cpp - a model file into an llm module -------------------------===//
//
// The module holds the weight table (each llm.weight names the file's tensor
// and its format as stored) and two entries with the same graph:
//   @prefill: up to maxPrefillTokens tokens of up to maxSequences sequences,
//   @decode:  one token for each of up to maxSequences sequences.
// Both take the symbols n_tokens, n_outputs and n_seqs and the KV cache.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontend/Importer.h"

#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace llmc::llm;

namespace llmc {

namespace {
WeightFormat toWeightFormat(TensorType type) {
  return static_cast<WeightFormat>(static_cast<int>(type));
}
static_assert(static_cast<int>(TensorType::Q6_K) ==
                  static_cast<int>(WeightFormat::q6_k),
              "runtime TensorType and dialect WeightFormat must agree");

/// llm.weight symbol names: GGUF-style, whatever the source.
std::string weightSymbol(WeightRole role, int64_t layer) {
  const char *base = nullptr;
  switch (role) {
  case WeightRole::TokenEmbedding: return "token_embd";
  case WeightRole::OutputNorm: return "output_norm";
  case WeightRole::Output: return "output";
  case WeightRole::AttnNorm: base = "attn_norm"; break;
  case WeightRole::AttnQ: base = "attn_q"; break;
  case WeightRole::AttnK: base = "attn_k"; break;
  case WeightRole::AttnV: base = "attn_v"; break;
  case WeightRole::AttnOutput: base = "attn_output"; break;
  case WeightRole::AttnQBias: base = "attn_q_bias"; break;
  case WeightRole::AttnKBias: base = "attn_k_bias"; break;
  case WeightRole::AttnVBias: base = "attn_v_bias"; break;
  case WeightRole::AttnOutputBias: base = "attn_output_bias"; break;
  case WeightRole::FfnNorm: base = "ffn_norm"; break;
  case WeightRole::FfnGate: base = "ffn_gate"; break;
  case WeightRole::FfnUp: base = "ffn_up"; break;
  case WeightRole::FfnDown: base = "ffn_down"; break;
  }
  return "blk." + std::to_string(layer) + "." + base;
}

class GraphBuilder {
public:
  GraphBuilder(MLIRContext &ctx, const ModelSource &source,
               const ImportOptions &options, int64_t contextLength)
      : ctx(ctx), b(&ctx), source(source), cfg(source.config()),
        options(options), contextLength(contextLength) {}

  OwningOpRef<ModuleOp> build() {
    Location loc = FileLineColLoc::get(&ctx, source.path(), 0, 0);
    module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    declareWeights(loc);
    int64_t maxSeqs = options.maxSequences;
    buildEntry("prefill", options.maxPrefillTokens, options.maxPrefillTokens,
               maxSeqs);
    buildEntry("decode", maxSeqs, maxSeqs, maxSeqs);
    module->getOperation()->setAttr("llm.model", modelAttr());
    return std::move(module);
  }

private:
  void declareWeights(Location loc) {
    for (auto [role, layer] : source.roles()) {
      const SourceTensor &t = source.weight(role, layer);
      std::string name = weightSymbol(role, layer);
      auto type = WeightType::get(&ctx, t.shape, toWeightFormat(*t.type),
                                  WeightLayout::plain);
      b.create<WeightOp>(loc, b.getStringAttr(name), TypeAttr::get(type),
                         b.getStrArrayAttr({t.name}));
      weightTypes[name] = type;
    }
    // A tied model reads the embedding table twice: as rows to gather and as
    // the output matrix. Two declarations let passes pick a format and layout
    // for each use.
    if (cfg.tiedEmbeddings) {
      const SourceTensor &t = source.weight(WeightRole::TokenEmbedding);
      auto type = WeightType::get(&ctx, t.shape, toWeightFormat(*t.type),
                                  WeightLayout::plain);
      b.create<WeightOp>(loc, b.getStringAttr("output"), TypeAttr::get(type),
                         b.getStrArrayAttr({t.name}));
      weightTypes["output"] = type;
    }
  }

  Value weight(Location loc, WeightRole role, int64_t layer = -1) {
    std::string name = weightSymbol(role, layer);
    return b.create<WeightRefOp>(loc, weightTypes.at(name),
                                 FlatSymbolRefAttr::get(&ctx, name));
  }

  RankedTensorType activation(ArrayRef<int64_t> trailing,
                              Type element = nullptr) {
    SmallVector<int64_t> shape = {ShapedType::kDynamic};
    shape.append(trailing.begin(), trailing.end());
    return RankedTensorType::get(shape, element ? element : b.getF32Type());
  }

  void buildEntry(StringRef name, int64_t maxTokens, int64_t maxOutputs,
                  int64_t maxSeqs) {
    Location loc = NameLoc::get(b.getStringAttr(name));
    int64_t blocksPerSeq =
        (contextLength + options.kvBlockSize - 1) / options.kvBlockSize;
    auto kvType = KVCacheType::get(&ctx, cfg.numLayers, cfg.numKVHeads,
                                   cfg.headDim, options.kvBlockSize,
                                   b.getF32Type());
    auto logitsType = activation({cfg.vocabSize});
    auto funcType = FunctionType::get(
        &ctx, {b.getIndexType(), b.getIndexType(), b.getIndexType(), kvType},
        {logitsType});
    OpBuilder::InsertionGuard guard(b);
    auto func = b.create<func::FuncOp>(loc, name, funcType);
    func->setAttr(LLMDialect::kEntryAttrName, b.getUnitAttr());
    const char *symbolNames[] = {"n_tokens", "n_outputs", "n_seqs"};
    int64_t maxima[] = {maxTokens, maxOutputs, maxSeqs};
    for (int i = 0; i < 3; ++i)
      func.setArgAttr(i, LLMDialect::kSymbolAttrName,
                      SymbolAttr::get(&ctx, symbolNames[i], maxima[i]));
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value nTokens = entry->getArgument(0), nOutputs = entry->getArgument(1),
          nSeqs = entry->getArgument(2), kv = entry->getArgument(3);

    auto i32Vec = activation({}, b.getI32Type());
    Value tokens = b.create<StepInputOp>(loc, i32Vec, "tokens", nTokens);
    Value positions = b.create<StepInputOp>(loc, i32Vec, "positions", nTokens);
    Value seqIds = b.create<StepInputOp>(loc, i32Vec, "seq_ids", nTokens);
    Value slots = b.create<StepInputOp>(loc, i32Vec, "slots", nTokens);
    Value blockTables = b.create<StepInputOp>(
        loc, activation({blocksPerSeq}, b.getI32Type()), "block_tables",
        nSeqs);
    Value outRows = b.create<StepInputOp>(loc, i32Vec, "out_rows", nOutputs);

    int64_t hidden = cfg.hiddenSize, d = cfg.headDim;
    auto hiddenType = activation({hidden});
    Value x = b.create<EmbeddingOp>(loc, hiddenType, tokens,
                                    weight(loc, WeightRole::TokenEmbedding));
    auto eps = b.getF32FloatAttr(static_cast<float>(cfg.rmsNormEps));
    auto style = RopeStyleAttr::get(&ctx, cfg.ropeAdjacentPairs
                                              ? RopeStyle::adjacent
                                              : RopeStyle::half);
    auto scale = b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(d)));
    for (int64_t l = 0; l < cfg.numLayers; ++l) {
      Location ll = NameLoc::get(b.getStringAttr("blk." + std::to_string(l)), loc);
      Value h = b.create<RMSNormOp>(ll, hiddenType, x,
                                    weight(ll, WeightRole::AttnNorm, l), eps);
      auto project = [&](WeightRole w, WeightRole bias, int64_t heads) {
        Value bv = cfg.attentionBias ? weight(ll, bias, l) : Value();
        Value y = b.create<LinearOp>(ll, activation({heads * d}), h,
                                     weight(ll, w, l), bv);
        return b.create<ReshapeOp>(ll, activation({heads, d}), y).getResult();
      };
      Value q = project(WeightRole::AttnQ, WeightRole::AttnQBias, cfg.numHeads);
      Value k = project(WeightRole::AttnK, WeightRole::AttnKBias, cfg.numKVHeads);
      Value v = project(WeightRole::AttnV, WeightRole::AttnVBias, cfg.numKVHeads);
      q = b.create<RopeOp>(ll, q.getType(), q, positions,
                           b.getF64FloatAttr(cfg.ropeTheta), style,
                           ropeScaling());
      k = b.create<RopeOp>(ll, k.getType(), k, positions,
                           b.getF64FloatAttr(cfg.ropeTheta), style,
                           ropeScaling());
      b.create<KVAppendOp>(ll, kv, l, k, v, slots);
      Value att = b.create<AttentionOp>(ll, q.getType(), q, kv,
                                        b.getI64IntegerAttr(l), positions,
                                        seqIds, blockTables, scale);
      Value flat = b.create<ReshapeOp>(ll, activation({cfg.numHeads * d}), att);
      Value o = b.create<LinearOp>(
          ll, hiddenType, flat, weight(ll, WeightRole::AttnOutput, l),
          cfg.outputBias ? weight(ll, WeightRole::AttnOutputBias, l) : Value());
      x = b.create<AddOp>(ll, x, o);
      Value h2 = b.create<RMSNormOp>(ll, hiddenType, x,
                                     weight(ll, WeightRole::FfnNorm, l), eps);
      auto ffnType = activation({cfg.ffnSize});
      Value gate = b.create<LinearOp>(ll, ffnType, h2,
                                      weight(ll, WeightRole::FfnGate, l), Value());
      Value up = b.create<LinearOp>(ll, ffnType, h2,
                                    weight(ll, WeightRole::FfnUp, l), Value());
      Value act = b.create<MulOp>(ll, b.create<SiluOp>(ll, gate), up);
      Value down = b.create<LinearOp>(ll, hiddenType, act,
                                      weight(ll, WeightRole::FfnDown, l), Value());
      x = b.create<AddOp>(ll, x, down);
    }
    Value last = b.create<SelectRowsOp>(loc, hiddenType, x, outRows);
    Value normed = b.create<RMSNormOp>(
        loc, hiddenType, last, weight(loc, WeightRole::OutputNorm), eps);
    Value logits = b.create<LinearOp>(loc, logitsType, normed,
                                      weight(loc, WeightRole::Output), Value());
    b.create<func::ReturnOp>(loc, logits);
  }

  RopeScalingAttr ropeScaling() {
    const RopeScalingConfig &r = cfg.ropeScaling;
    RopeScalingKind kind = r.kind == "linear"   ? RopeScalingKind::linear
                           : r.kind == "llama3" ? RopeScalingKind::llama3
                                                : RopeScalingKind::none;
    return RopeScalingAttr::get(&ctx, kind, r.factor, r.lowFreqFactor,
                                r.highFreqFactor, r.originalMaxPosition);
  }

  DictionaryAttr modelAttr() {
    SmallVector<NamedAttribute> attrs;
    auto add = [&](StringRef key, Attribute value) {
      attrs.push_back(b.getNamedAttr(key, value));
    };
    add("architecture", b.getStringAttr(cfg.architecture));
    add("source", b.getStringAttr(source.kindName()));
    add("hidden_size", b.getI64IntegerAttr(cfg.hiddenSize));
    add("num_layers", b.getI64IntegerAttr(cfg.numLayers));
    add("num_heads", b.getI64IntegerAttr(cfg.numHeads));
    add("num_kv_heads", b.getI64IntegerAttr(cfg.numKVHeads));
    add("head_dim", b.getI64IntegerAttr(cfg.headDim));
    add("ffn_size", b.getI64IntegerAttr(cfg.ffnSize));
    add("vocab_size", b.getI64IntegerAttr(cfg.vocabSize));
    add("context_length", b.getI64IntegerAttr(contextLength));
    add("kv_block_size", b.getI64IntegerAttr(options.kvBlockSize));
    add("rope_theta", b.getF64FloatAttr(cfg.ropeTheta));
    add("rms_norm_eps", b.getF64FloatAttr(cfg.rmsNormEps));
    add("tied_embeddings", b.getBoolAttr(cfg.tiedEmbeddings));
    return b.getDictionaryAttr(attrs);
  }

  MLIRContext &ctx;
  OpBuilder b;
  const ModelSource &source;
  const ModelConfig &cfg;
  const ImportOptions &options;
  int64_t contextLength;
  OwningOpRef<ModuleOp> module;
  std::map<std::string, WeightType> weightTypes;
};

} // namespace

OwningOpRef<ModuleOp> importModel(MLIRContext &context,
                                  const ModelSource &source,
                                  const ImportOptions &options) {
  context.getOrLoadDialect<LLMDialect>();
  context.getOrLoadDialect<func::FuncDialect>();
  int64_t ctxLen = options.contextLength > 0
                       ? options.contextLength
                       : std::min<int64_t>(source.config().contextLength, 4096);
  GraphBuilder builder(context, source, options, ctxLen);
  return builder.build();
}

} // namespace llmc
