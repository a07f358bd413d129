//===- ChatCommand.cpp - llmc chat OUT [-p MESSAGE]... ----------------------===//
//
// A conversation with a compiled chat model: each user message is added to
// the conversation, which is rendered with the model's chat template (or
// --template FILE), and the reply streams to stdout. Turns reuse the KV
// cache of the tokens they share with the previous turn (--no-cache turns
// that off, to compare). Messages come from -p (repeatable; then the command
// exits) or from stdin, one per line; on a terminal, /reset starts over and
// /quit ends, and Ctrl-C stops a reply.
//
// --json prints one object per turn: the rendered prompt, the reply, token
// counts (prompt, reused from the cache), the stop reason and timings.
// --show-prompt prints each rendered prompt to stderr.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/chat/ChatTemplate.h"
#include "runtime/engine/Conversation.h"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <unistd.h>

namespace llmc::cli {

namespace {
struct ChatArgs {
  std::string artifact;
  std::vector<std::string> prompts;
  std::string system;
  std::string templatePath;
  int n = 256;
  SamplerOptions sampling;
  std::vector<std::string> stop;
  int threads = 0;
  int64_t context = 0;
  std::string device = "cpu";
  bool json = false;
  bool showPrompt = false;
  bool noCache = false;
  bool poison = false;
};

volatile std::sig_atomic_t interrupted = 0;
extern "C" void onInterrupt(int) { interrupted = 1; }

Result<std::string> readTemplate(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::error(path + ": cannot open the chat template");
  constexpr size_t kLimit = 1 << 20;
  std::string text(kLimit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kLimit)
    return Status::error(path + ": a chat template over 1 MiB");
  return text;
}

class Chat {
public:
  Chat(const ChatArgs &args, Conversation &conversation)
      : args_(args), conversation_(conversation) {}

  /// One turn; false when it failed (the error is printed).
  bool turn(const std::string &message, bool echo) {
    GenerateOptions options;
    options.maxTokens = args_.n;
    options.sampling = args_.sampling;
    options.stopStrings = args_.stop;
    if (echo && !args_.json)
      std::cout << "> " << message << "\n" << std::flush;
    interrupted = 0;
    struct sigaction action = {}, previous = {};
    action.sa_handler = onInterrupt;
    action.sa_flags = SA_RESTART; // writes to stdout carry on
    sigaction(SIGINT, &action, &previous);
    bool streamed = false;
    auto result = conversation_.send(
        message, options, [&](int32_t, const std::string &piece) {
          if (!args_.json)
            std::cout << piece << std::flush;
          streamed = true;
          return interrupted == 0;
        });
    sigaction(SIGINT, &previous, nullptr);
    if (!result.ok()) {
      if (streamed)
        std::cout << "\n" << std::flush;
      fail(result.message());
      return false;
    }
    ++turns_;
    const GenerateResult &g = result->generation;
    double decodeRate =
        g.seconds > 0 && g.decodeSteps ? g.decodeSteps / g.seconds : 0;
    int64_t prefilled = result->promptTokens - result->reusedTokens;
    if (args_.showPrompt)
      std::cerr << "--- prompt (" << result->promptTokens << " tokens, "
                << result->reusedTokens << " from the cache) ---\n"
                << result->prompt << "\n--- end of prompt ---\n";
    if (args_.json) {
      nlohmann::json out;
      out["turn"] = turns_;
      out["user"] = message;
      out["prompt"] = result->prompt;
      out["reply"] = g.text;
      out["prompt_tokens"] = result->promptTokens;
      out["prompt_ids"] = result->promptIds;
      out["reused_tokens"] = result->reusedTokens;
      out["dropped_messages"] = result->droppedMessages;
      out["generated_tokens"] = g.tokens;
      out["stop_reason"] = stopReasonName(g.reason);
      out["timings"] = {{"prefill_s", result->prefillSeconds},
                        {"decode_s", g.seconds},
                        {"decode_tokens_per_s", decodeRate}};
      std::cout << out.dump() << "\n" << std::flush;
    } else {
      std::cout << "\n" << (echo ? "\n" : "") << std::flush;
      if (result->droppedMessages)
        std::fprintf(stderr,
                     "llmc: %lld old messages left out to fit the context\n",
                     static_cast<long long>(result->droppedMessages));
      std::fprintf(stderr,
                   "llmc: prompt %lld tokens (%lld from the cache), prefill "
                   "%lld in %.3f s; decode %d tokens in %.3f s (%.1f tok/s)%s\n",
                   static_cast<long long>(result->promptTokens),
                   static_cast<long long>(result->reusedTokens),
                   static_cast<long long>(prefilled), result->prefillSeconds,
                   g.decodeSteps, g.seconds, decodeRate,
                   g.reason == StopReason::Cancelled ? " (stopped)" : "");
    }
    return true;
  }

private:
  const ChatArgs &args_;
  Conversation &conversation_;
  int turns_ = 0;
};

void runChat(const ChatArgs &args) {
  auto artifact = Artifact::open(args.artifact);
  if (!artifact.ok())
    return fail(artifact.message());
  auto tokenizer = (*artifact)->loadTokenizer();
  if (!tokenizer.ok())
    return fail(tokenizer.message());
  if (!*tokenizer)
    return fail(args.artifact + ": no tokenizer.json; chat needs a tokenizer");

  std::string source;
  if (!args.templatePath.empty()) {
    auto text = readTemplate(args.templatePath);
    if (!text.ok())
      return fail(text.message());
    source = text.take();
  } else {
    source = (*tokenizer)->chatTemplate();
    if (source.empty())
      return fail(args.artifact +
                  ": the model has no chat template; give --template FILE");
  }
  auto chatTemplate = ChatTemplate::parse(source);
  if (!chatTemplate.ok())
    return fail("chat template: " + chatTemplate.message());

  SessionOptions options;
  options.threads = args.threads;
  options.contextLength = args.context;
  options.device = args.device;
  options.poisonOnFree = args.poison;
  auto session = Session::create(*artifact, options);
  if (!session.ok())
    return fail(session.message());
  auto seq = (*session)->addSequence();
  if (!seq.ok())
    return fail(seq.message());
  auto conversation = Conversation::create(**session, *seq, **tokenizer,
                                           **chatTemplate, args.system);
  if (!conversation.ok())
    return fail(conversation.message());
  (*conversation)->setReuseCache(!args.noCache);
  Chat chat(args, **conversation);

  if (!args.prompts.empty()) {
    for (const std::string &message : args.prompts)
      if (!chat.turn(message, /*echo=*/true))
        return;
    return;
  }

  bool tty = isatty(0) != 0;
  if (tty)
    std::fprintf(stderr, "llmc chat: %s on %s; /reset starts over, /quit or "
                         "Ctrl-D ends, Ctrl-C stops a reply\n",
                 args.artifact.c_str(),
                 (*session)->deviceDescription().c_str());
  std::string line;
  for (;;) {
    if (tty)
      std::fputs("> ", stderr);
    if (!std::getline(std::cin, line))
      break;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    if (line == "/quit" || line == "/exit")
      break;
    if (line == "/reset") {
      if (Status st = (*conversation)->reset(); st.isError())
        return fail(st.message());
      if (tty)
        std::fputs("(a new conversation)\n", stderr);
      continue;
    }
    // On a terminal an error ends only the turn; in a script it ends the run.
    if (!chat.turn(line, /*echo=*/!tty) && !tty)
      return;
  }
}
} // namespace

void addChatCommand(CLI::App &app) {
  auto args = std::make_shared<ChatArgs>();
  CLI::App *cmd = app.add_subcommand(
      "chat", "Chat with a compiled model through its chat template");
  cmd->add_option("artifact", args->artifact, "artifact folder (llmc compile -o)")
      ->required();
  cmd->add_option("-p,--prompt", args->prompts,
                  "a user message (repeatable: one turn each, then exit); "
                  "without it, messages are read from stdin, one per line");
  cmd->add_option("--system", args->system, "the system message");
  cmd->add_option("--template", args->templatePath,
                  "a Jinja chat template file instead of the model's");
  cmd->add_option("-n,--n-predict", args->n, "most tokens per reply")
      ->check(CLI::Range(1, 1 << 20));
  addSamplingOptions(*cmd, args->sampling);
  cmd->add_option("--stop", args->stop,
                  "end a reply at this text (not printed); repeatable");
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--ctx", args->context, "context length (0: compiled)")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--device", args->device, "cpu, vulkan[:N] or cuda[:N]");
  cmd->add_flag("--json", args->json, "print one JSON object per turn");
  cmd->add_flag("--show-prompt", args->showPrompt,
                "print each rendered prompt to stderr");
  cmd->add_flag("--no-cache", args->noCache,
                "prefill the whole conversation every turn");
  cmd->add_flag("--poison", args->poison,
                "debug: fill every buffer with NaN when its lifetime ends");
  cmd->callback([args] { runChat(*args); });
}

} // namespace llmc::cli
