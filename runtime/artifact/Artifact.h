//===- Artifact.h - a compiled model: program, kernels, weights, tokenizer ------===//
//
// `llmc compile` writes a folder: model.so (kernels and the embedded program),
// weights.bin, tokenizer.json, llmc-config.json. Opening it loads model.so
// (artifacts are trusted code), verifies the program with the flatbuffers
// Verifier and then every index, offset and expression in it, checks that the
// target profile matches this machine, and maps and checks weights.bin.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ARTIFACT_ARTIFACT_H
#define LLMC_RUNTIME_ARTIFACT_ARTIFACT_H

#include "runtime/artifact/ProgramSchema.h"
#include "runtime/packer/WeightsFile.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// Evaluates a postfix grid expression (validated at load).
int64_t evaluateExpr(const fb::Expr &expr, const int64_t *symbols);

struct ArtifactOptions {
  /// Map weights.bin and check it against the program (off: program only,
  /// e.g. for `llmc pack` or `llmc inspect`).
  bool loadWeights = true;
  bool verifyWeightsChecksum = true;
  /// Check the target profile against this machine's CPU.
  bool checkTarget = true;
};

class Tokenizer;

class Artifact {
public:
  static Result<std::shared_ptr<Artifact>> open(const std::string &dir,
                                                const ArtifactOptions &options = {});
  ~Artifact();

  const std::string &dir() const { return dir_; }
  const fb::Program &program() const { return *program_; }
  const fb::Entry *entry(const std::string &name) const;
  int symbolIndex(const std::string &name) const;

  /// CPU kernels: the function for each program kernel, in order.
  using KernelFn = void (*)(void **, int64_t, int64_t, int64_t);
  const std::vector<KernelFn> &cpuKernels() const { return cpuKernels_; }

  /// weights.bin, and the entry for each program weight (same order).
  const WeightsFile *weights() const { return weights_.get(); }
  const std::vector<const WeightsEntry *> &weightEntries() const {
    return weightEntries_;
  }

  /// "" when the artifact has none.
  std::string tokenizerJsonPath() const;
  std::string tokenizerConfigPath() const;
  /// The tokenizer (tokenizer.json + tokenizer_config.json); null when the
  /// artifact has none.
  Result<std::unique_ptr<Tokenizer>> loadTokenizer() const;
  /// llmc-config.json text ("" if absent).
  const std::string &configJson() const { return configJson_; }

  int64_t vocabSize() const;

private:
  Artifact() = default;
  Status verifyProgram();
  Status checkTarget();

  std::string dir_;
  void *library_ = nullptr;
  const fb::Program *program_ = nullptr;
  std::vector<KernelFn> cpuKernels_;
  std::unique_ptr<WeightsFile> weights_;
  std::vector<const WeightsEntry *> weightEntries_;
  std::string configJson_;
};

/// The CPU features this machine has, of those programs may require.
std::vector<std::string> hostCPUFeatures();

} // namespace llmc

#endif // LLMC_RUNTIME_ARTIFACT_ARTIFACT_H
