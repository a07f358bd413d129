//===- ModelSource.h - a model as people have it: HF folder or GGUF file -------===//
//
// Opens a Hugging Face folder (config.json, model.safetensors or a sharded
// index, tokenizer files) or a GGUF file, and presents one description: the
// architecture's hyperparameters and the weight tensors by role, each checked
// against the shape the config implies. MLIR-free, so the packer can read
// models on a machine that has only the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_FORMATS_MODELSOURCE_H
#define LLMC_RUNTIME_FORMATS_MODELSOURCE_H

#include "runtime/formats/GGUF.h"
#include "runtime/formats/Safetensors.h"
#include "runtime/formats/TensorType.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// What a weight tensor is for, independent of how a format names it.
enum class WeightRole {
  TokenEmbedding, OutputNorm, Output,
  AttnNorm, AttnQ, AttnK, AttnV, AttnOutput, AttnQBias, AttnKBias, AttnVBias,
  AttnOutputBias,
  FfnNorm, FfnGate, FfnUp, FfnDown,
};
const char *weightRoleName(WeightRole role);
bool isPerLayer(WeightRole role);

struct RopeScalingConfig {
  std::string kind = "none"; // "none", "linear", "llama3"
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPosition = 8192;
};

struct ModelConfig {
  std::string architecture;      // "llama", "mistral", "qwen2"
  std::string declaredAs;        // "LlamaForCausalLM", or GGUF's "llama"
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t ffnSize = 0;
  int64_t vocabSize = 0;         // rows of the embedding (may exceed the tokenizer's)
  int64_t contextLength = 0;
  double ropeTheta = 10000.0;
  double rmsNormEps = 1e-6;
  RopeScalingConfig ropeScaling;
  bool tiedEmbeddings = false;
  bool attentionBias = false;    // q/k/v biases (Qwen2, Llama attention_bias)
  bool outputBias = false;       // o_proj bias (Llama attention_bias)
  /// GGUF llama files permute Q/K rows so rope rotates adjacent pairs; HF
  /// checkpoints rotate the two halves of each head.
  bool ropeAdjacentPairs = false;
};

/// One tensor of the model file, in the file's own format.
struct SourceTensor {
  std::string name;                 // the file's name for it
  std::string typeName;             // "F16", "Q4_K", ... as the file says
  std::optional<TensorType> type;   // when llmc supports it
  std::vector<int64_t> shape;       // outermost first: [rows, cols]
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;
  std::string file;                 // for messages
  int64_t numElements() const;
};

class ModelSource {
public:
  enum class Kind { HuggingFace, GGUF };

  /// `path` is a folder (Hugging Face) or a .gguf file.
  static Result<std::unique_ptr<ModelSource>> open(const std::string &path);

  Kind kind() const { return kind_; }
  const char *kindName() const {
    return kind_ == Kind::GGUF ? "gguf" : "hf";
  }
  const std::string &path() const { return path_; }
  const ModelConfig &config() const { return config_; }

  /// The file's name for a role, e.g. "blk.3.attn_q.weight".
  std::string tensorName(WeightRole role, int64_t layer = -1) const;
  /// The tensor for a role, checked at open to exist with the right shape.
  const SourceTensor &weight(WeightRole role, int64_t layer = -1) const;
  const SourceTensor *findTensor(const std::string &name) const;
  const std::vector<SourceTensor> &tensors() const { return tensors_; }
  /// The roles the model has, with their layer (-1 for global roles).
  std::vector<std::pair<WeightRole, int64_t>> roles() const;

  /// The GGUF file (tokenizer metadata), or null for HF folders.
  const GGUFFile *gguf() const { return gguf_.get(); }
  /// HF folders: paths of tokenizer.json / tokenizer_config.json ("" if absent).
  const std::string &tokenizerJsonPath() const { return tokenizerJson_; }
  const std::string &tokenizerConfigPath() const { return tokenizerConfig_; }

  /// Supported architectures, for messages.
  static const char *supportedArchitectures();

private:
  ModelSource() = default;
  Status openHuggingFace();
  Status openGGUF();
  Status checkWeights();

  Kind kind_ = Kind::HuggingFace;
  std::string path_;
  ModelConfig config_;
  std::vector<SourceTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::unique_ptr<GGUFFile> gguf_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::string tokenizerJson_, tokenizerConfig_;
};

/// A one-screen description: architecture, dims, tensors by format, parameter
/// count, tokenizer kind and vocabulary size.
std::string describeModel(const ModelSource &source);

} // namespace llmc

#endif // LLMC_RUNTIME_FORMATS_MODELSOURCE_H
