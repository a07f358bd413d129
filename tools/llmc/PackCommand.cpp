//===- PackCommand.cpp - llmc pack MODEL OUT [--threads N] -------------------------===//
//
// Writes OUT/weights.bin again from the model file, for the program in
// OUT/model.so: each program weight names its source tensors, format, layout,
// shape and size, which is all the runtime-side packer needs. Runtime only,
// so an artifact compiled on one machine can be carried without its weights
// (model.so + configs, a few MB) and packed where it runs, e.g. on a GPU
// machine that has no compiler (scripts/gpu-run.sh).
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/artifact/Artifact.h"
#include "runtime/formats/ModelSource.h"
#include "runtime/packer/Packer.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sys/stat.h>

namespace llmc::cli {

namespace {
struct PackArgs {
  std::string model;
  std::string artifact;
  int threads = 0;
};

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// Copies the model's tokenizer files into the artifact when it has none.
void copyIfMissing(const std::string &from, const std::string &to) {
  if (from.empty() || exists(to))
    return;
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  if (!out)
    std::fprintf(stderr, "llmc: warning: cannot copy %s to %s\n", from.c_str(),
                 to.c_str());
}

void runPack(const PackArgs &args) {
  ArtifactOptions options;
  options.loadWeights = false;
  options.checkTarget = false; // packing does not run kernels
  auto artifact = Artifact::open(args.artifact, options);
  if (!artifact.ok())
    return fail(artifact.message());
  auto source = ModelSource::open(args.model);
  if (!source.ok())
    return fail(source.message());

  std::vector<PackRequest> requests;
  uint64_t total = 0;
  for (const fb::Weight *w : *(*artifact)->program().weights()) {
    PackRequest r;
    r.name = w->name()->str();
    for (const flatbuffers::String *s : *w->sources())
      r.sources.push_back(s->str());
    r.format = static_cast<TensorType>(w->format());
    r.layout = w->layout();
    r.shape.assign(w->shape()->begin(), w->shape()->end());
    r.bytes = w->bytes();
    if (packedBytes(r.format, r.layout, r.shape) != static_cast<int64_t>(r.bytes))
      return fail(args.artifact + "/model.so: weight '" + r.name +
                  "' has an inconsistent size for its format and shape");
    total += r.bytes;
    requests.push_back(std::move(r));
  }
  PackStats stats;
  std::string path = args.artifact + "/weights.bin";
  if (Status s = packWeights(**source, requests, path, args.threads, &stats);
      s.isError())
    return fail(s.message());
  copyIfMissing((*source)->tokenizerJsonPath(), args.artifact + "/tokenizer.json");
  copyIfMissing((*source)->tokenizerConfigPath(),
                args.artifact + "/tokenizer_config.json");
  std::printf("packed %zu weights (%.1f MB) from %s into %s in %.2f s on %d "
              "threads\n",
              requests.size(), total / 1e6, args.model.c_str(), path.c_str(),
              stats.seconds, stats.threads);
}
} // namespace

void addPackCommand(CLI::App &app) {
  auto args = std::make_shared<PackArgs>();
  CLI::App *cmd = app.add_subcommand(
      "pack", "Write an artifact's weights.bin from the model file (runtime "
              "only: compile here, pack where it runs)");
  cmd->add_option("model", args->model, "model folder or .gguf file")->required();
  cmd->add_option("artifact", args->artifact, "artifact folder (with model.so)")
      ->required();
  cmd->add_option("--threads", args->threads, "packing threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->callback([args] { runPack(*args); });
}

} // namespace llmc::cli
