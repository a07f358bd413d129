//===- RunCommand.cpp - llmc run OUT (-p TEXT | --tokens IDS) [-n N] ...----------===//
//
// Runs an artifact with the runtime alone: prefill the prompt, then sample N
// tokens, streaming the text. --json prints one object instead (prompt ids,
// generated ids, text, timings); --dump-logits writes the f32 logits of every
// position whose logits were computed, row-major: the prompt positions, then
// one row per decode step ([prompt + generated - 1] x vocab).
//
// Several prompts (--tokens or -p given more than once) run as a batch: one
// sequence each, prefilled in turn, then advanced together by one @decode call
// per step. --dump-logits then holds each sequence's rows in turn.
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
  std::vector<std::string> prompts;
  std::vector<std::string> tokens;
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

/// The prompts as token ids: each --tokens list, or each -p text encoded.
Result<std::vector<std::vector<int32_t>>>
promptIds(const RunArgs &args, const Tokenizer *tokenizer) {
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string &text : args.tokens) {
    auto ids = parseIds(text);
    if (!ids.ok())
      return ids.status();
    prompts.push_back(ids.take());
  }
  for (const std::string &text : args.prompts) {
    if (!tokenizer)
      return Status::error(args.artifact + ": no tokenizer.json; give --tokens");
    bool bos = !args.noBos && tokenizer->addBosByDefault();
    prompts.push_back(tokenizer->encode(text, bos, /*parseSpecial=*/true));
    if (prompts.back().empty())
      return Status::error("the prompt encodes to no tokens");
  }
  return prompts;
}

/// Appends float rows to the --dump-logits file.
class LogitsDump {
public:
  explicit LogitsDump(const std::string &path)
      : path_(path), out_(path, std::ios::binary) {}
  void write(const float *data, size_t count) {
    out_.write(reinterpret_cast<const char *>(data),
               static_cast<std::streamsize>(count * sizeof(float)));
  }
  Status close() {
    out_.close();
    return out_ ? Status() : Status::error(path_ + ": cannot write");
  }

private:
  std::string path_;
  std::ofstream out_;
};

void runBatch(const RunArgs &args, Session &s, const Tokenizer *tokenizer,
              const std::vector<std::vector<int32_t>> &prompts,
              double loadSeconds);

void runArtifact(const RunArgs &args) {
  auto start = std::chrono::steady_clock::now();
  auto artifact = Artifact::open(args.artifact);
  if (!artifact.ok())
    return fail(artifact.message());
  auto loaded = (*artifact)->loadTokenizer();
  if (!loaded.ok())
    return fail(loaded.message());
  std::unique_ptr<Tokenizer> tokenizer = loaded.take();
  auto prompts = promptIds(args, tokenizer.get());
  if (!prompts.ok())
    return fail(prompts.message());

  SessionOptions options;
  options.threads = args.threads;
  options.poisonOnFree = args.poison;
  options.contextLength = args.context;
  options.device = args.device;
  auto session = Session::create(*artifact, options);
  if (!session.ok())
    return fail(session.message());
  Session &s = **session;
  double loadSeconds = since(start);
  if (prompts->size() > 1)
    return runBatch(args, s, tokenizer.get(), *prompts, loadSeconds);
  const std::vector<int32_t> &prompt = prompts->front();
  auto seq = s.addSequence();
  if (!seq.ok())
    return fail(seq.message());

  std::vector<float> logits;
  auto prefillStart = std::chrono::steady_clock::now();
  std::unique_ptr<LogitsDump> dump;
  if (!args.dumpLogits.empty())
    dump = std::make_unique<LogitsDump>(args.dumpLogits);
  if (Status st = s.prefill(*seq, prompt, &logits, dump != nullptr);
      st.isError())
    return fail(st.message());
  double prefillSeconds = since(prefillStart);
  int64_t vocab = s.vocabSize();
  if (dump) {
    dump->write(logits.data(), logits.size());
    logits.erase(logits.begin(), logits.end() - vocab);
  }

  if (tokenizer && !args.json && args.tokens.empty())
    std::cout << args.prompts.front() << std::flush;
  GenerateOptions generation;
  generation.maxTokens = args.n;
  generation.sampling = args.sampling;
  generation.stopStrings = args.stop;
  generation.stopAtEndOfGeneration = !args.ignoreEos;
  if (dump)
    generation.onStepLogits = [&](const std::vector<float> &row) {
      dump->write(row.data(), row.size());
    };
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
  if (dump)
    if (Status st = dump->close(); st.isError())
      return fail(st.message());
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
/// Several sequences: each prefilled alone, then all live ones advanced by one
/// decode call per step; each samples with its own sampler (seed + index).
void runBatch(const RunArgs &args, Session &s, const Tokenizer *tokenizer,
              const std::vector<std::vector<int32_t>> &prompts,
              double loadSeconds) {
  if (!args.stop.empty())
    return fail("--stop applies to one prompt, not to a batch");
  const size_t n = prompts.size();
  if (static_cast<int64_t>(n) > s.maxDecodeBatch())
    return fail(std::to_string(n) + " prompts, but the artifact decodes at most " +
                std::to_string(s.maxDecodeBatch()) +
                " sequences at once (llmc compile --max-seqs)");
  int64_t vocab = s.vocabSize();
  struct Sequence {
    int id = 0;
    std::vector<int32_t> history, generated;
    std::vector<float> logits;
    std::vector<std::vector<float>> rows; // --dump-logits: prompt, then steps
    std::unique_ptr<Sampler> sampler;
    StopReason reason = StopReason::Length;
    bool live = true;
  };
  std::vector<Sequence> seqs(n);
  auto prefillStart = std::chrono::steady_clock::now();
  size_t promptTokens = 0;
  for (size_t i = 0; i < n; ++i) {
    Sequence &q = seqs[i];
    auto id = s.addSequence();
    if (!id.ok())
      return fail(id.message());
    q.id = *id;
    q.history = prompts[i];
    promptTokens += prompts[i].size();
    SamplerOptions sampling = args.sampling;
    sampling.seed += i;
    q.sampler = std::make_unique<Sampler>(sampling);
    bool all = !args.dumpLogits.empty();
    if (Status st = s.prefill(q.id, prompts[i], &q.logits, all); st.isError())
      return fail(st.message());
    if (all)
      q.rows.push_back(q.logits);
    q.logits.erase(q.logits.begin(), q.logits.end() - vocab);
  }
  double prefillSeconds = since(prefillStart);

  auto decodeStart = std::chrono::steady_clock::now();
  int steps = 0;
  for (int step = 0; step < args.n; ++step) {
    std::vector<int> ids;
    std::vector<int32_t> next;
    std::vector<Sequence *> stepping;
    for (Sequence &q : seqs) {
      if (!q.live)
        continue;
      int32_t token = q.sampler->sample(q.logits.data(), vocab, q.history);
      q.generated.push_back(token);
      q.history.push_back(token);
      if (tokenizer && !args.ignoreEos && tokenizer->isEndOfGeneration(token)) {
        q.reason = StopReason::EndOfGeneration;
        q.live = false;
      } else if (step + 1 == args.n) {
        q.live = false;
      } else if (s.length(q.id) >= s.contextLength()) {
        q.reason = StopReason::Context;
        q.live = false;
      } else {
        ids.push_back(q.id);
        next.push_back(token);
        stepping.push_back(&q);
      }
    }
    if (ids.empty())
      break;
    std::vector<float> logits;
    if (Status st = s.decode(ids, next, &logits); st.isError())
      return fail(st.message());
    ++steps;
    for (size_t j = 0; j < stepping.size(); ++j) {
      Sequence &q = *stepping[j];
      q.logits.assign(logits.begin() + j * vocab,
                      logits.begin() + (j + 1) * vocab);
      if (!args.dumpLogits.empty())
        q.rows.push_back(q.logits);
    }
  }
  double decodeSeconds = since(decodeStart);

  if (!args.dumpLogits.empty()) {
    LogitsDump dump(args.dumpLogits);
    for (const Sequence &q : seqs)
      for (const std::vector<float> &row : q.rows)
        dump.write(row.data(), row.size());
    if (Status st = dump.close(); st.isError())
      return fail(st.message());
  }
  auto textOf = [&](const Sequence &q) {
    std::vector<int32_t> shown = q.generated;
    if (q.reason == StopReason::EndOfGeneration && !shown.empty())
      shown.pop_back();
    return tokenizer ? tokenizer->decode(shown) : std::string();
  };
  if (args.json) {
    nlohmann::json out;
    out["sequences"] = nlohmann::json::array();
    for (size_t i = 0; i < n; ++i) {
      nlohmann::json one;
      one["prompt_tokens"] = prompts[i];
      one["generated_tokens"] = seqs[i].generated;
      if (tokenizer)
        one["text"] = textOf(seqs[i]);
      one["stop_reason"] = stopReasonName(seqs[i].reason);
      out["sequences"].push_back(one);
    }
    out["timings"] = {{"load_s", loadSeconds},
                      {"prefill_s", prefillSeconds},
                      {"decode_s", decodeSeconds},
                      {"decode_steps", steps}};
    out["device"] = s.deviceDescription();
    std::cout << out.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    std::cout << "[" << i << "] ";
    if (tokenizer && i < args.prompts.size() + args.tokens.size() &&
        i >= args.tokens.size())
      std::cout << args.prompts[i - args.tokens.size()];
    if (tokenizer) {
      std::cout << textOf(seqs[i]);
    } else {
      for (size_t t = 0; t < seqs[i].generated.size(); ++t)
        std::cout << (t ? " " : "") << seqs[i].generated[t];
    }
    std::cout << "\n";
  }
  std::cout << std::flush;
  std::fprintf(stderr,
               "llmc: %zu sequences: prefill %zu tokens in %.3f s; decode %d "
               "steps in %.3f s (%.1f steps/s); %s\n",
               n, promptTokens, prefillSeconds, steps, decodeSeconds,
               decodeSeconds > 0 && steps ? steps / decodeSeconds : 0.0,
               s.deviceDescription().c_str());
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
  cmd->add_option("-p,--prompt", args->prompts,
                  "prompt text; several run as one batch")
      ->allow_extra_args(false);
  cmd->add_option("--tokens", args->tokens,
                  "prompt as token ids, e.g. 1,2,3; several run as one batch")
      ->allow_extra_args(false);
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
                  "write the f32 logits of every prompt position and decode "
                  "step to this file");
  cmd->add_flag("--poison", args->poison,
                "debug: fill every buffer with NaN when its lifetime ends");
  cmd->add_flag("--no-bos", args->noBos, "do not add the BOS token");
  cmd->add_flag("--ignore-eos", args->ignoreEos, "keep going past EOS");
  cmd->add_option("--stop", args->stop,
                  "stop when this text is generated (not printed); repeatable");
  cmd->callback([args] {
    if (args->prompts.empty() && args->tokens.empty())
      return fail("run needs -p TEXT or --tokens IDS");
    if (!args->prompts.empty() && !args->tokens.empty())
      return fail("give the prompts either as -p TEXT or as --tokens IDS");
    runArtifact(*args);
  });
}

} // namespace llmc::cli
