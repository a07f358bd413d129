//===- PerplexityCommand.cpp - llmc perplexity OUT --file TEXT [--ctx N] [--stride S] -===//
//
// Perplexity of a text under a compiled model: the text is tokenized, cut
// into windows of N tokens (the model's BOS first when it uses one, then N-1
// text tokens), and every token after the first of each window is scored by
// the logits of the token before it. Windows advance by S text tokens
// (default N-1: no overlap); with S < N-1 a window scores only its last S
// targets, the rest serving as context. This is the same windowing as
// bench/llamacpp/oracle.mjs perplexity, so the numbers compare with
// llama.cpp's.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/engine/Session.h"
#include "runtime/support/MappedFile.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace llmc::cli {

namespace {
struct PerplexityArgs {
  std::string artifact;
  std::string file;
  int ctx = 0;
  int stride = 0;
  int threads = 0;
  int maxWindows = 0;
  bool json = false;
};

double logSoftmaxAt(const float *logits, int64_t vocab, int32_t target) {
  float max = logits[0];
  for (int64_t i = 1; i < vocab; ++i)
    max = std::max(max, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i)
    sum += std::exp(static_cast<double>(logits[i] - max));
  return static_cast<double>(logits[target] - max) - std::log(sum);
}

void runPerplexity(const PerplexityArgs &args) {
  auto artifact = Artifact::open(args.artifact);
  if (!artifact.ok())
    return fail(artifact.message());
  auto tokenizer = (*artifact)->loadTokenizer();
  if (!tokenizer.ok())
    return fail(tokenizer.message());
  if (!*tokenizer)
    return fail(args.artifact + ": no tokenizer.json");
  auto text = readTextFile(args.file, 1ull << 30);
  if (!text.ok())
    return fail(text.message());
  std::vector<int32_t> tokens = (*tokenizer)->encode(*text, false, false);

  SessionOptions options;
  options.threads = args.threads;
  auto session = Session::create(*artifact, options);
  if (!session.ok())
    return fail(session.message());
  Session &s = **session;
  int ctx = args.ctx > 0 ? args.ctx : static_cast<int>(std::min<int64_t>(s.contextLength(), 512));
  if (ctx < 2 || ctx > s.contextLength())
    return fail("--ctx must be between 2 and the model's context (" +
                std::to_string(s.contextLength()) + ")");
  int32_t bos = (*tokenizer)->addBosByDefault() ? (*tokenizer)->bosId() : -1;
  int body = bos >= 0 ? ctx - 1 : ctx;
  int stride = args.stride > 0 ? std::min(args.stride, body) : body;
  if (static_cast<int>(tokens.size()) < body + 1)
    return fail(args.file + ": " + std::to_string(tokens.size()) +
                " tokens, fewer than one window of " + std::to_string(body));
  int windows = 1 + (static_cast<int>(tokens.size()) - body) / stride;
  if (args.maxWindows > 0)
    windows = std::min(windows, args.maxWindows);

  int64_t vocab = s.vocabSize();
  double nll = 0;
  int64_t scored = 0;
  bool tty = isatty(2);
  auto start = std::chrono::steady_clock::now();
  auto seq = s.addSequence();
  std::vector<float> logits;
  for (int w = 0; w < windows; ++w) {
    size_t begin = static_cast<size_t>(w) * stride;
    std::vector<int32_t> input(tokens.begin() + begin,
                               tokens.begin() + begin + body);
    if (bos >= 0)
      input.insert(input.begin(), bos);
    if (Status st = s.resetSequence(*seq); st.isError())
      return fail(st.message());
    if (Status st = s.prefill(*seq, input, &logits, /*allPositions=*/true);
        st.isError())
      return fail(st.message());
    // The first window scores everything; later ones only their new tokens.
    int first = w == 0 ? 0 : static_cast<int>(input.size()) - 1 - stride;
    for (int i = first; i + 1 < static_cast<int>(input.size()); ++i) {
      nll -= logSoftmaxAt(logits.data() + i * vocab, vocab, input[i + 1]);
      ++scored;
    }
    if (!args.json) {
      int done = (w + 1) * 30 / windows;
      std::fprintf(stderr, "%s[%s%s] %d/%d windows, perplexity %.4f%s",
                   tty ? "\r" : "", std::string(done, '=').c_str(),
                   std::string(30 - done, ' ').c_str(), w + 1, windows,
                   std::exp(nll / scored), tty ? "" : "\n");
    }
  }
  if (!args.json && tty)
    std::fprintf(stderr, "\n");
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  double ppl = std::exp(nll / scored);
  if (args.json) {
    nlohmann::json out = {{"perplexity", ppl},
                          {"nll_mean", nll / scored},
                          {"tokens_scored", scored},
                          {"windows", windows},
                          {"ctx", ctx},
                          {"stride", stride},
                          {"bos", bos >= 0},
                          {"seconds", seconds}};
    std::cout << out.dump() << "\n";
    return;
  }
  std::printf("perplexity %.4f over %lld tokens (%d windows of %d, stride %d) "
              "in %.1f s\n",
              ppl, static_cast<long long>(scored), windows, ctx, stride,
              seconds);
}
} // namespace

void addPerplexityCommand(CLI::App &app) {
  auto args = std::make_shared<PerplexityArgs>();
  CLI::App *cmd = app.add_subcommand(
      "perplexity", "Perplexity of a text file under a compiled model");
  cmd->add_option("artifact", args->artifact, "artifact folder")->required();
  cmd->add_option("--file,-f", args->file, "text file")->required();
  cmd->add_option("--ctx", args->ctx,
                  "window length in tokens (default: the context, at most 512)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--stride", args->stride,
                  "text tokens between windows (default: no overlap)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--max-windows", args->maxWindows, "stop after this many windows")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->callback([args] { runPerplexity(*args); });
}

} // namespace llmc::cli
