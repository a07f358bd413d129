//===- RunCommand.cpp - llmc run OUT (-p TEXT | --tokens IDS) [-n N] ...----------===//
//
// Runs an artifact with the runtime alone: prefill the prompt, then sample N
// tokens, streaming the text. --json prints one object instead (prompt ids,
// generated ids, text, timings); --dump-logits writes the f32 logits of every
// prompt position, row-major [prompt tokens x vocab].
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/engine/Generator.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace llmc::cli {

namespace {
struct RunArgs {
  std::string artifact;
  std::string prompt;
  std::string tokens;
  int n = 32;
  SamplerOptions sampling;
  int threads = 0;
  bool json = false;
  std::string dumpLogits;
  bool poison = false;
  int64_t context = 0;
  bool noBos = false;
  bool ignoreEos = false;
  std::vector<std::string> stop;
  std::string device = "cpu";
};

Result<std::vector<int32_t>> parseIds(const std::string &text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty())
      continue;
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX)
        throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (...) {
      return Status::error("--tokens: '" + item + "' is not a token id");
    }
  }
  if (ids.empty())
    return Status::error("--tokens needs at least one token id");
  return ids;
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

void runArtifact(const RunArgs &args) {
  auto start = std::chrono::steady_clock::now();
  auto artifact = Artifact::open(args.artifact);
  if (!artifact.ok())
    return fail(artifact.message());
  auto loaded = (*artifact)->loadTokenizer();
  if (!loaded.ok())
    return fail(loaded.message());
  std::unique_ptr<Tokenizer> tokenizer = loaded.take();
  std::vector<int32_t> prompt;
  if (!args.tokens.empty()) {
    auto ids = parseIds(args.tokens);
    if (!ids.ok())
      return fail(ids.message());
    prompt = ids.take();
  } else {
    if (!tokenizer)
      return fail(args.artifact + ": no tokenizer.json; give --tokens");
    bool bos = !args.noBos && tokenizer->addBosByDefault();
    prompt = tokenizer->encode(args.prompt, bos, /*parseSpecial=*/true);
    if (prompt.empty())
      return fail("the prompt encodes to no tokens");
  }

  SessionOptions options;
  options.threads = args.threads;
  options.poisonOnFree = args.poison;
  options.contextLength = args.context;
  options.device = args.device;
  auto session = Session::create(*artifact, options);
  if (!session.ok())
    return fail(session.message());
  Session &s = **session;
  auto seq = s.addSequence();
  double loadSeconds = since(start);

  std::vector<float> logits;
  auto prefillStart = std::chrono::steady_clock::now();
  bool all = !args.dumpLogits.empty();
  if (Status st = s.prefill(*seq, prompt, &logits, all); st.isError())
    return fail(st.message());
  double prefillSeconds = since(prefillStart);
  int64_t vocab = s.vocabSize();
  if (all) {
    std::ofstream out(args.dumpLogits, std::ios::binary);
    out.write(reinterpret_cast<const char *>(logits.data()),
              static_cast<std::streamsize>(logits.size() * sizeof(float)));
    if (!out)
      return fail(args.dumpLogits + ": cannot write");
    logits.erase(logits.begin(), logits.end() - vocab);
  }

  if (tokenizer && !args.json && args.tokens.empty())
    std::cout << args.prompt << std::flush;
  GenerateOptions generation;
  generation.maxTokens = args.n;
  generation.sampling = args.sampling;
  generation.stopStrings = args.stop;
  generation.stopAtEndOfGeneration = !args.ignoreEos;
  bool first = true;
  TextCallback print = [&](int32_t token, const std::string &piece) {
    if (args.json)
      return true;
    if (tokenizer)
      std::cout << piece << std::flush;
    else if (token >= 0)
      std::cout << (first ? "" : " ") << token << std::flush;
    first = false;
    return true;
  };
  auto generated =
      generate(s, *seq, tokenizer.get(), logits, prompt, generation, print);
  if (!generated.ok())
    return fail(generated.message());
  double decodeSeconds = generated->seconds;
  int decodeSteps = generated->decodeSteps;
  double prefillRate = prefillSeconds > 0 ? prompt.size() / prefillSeconds : 0;
  double decodeRate = decodeSeconds > 0 && decodeSteps
                          ? decodeSteps / decodeSeconds
                          : 0;
  if (args.json) {
    nlohmann::json out;
    out["prompt_tokens"] = prompt;
    out["generated_tokens"] = generated->tokens;
    if (tokenizer)
      out["text"] = generated->text;
    out["stop_reason"] = stopReasonName(generated->reason);
    out["timings"] = {{"load_s", loadSeconds},
                      {"prefill_s", prefillSeconds},
                      {"decode_s", decodeSeconds},
                      {"prefill_tokens_per_s", prefillRate},
                      {"decode_tokens_per_s", decodeRate}};
    out["device"] = s.deviceDescription();
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << "\n";
  std::fprintf(stderr,
               "llmc: prefill %zu tokens in %.3f s (%.1f tok/s); decode %d "
               "tokens in %.3f s (%.1f tok/s); %s\n",
               prompt.size(), prefillSeconds, prefillRate, decodeSteps,
               decodeSeconds, decodeRate, s.deviceDescription().c_str());
}
} // namespace

void addSamplingOptions(CLI::App &cmd, SamplerOptions &sampling) {
  cmd.add_option("--temp", sampling.temperature, "temperature (0: greedy)")
      ->check(CLI::Range(0.0, 100.0));
  cmd.add_option("--top-k", sampling.topK, "keep the k most likely (0: off)")
      ->check(CLI::Range(0, 1 << 24));
  cmd.add_option("--top-p", sampling.topP, "nucleus sampling (1: off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--min-p", sampling.minP,
                 "drop tokens below min-p x the top probability (0: off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--repeat-penalty", sampling.repeatPenalty,
                 "penalty on recent tokens (1: off)")
      ->check(CLI::Range(0.0, 100.0));
  cmd.add_option("--repeat-last-n", sampling.repeatLastN,
                 "tokens the penalty looks back over")
      ->check(CLI::Range(0, 1 << 24));
  cmd.add_option("--seed", sampling.seed, "random seed");
}

void addRunCommand(CLI::App &app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App *cmd = app.add_subcommand("run", "Run a compiled artifact");
  cmd->add_option("artifact", args->artifact, "artifact folder (llmc compile -o)")
      ->required();
  auto *prompt = cmd->add_option("-p,--prompt", args->prompt, "prompt text");
  auto *tokens = cmd->add_option("--tokens", args->tokens,
                                 "prompt as token ids, e.g. 1,2,3");
  prompt->excludes(tokens);
  cmd->add_option("-n,--n-predict", args->n, "tokens to generate")
      ->check(CLI::Range(0, 1 << 20));
  addSamplingOptions(*cmd, args->sampling);
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--ctx", args->context, "context length (0: compiled)")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--device", args->device, "cpu, vulkan[:N] or cuda[:N]");
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->add_option("--dump-logits", args->dumpLogits,
                  "write f32 logits of every prompt position to this file");
  cmd->add_flag("--poison", args->poison,
                "debug: fill every buffer with NaN when its lifetime ends");
  cmd->add_flag("--no-bos", args->noBos, "do not add the BOS token");
  cmd->add_flag("--ignore-eos", args->ignoreEos, "keep going past EOS");
  cmd->add_option("--stop", args->stop,
                  "stop when this text is generated (not printed); repeatable");
  cmd->callback([args] {
    if (args->prompt.empty() && args->tokens.empty())
      return fail("run needs -p TEXT or --tokens IDS");
    runArtifact(*args);
  });
}

} // namespace llmc::cli
