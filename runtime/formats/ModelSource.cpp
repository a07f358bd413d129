//===- ModelSource.cpp - HF folders and GGUF files as one description ----------===//

#include "runtime/formats/ModelSource.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <set>
#include <sys/stat.h>

namespace llmc {

namespace {
bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool isFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::string joinPath(const std::string &dir, const std::string &name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}
std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Reads config.json fields with types checked; errors name the key.
class JsonConfig {
public:
  JsonConfig(const nlohmann::json &json, std::string path)
      : json(json), path(std::move(path)) {}

  Status integer(const char *key, int64_t &out, bool required,
                 int64_t fallback = 0) {
    auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
      if (required)
        return Status::error(path + ": missing integer '" + key + "'");
      out = fallback;
      return Status::ok();
    }
    if (!it->is_number_integer())
      return Status::error(path + ": '" + key + "' must be an integer");
    out = it->get<int64_t>();
    return Status::ok();
  }
  Status number(const char *key, double &out, double fallback) {
    auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
      out = fallback;
      return Status::ok();
    }
    if (!it->is_number())
      return Status::error(path + ": '" + key + "' must be a number");
    out = it->get<double>();
    return Status::ok();
  }
  Status boolean(const char *key, bool &out, bool fallback) {
    auto it = json.find(key);
    if (it == json.end() || it->is_null()) {
      out = fallback;
      return Status::ok();
    }
    if (!it->is_boolean())
      return Status::error(path + ": '" + key + "' must be true or false");
    out = it->get<bool>();
    return Status::ok();
  }

  const nlohmann::json &json;
  std::string path;
};

/// Sanity bounds on hyperparameters, so a hostile config cannot make the
/// compiler allocate or loop absurdly.
Status checkDims(const ModelConfig &c, const std::string &path) {
  auto bad = [&](const std::string &what, int64_t v) {
    return Status::error(path + ": " + what + " " + std::to_string(v) +
                         " is out of range");
  };
  if (c.hiddenSize < 1 || c.hiddenSize > (1 << 16)) return bad("hidden size", c.hiddenSize);
  if (c.numLayers < 1 || c.numLayers > 1024) return bad("layer count", c.numLayers);
  if (c.numHeads < 1 || c.numHeads > 1024) return bad("head count", c.numHeads);
  if (c.numKVHeads < 1 || c.numKVHeads > c.numHeads) return bad("kv head count", c.numKVHeads);
  if (c.numHeads % c.numKVHeads)
    return Status::error(path + ": " + std::to_string(c.numHeads) +
                         " heads are not a multiple of " +
                         std::to_string(c.numKVHeads) + " kv heads");
  if (c.headDim < 2 || c.headDim > 1024 || c.headDim % 2) return bad("head dim", c.headDim);
  if (c.ffnSize < 1 || c.ffnSize > (1 << 18)) return bad("ffn size", c.ffnSize);
  if (c.vocabSize < 1 || c.vocabSize > (1 << 22)) return bad("vocab size", c.vocabSize);
  if (c.contextLength < 1 || c.contextLength > (1 << 24)) return bad("context length", c.contextLength);
  if (!(c.ropeTheta > 0) || !std::isfinite(c.ropeTheta))
    return Status::error(path + ": rope theta must be positive");
  if (!(c.rmsNormEps > 0) || !(c.rmsNormEps < 1))
    return Status::error(path + ": rms norm eps must be in (0, 1)");
  return Status::ok();
}
} // namespace

const char *weightRoleName(WeightRole role) {
  switch (role) {
  case WeightRole::TokenEmbedding: return "token_embedding";
  case WeightRole::OutputNorm: return "output_norm";
  case WeightRole::Output: return "output";
  case WeightRole::AttnNorm: return "attn_norm";
  case WeightRole::AttnQ: return "attn_q";
  case WeightRole::AttnK: return "attn_k";
  case WeightRole::AttnV: return "attn_v";
  case WeightRole::AttnOutput: return "attn_output";
  case WeightRole::AttnQBias: return "attn_q_bias";
  case WeightRole::AttnKBias: return "attn_k_bias";
  case WeightRole::AttnVBias: return "attn_v_bias";
  case WeightRole::AttnOutputBias: return "attn_output_bias";
  case WeightRole::FfnNorm: return "ffn_norm";
  case WeightRole::FfnGate: return "ffn_gate";
  case WeightRole::FfnUp: return "ffn_up";
  case WeightRole::FfnDown: return "ffn_down";
  }
  return "?";
}

bool isPerLayer(WeightRole role) {
  return role != WeightRole::TokenEmbedding && role != WeightRole::OutputNorm &&
         role != WeightRole::Output;
}

int64_t SourceTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

const char *ModelSource::supportedArchitectures() {
  return "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM (Hugging "
         "Face); llama, qwen2 (GGUF)";
}

Result<std::unique_ptr<ModelSource>> ModelSource::open(const std::string &path) {
  std::unique_ptr<ModelSource> source(new ModelSource());
  source->path_ = path;
  if (isDirectory(path)) {
    source->kind_ = Kind::HuggingFace;
    LLMC_RETURN_IF_ERROR(source->openHuggingFace());
  } else if (isFile(path)) {
    source->kind_ = Kind::GGUF;
    LLMC_RETURN_IF_ERROR(source->openGGUF());
  } else {
    return Status::error(path + ": no such model folder or GGUF file");
  }
  LLMC_RETURN_IF_ERROR(checkDims(source->config_, path));
  LLMC_RETURN_IF_ERROR(source->checkWeights());
  return source;
}

//===----------------------------------------------------------------------===//
// Hugging Face folders
//===----------------------------------------------------------------------===//

Status ModelSource::openHuggingFace() {
  std::string configPath = joinPath(path_, "config.json");
  if (!isFile(configPath))
    return Status::error(path_ + ": not a Hugging Face model folder (no "
                                 "config.json)");
  LLMC_ASSIGN_OR_RETURN(std::string text, readTextFile(configPath, 16 << 20));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return Status::error(configPath + ": not a valid JSON object");

  std::string declared;
  if (auto it = json.find("architectures");
      it != json.end() && it->is_array() && !it->empty() &&
      (*it)[0].is_string())
    declared = (*it)[0].get<std::string>();
  else
    return Status::error(configPath + ": missing 'architectures'; supported: " +
                         supportedArchitectures());
  ModelConfig &c = config_;
  c.declaredAs = declared;
  if (declared == "LlamaForCausalLM")
    c.architecture = "llama";
  else if (declared == "MistralForCausalLM")
    c.architecture = "mistral";
  else if (declared == "Qwen2ForCausalLM")
    c.architecture = "qwen2";
  else
    return Status::error(configPath + ": unsupported architecture '" +
                         declared + "'; supported: " +
                         supportedArchitectures());

  JsonConfig cfg(json, configPath);
  LLMC_RETURN_IF_ERROR(cfg.integer("hidden_size", c.hiddenSize, true));
  LLMC_RETURN_IF_ERROR(cfg.integer("num_hidden_layers", c.numLayers, true));
  LLMC_RETURN_IF_ERROR(cfg.integer("num_attention_heads", c.numHeads, true));
  LLMC_RETURN_IF_ERROR(
      cfg.integer("num_key_value_heads", c.numKVHeads, false, c.numHeads));
  LLMC_RETURN_IF_ERROR(cfg.integer("intermediate_size", c.ffnSize, true));
  LLMC_RETURN_IF_ERROR(cfg.integer("vocab_size", c.vocabSize, true));
  LLMC_RETURN_IF_ERROR(
      cfg.integer("max_position_embeddings", c.contextLength, false, 2048));
  if (c.numHeads < 1)
    return Status::error(configPath + ": num_attention_heads must be positive");
  LLMC_RETURN_IF_ERROR(
      cfg.integer("head_dim", c.headDim, false, c.hiddenSize / c.numHeads));
  LLMC_RETURN_IF_ERROR(cfg.number("rope_theta", c.ropeTheta, 10000.0));
  LLMC_RETURN_IF_ERROR(cfg.number("rms_norm_eps", c.rmsNormEps, 1e-6));
  LLMC_RETURN_IF_ERROR(
      cfg.boolean("tie_word_embeddings", c.tiedEmbeddings, false));
  if (c.architecture == "qwen2")
    c.attentionBias = true;
  else
    LLMC_RETURN_IF_ERROR(cfg.boolean("attention_bias", c.attentionBias, false));
  // Llama's attention_bias also gives o_proj a bias; Qwen2 has none there.
  c.outputBias = c.architecture != "qwen2" && c.attentionBias;
  if (auto it = json.find("sliding_window");
      it != json.end() && it->is_number_integer() &&
      it->get<int64_t>() < c.contextLength) {
    // Within the window, full attention is exact: cap the context there.
    c.contextLength = std::max<int64_t>(1, it->get<int64_t>());
  }
  c.ropeAdjacentPairs = false;

  if (auto it = json.find("rope_scaling"); it != json.end() && !it->is_null()) {
    if (!it->is_object())
      return Status::error(configPath + ": 'rope_scaling' must be an object");
    std::string type;
    for (const char *key : {"rope_type", "type"})
      if (auto t = it->find(key); t != it->end() && t->is_string())
        type = t->get<std::string>();
    JsonConfig scaling(*it, configPath + " rope_scaling");
    RopeScalingConfig &r = c.ropeScaling;
    if (type == "linear") {
      r.kind = "linear";
      LLMC_RETURN_IF_ERROR(scaling.number("factor", r.factor, 1.0));
    } else if (type == "llama3") {
      r.kind = "llama3";
      LLMC_RETURN_IF_ERROR(scaling.number("factor", r.factor, 8.0));
      LLMC_RETURN_IF_ERROR(scaling.number("low_freq_factor", r.lowFreqFactor, 1.0));
      LLMC_RETURN_IF_ERROR(scaling.number("high_freq_factor", r.highFreqFactor, 4.0));
      LLMC_RETURN_IF_ERROR(scaling.integer("original_max_position_embeddings",
                                           r.originalMaxPosition, false, 8192));
    } else if (type != "default" && !type.empty()) {
      return Status::error(configPath + ": rope_scaling type '" + type +
                           "' is not supported (linear and llama3 are)");
    }
    if (!(r.factor > 0))
      return Status::error(configPath + ": rope_scaling factor must be positive");
  }

  // Weights: one safetensors file or a sharded index.
  std::vector<std::string> shardPaths;
  std::string single = joinPath(path_, "model.safetensors");
  std::string indexPath = joinPath(path_, "model.safetensors.index.json");
  if (isFile(single)) {
    shardPaths.push_back(single);
  } else if (isFile(indexPath)) {
    LLMC_ASSIGN_OR_RETURN(std::string indexText, readTextFile(indexPath, 64 << 20));
    nlohmann::json index = nlohmann::json::parse(indexText, nullptr, false);
    if (index.is_discarded() || !index.is_object() ||
        !index.contains("weight_map") || !index["weight_map"].is_object())
      return Status::error(indexPath + ": missing object 'weight_map'");
    std::set<std::string> files;
    for (auto &[name, file] : index["weight_map"].items()) {
      if (!file.is_string())
        return Status::error(indexPath + ": weight_map entry '" + name +
                             "' is not a file name");
      std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
        return Status::error(indexPath + ": shard name '" + f +
                             "' must be a plain file name");
      files.insert(f);
    }
    for (const std::string &f : files)
      shardPaths.push_back(joinPath(path_, f));
  } else {
    return Status::error(path_ + ": no model.safetensors or "
                                 "model.safetensors.index.json");
  }
  for (const std::string &shardPath : shardPaths) {
    LLMC_ASSIGN_OR_RETURN(auto shard, SafetensorsFile::open(shardPath));
    for (const SafetensorsTensor &t : shard->tensors()) {
      SourceTensor s;
      s.name = t.name;
      s.typeName = t.dtype;
      s.type = t.type;
      s.shape = t.shape;
      s.data = shard->tensorData(t);
      s.bytes = t.bytes;
      s.file = shardPath;
      if (index_.count(s.name))
        return Status::error(shardPath + ": tensor '" + s.name +
                             "' also appears in another shard");
      index_[s.name] = tensors_.size();
      tensors_.push_back(std::move(s));
    }
    shards_.push_back(std::move(shard));
  }
  // A tied model may still ship lm_head; an untied one must.
  if (c.tiedEmbeddings && index_.count("lm_head.weight"))
    c.tiedEmbeddings = false;

  std::string tok = joinPath(path_, "tokenizer.json");
  if (isFile(tok))
    tokenizerJson_ = tok;
  std::string tokConfig = joinPath(path_, "tokenizer_config.json");
  if (isFile(tokConfig))
    tokenizerConfig_ = tokConfig;
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// GGUF files
//===----------------------------------------------------------------------===//

Status ModelSource::openGGUF() {
  LLMC_ASSIGN_OR_RETURN(gguf_, GGUFFile::open(path_));
  const GGUFFile &g = *gguf_;
  LLMC_ASSIGN_OR_RETURN(std::string arch, g.getString("general.architecture"));
  ModelConfig &c = config_;
  c.declaredAs = arch;
  if (arch != "llama" && arch != "qwen2")
    return Status::error(path_ + ": unsupported architecture '" + arch +
                         "'; supported: " + supportedArchitectures());
  c.architecture = arch;
  std::string p = arch + ".";
  LLMC_ASSIGN_OR_RETURN(c.hiddenSize, g.getInt(p + "embedding_length"));
  LLMC_ASSIGN_OR_RETURN(c.numLayers, g.getInt(p + "block_count"));
  LLMC_ASSIGN_OR_RETURN(c.numHeads, g.getInt(p + "attention.head_count"));
  c.numKVHeads = c.numHeads;
  if (g.has(p + "attention.head_count_kv")) {
    LLMC_ASSIGN_OR_RETURN(c.numKVHeads, g.getInt(p + "attention.head_count_kv"));
  }
  LLMC_ASSIGN_OR_RETURN(c.ffnSize, g.getInt(p + "feed_forward_length"));
  LLMC_ASSIGN_OR_RETURN(c.contextLength, g.getInt(p + "context_length"));
  if (c.numHeads < 1)
    return Status::error(path_ + ": head count must be positive");
  c.headDim = c.hiddenSize / c.numHeads;
  if (g.has(p + "attention.key_length")) {
    LLMC_ASSIGN_OR_RETURN(c.headDim, g.getInt(p + "attention.key_length"));
  }
  if (g.has(p + "rope.dimension_count")) {
    LLMC_ASSIGN_OR_RETURN(int64_t ropeDims, g.getInt(p + "rope.dimension_count"));
    if (ropeDims != c.headDim)
      return Status::error(path_ + ": partial rotary embeddings (" +
                           std::to_string(ropeDims) + " of " +
                           std::to_string(c.headDim) +
                           " dims) are not supported");
  }
  if (g.has(p + "rope.freq_base")) {
    LLMC_ASSIGN_OR_RETURN(c.ropeTheta, g.getFloat(p + "rope.freq_base"));
  }
  if (g.has(p + "attention.layer_norm_rms_epsilon")) {
    LLMC_ASSIGN_OR_RETURN(c.rmsNormEps,
                          g.getFloat(p + "attention.layer_norm_rms_epsilon"));
  }
  if (g.has(p + "rope.scaling.type")) {
    LLMC_ASSIGN_OR_RETURN(std::string type, g.getString(p + "rope.scaling.type"));
    if (type == "linear") {
      c.ropeScaling.kind = "linear";
      LLMC_ASSIGN_OR_RETURN(c.ropeScaling.factor,
                            g.getFloat(p + "rope.scaling.factor"));
    } else if (type != "none") {
      return Status::error(path_ + ": rope scaling '" + type +
                           "' is not supported (linear is)");
    }
  }
  if (g.findTensor("rope_freqs.weight"))
    return Status::error(path_ + ": per-dimension rope frequency factors "
                                 "(rope_freqs.weight, llama3 scaling in GGUF) "
                                 "are not supported yet");
  // llama.cpp's converters permute Q/K rows for llama so its rope rotates
  // adjacent pairs; qwen2 files keep HF's order and use rotate-half (NEOX).
  c.ropeAdjacentPairs = arch == "llama";
  c.attentionBias = g.findTensor("blk.0.attn_q.bias") != nullptr;
  c.outputBias = g.findTensor("blk.0.attn_output.bias") != nullptr;
  c.tiedEmbeddings = g.findTensor("output.weight") == nullptr;

  for (const GGUFTensorInfo &t : g.tensors()) {
    SourceTensor s;
    s.name = t.name;
    s.typeName = t.ggmlTypeName;
    s.type = t.type;
    s.shape = t.shape();
    s.data = g.tensorData(t);
    s.bytes = t.bytes;
    s.file = path_;
    index_[s.name] = tensors_.size();
    tensors_.push_back(std::move(s));
  }
  const SourceTensor *embedding = findTensor("token_embd.weight");
  if (!embedding)
    return Status::error(path_ + ": missing tensor 'token_embd.weight'");
  c.vocabSize = embedding->shape.size() == 2 ? embedding->shape[0] : 0;
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Roles and shapes
//===----------------------------------------------------------------------===//

std::string ModelSource::tensorName(WeightRole role, int64_t layer) const {
  bool gguf = kind_ == Kind::GGUF;
  std::string l = std::to_string(layer);
  std::string hfLayer = "model.layers." + l + ".";
  std::string ggLayer = "blk." + l + ".";
  switch (role) {
  case WeightRole::TokenEmbedding: return gguf ? "token_embd.weight" : "model.embed_tokens.weight";
  case WeightRole::OutputNorm: return gguf ? "output_norm.weight" : "model.norm.weight";
  case WeightRole::Output:
    if (config_.tiedEmbeddings)
      return tensorName(WeightRole::TokenEmbedding);
    return gguf ? "output.weight" : "lm_head.weight";
  case WeightRole::AttnNorm: return gguf ? ggLayer + "attn_norm.weight" : hfLayer + "input_layernorm.weight";
  case WeightRole::AttnQ: return gguf ? ggLayer + "attn_q.weight" : hfLayer + "self_attn.q_proj.weight";
  case WeightRole::AttnK: return gguf ? ggLayer + "attn_k.weight" : hfLayer + "self_attn.k_proj.weight";
  case WeightRole::AttnV: return gguf ? ggLayer + "attn_v.weight" : hfLayer + "self_attn.v_proj.weight";
  case WeightRole::AttnOutput: return gguf ? ggLayer + "attn_output.weight" : hfLayer + "self_attn.o_proj.weight";
  case WeightRole::AttnQBias: return gguf ? ggLayer + "attn_q.bias" : hfLayer + "self_attn.q_proj.bias";
  case WeightRole::AttnKBias: return gguf ? ggLayer + "attn_k.bias" : hfLayer + "self_attn.k_proj.bias";
  case WeightRole::AttnVBias: return gguf ? ggLayer + "attn_v.bias" : hfLayer + "self_attn.v_proj.bias";
  case WeightRole::AttnOutputBias: return gguf ? ggLayer + "attn_output.bias" : hfLayer + "self_attn.o_proj.bias";
  case WeightRole::FfnNorm: return gguf ? ggLayer + "ffn_norm.weight" : hfLayer + "post_attention_layernorm.weight";
  case WeightRole::FfnGate: return gguf ? ggLayer + "ffn_gate.weight" : hfLayer + "mlp.gate_proj.weight";
  case WeightRole::FfnUp: return gguf ? ggLayer + "ffn_up.weight" : hfLayer + "mlp.up_proj.weight";
  case WeightRole::FfnDown: return gguf ? ggLayer + "ffn_down.weight" : hfLayer + "mlp.down_proj.weight";
  }
  return "";
}

const SourceTensor *ModelSource::findTensor(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SourceTensor &ModelSource::weight(WeightRole role, int64_t layer) const {
  return *findTensor(tensorName(role, layer)); // existence checked at open
}

std::vector<std::pair<WeightRole, int64_t>> ModelSource::roles() const {
  std::vector<std::pair<WeightRole, int64_t>> out = {
      {WeightRole::TokenEmbedding, -1}};
  for (int64_t l = 0; l < config_.numLayers; ++l) {
    for (WeightRole r : {WeightRole::AttnNorm, WeightRole::AttnQ,
                         WeightRole::AttnK, WeightRole::AttnV,
                         WeightRole::AttnOutput, WeightRole::FfnNorm,
                         WeightRole::FfnGate, WeightRole::FfnUp,
                         WeightRole::FfnDown})
      out.push_back({r, l});
    if (config_.attentionBias)
      for (WeightRole r : {WeightRole::AttnQBias, WeightRole::AttnKBias,
                           WeightRole::AttnVBias})
        out.push_back({r, l});
    if (config_.outputBias)
      out.push_back({WeightRole::AttnOutputBias, l});
  }
  out.push_back({WeightRole::OutputNorm, -1});
  if (!config_.tiedEmbeddings)
    out.push_back({WeightRole::Output, -1});
  return out;
}

Status ModelSource::checkWeights() {
  const ModelConfig &c = config_;
  int64_t q = c.numHeads * c.headDim, kv = c.numKVHeads * c.headDim;
  auto expected = [&](WeightRole role) -> std::vector<int64_t> {
    switch (role) {
    case WeightRole::TokenEmbedding:
    case WeightRole::Output: return {c.vocabSize, c.hiddenSize};
    case WeightRole::OutputNorm:
    case WeightRole::AttnNorm:
    case WeightRole::FfnNorm: return {c.hiddenSize};
    case WeightRole::AttnQ: return {q, c.hiddenSize};
    case WeightRole::AttnK:
    case WeightRole::AttnV: return {kv, c.hiddenSize};
    case WeightRole::AttnOutput: return {c.hiddenSize, q};
    case WeightRole::AttnQBias: return {q};
    case WeightRole::AttnOutputBias: return {c.hiddenSize};
    case WeightRole::AttnKBias:
    case WeightRole::AttnVBias: return {kv};
    case WeightRole::FfnGate:
    case WeightRole::FfnUp: return {c.ffnSize, c.hiddenSize};
    case WeightRole::FfnDown: return {c.hiddenSize, c.ffnSize};
    }
    return {};
  };
  for (auto [role, layer] : roles()) {
    std::string name = tensorName(role, layer);
    const SourceTensor *t = findTensor(name);
    if (!t)
      return Status::error(path_ + ": missing tensor '" + name + "'");
    if (t->shape != expected(role))
      return Status::error(t->file + ": tensor '" + name + "' has shape " +
                           shapeString(t->shape) + " but the config implies " +
                           shapeString(expected(role)));
    if (!t->type)
      return Status::error(t->file + ": tensor '" + name + "' has type " +
                           t->typeName +
                           ", which llmc does not support (F32, F16, BF16, "
                           "Q8_0, Q4_0, Q4_K, Q6_K are supported)");
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// The summary `llmc import --summary` and `llmc inspect` print
//===----------------------------------------------------------------------===//

namespace {
std::string format(const char *fmt, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  return buffer;
}

std::string tokenizerSummary(const ModelSource &source) {
  if (const GGUFFile *g = source.gguf()) {
    auto model = g->getString("tokenizer.ggml.model");
    if (!model.ok())
      return "none in the file";
    auto count = g->getArrayCount("tokenizer.ggml.tokens");
    std::string kind = *model == "llama"  ? "sentencepiece-bpe"
                       : *model == "gpt2" ? "byte-level-bpe"
                                          : "'" + *model + "'";
    auto pre = g->getString("tokenizer.ggml.pre");
    return kind + (pre.ok() ? " (pre " + *pre + ")" : "") +
           (count.ok() ? ", " + std::to_string(*count) + " tokens" : "");
  }
  if (source.tokenizerJsonPath().empty())
    return "none (no tokenizer.json)";
  auto text = readTextFile(source.tokenizerJsonPath());
  if (!text.ok())
    return "unreadable tokenizer.json";
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("model") ||
      !json["model"].is_object())
    return "invalid tokenizer.json";
  const auto &model = json["model"];
  bool byteFallback = model.contains("byte_fallback") &&
                      model["byte_fallback"].is_boolean() &&
                      model["byte_fallback"].get<bool>();
  bool byteLevel = json.contains("pre_tokenizer") &&
                   json["pre_tokenizer"].dump().find("ByteLevel") !=
                       std::string::npos;
  bool bpe = model.contains("type") && model["type"] == "BPE";
  std::string kind = !bpe          ? "unknown"
                     : byteLevel    ? "byte-level-bpe"
                     : byteFallback ? "sentencepiece-bpe"
                                    : "bpe";
  size_t vocab = model.contains("vocab") && model["vocab"].is_object()
                     ? model["vocab"].size()
                     : 0;
  size_t added = json.contains("added_tokens") && json["added_tokens"].is_array()
                     ? json["added_tokens"].size()
                     : 0;
  return kind + ", " + std::to_string(vocab) + " tokens + " +
         std::to_string(added) + " added";
}
} // namespace

std::string describeModel(const ModelSource &source) {
  const ModelConfig &c = source.config();
  std::map<std::string, std::pair<int, uint64_t>> byFormat;
  int64_t params = 0;
  for (auto [role, layer] : source.roles()) {
    const SourceTensor &t = source.weight(role, layer);
    auto &entry = byFormat[t.typeName];
    entry.first += 1;
    entry.second += t.bytes;
    params += t.numElements();
  }
  std::string kind = source.kind() == ModelSource::Kind::GGUF
                         ? "GGUF v" + std::to_string(source.gguf()->version())
                         : "Hugging Face folder";
  std::string out;
  out += format("model:        %s (%s, %s)\n", source.path().c_str(),
                kind.c_str(), c.declaredAs.c_str());
  out += format("architecture: %s: hidden %lld, %lld layers, %lld heads (%lld "
                "kv, head_dim %lld), ffn %lld\n",
                c.architecture.c_str(), (long long)c.hiddenSize,
                (long long)c.numLayers, (long long)c.numHeads,
                (long long)c.numKVHeads, (long long)c.headDim,
                (long long)c.ffnSize);
  out += format("context:      %lld tokens, rope theta %.1f, scaling %s, %s "
                "pairs; rms eps %e\n",
                (long long)c.contextLength, c.ropeTheta,
                c.ropeScaling.kind.c_str(),
                c.ropeAdjacentPairs ? "adjacent" : "rotate-half", c.rmsNormEps);
  out += format("embeddings:   vocab %lld, %s%s\n", (long long)c.vocabSize,
                c.tiedEmbeddings ? "tied" : "untied",
                c.outputBias      ? ", q/k/v/o biases"
                : c.attentionBias ? ", q/k/v biases"
                                  : "");
  out += format("parameters:   %lld (%.2f M)\n", (long long)params, params / 1e6);
  out += "tensors:     ";
  for (auto &[name, entry] : byFormat)
    out += format(" %d x %s (%.1f MiB);", entry.first, name.c_str(),
                  entry.second / 1048576.0);
  out += "\n";
  out += "tokenizer:    " + tokenizerSummary(source) + "\n";
  return out;
}

} // namespace llmc
