//===- Conversation.cpp - chat turns over one sequence ----------------------===//

#include "runtime/engine/Conversation.h"

#include <algorithm>
#include <chrono>

namespace llmc {

Result<std::unique_ptr<Conversation>>
Conversation::create(Session &session, int seq, const Tokenizer &tokenizer,
                     const ChatTemplate &chatTemplate, std::string system) {
  LLMC_RETURN_IF_ERROR(session.resetSequence(seq));
  return std::unique_ptr<Conversation>(new Conversation(
      session, seq, tokenizer, chatTemplate, std::move(system)));
}

std::vector<ChatMessage> Conversation::messages() const {
  std::vector<ChatMessage> out;
  if (!system_.empty())
    out.push_back({"system", system_});
  out.insert(out.end(), turns_.begin() + static_cast<std::ptrdiff_t>(first_),
             turns_.end());
  return out;
}

Result<std::string> Conversation::render(size_t first) const {
  ChatTemplateContext context;
  if (!system_.empty())
    context.messages.push_back({"system", system_});
  context.messages.insert(context.messages.end(),
                          turns_.begin() + static_cast<std::ptrdiff_t>(first),
                          turns_.end());
  context.addGenerationPrompt = true;
  context.bosToken = tokenizer_.bosToken();
  context.eosToken = tokenizer_.eosToken();
  auto text = template_.render(context);
  if (!text.ok())
    return Status::error("chat template: " + text.message());
  return text;
}

Status Conversation::reset() {
  turns_.clear();
  first_ = 0;
  cached_.clear();
  return session_.resetSequence(seq_);
}

Result<ChatTurnResult> Conversation::send(const std::string &userMessage,
                                          const GenerateOptions &options,
                                          const TextCallback &onText) {
  ChatTurnResult result;
  turns_.push_back({"user", userMessage});
  // Failures before the sequence changes only take the message back; later
  // ones also forget the cache, whose state is then unknown.
  auto undo = [&](bool sequenceTouched, Status status) -> Status {
    turns_.pop_back();
    if (sequenceTouched) {
      cached_.clear();
      (void)session_.resetSequence(seq_);
    }
    return status;
  };

  int64_t context = session_.contextLength();
  int64_t room = std::max<int64_t>(
      1, std::min<int64_t>(options.maxTokens, context / 2));
  size_t first = first_;
  std::vector<int32_t> tokens;
  for (;;) {
    auto text = render(first);
    if (!text.ok())
      return undo(false, text.status());
    tokens = tokenizer_.encode(*text, /*addBos=*/false, /*parseSpecial=*/true);
    result.prompt = text.take();
    // Keep the newest user message at least; drop whole exchanges.
    if (static_cast<int64_t>(tokens.size()) + room <= context ||
        first + 1 >= turns_.size())
      break;
    first += 2;
  }
  if (tokens.empty())
    return undo(false, Status::error("the chat template renders no tokens"));
  if (static_cast<int64_t>(tokens.size()) >= context)
    return undo(false,
                Status::error("the message needs " +
                              std::to_string(tokens.size()) +
                              " tokens with the chat template, the context "
                              "holds " +
                              std::to_string(context)));
  result.promptIds = tokens;
  result.promptTokens = static_cast<int64_t>(tokens.size());
  result.droppedMessages = static_cast<int64_t>(first - first_);

  // The longest prefix the sequence already holds; at least one token is
  // prefilled, for the logits the reply starts from.
  size_t common = 0;
  if (reuseCache_)
    while (common < cached_.size() && common < tokens.size() &&
           cached_[common] == tokens[common])
      ++common;
  common = std::min(common, tokens.size() - 1);
  if (Status st = session_.truncateSequence(seq_, static_cast<int64_t>(common));
      st.isError())
    return undo(true, st);
  result.reusedTokens = static_cast<int64_t>(common);

  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> rest(tokens.begin() + static_cast<std::ptrdiff_t>(common),
                            tokens.end());
  if (Status st = session_.prefill(seq_, rest, &logits); st.isError())
    return undo(true, st);
  result.prefillSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count();

  auto generated =
      generate(session_, seq_, &tokenizer_, std::move(logits), tokens, options,
               onText);
  if (!generated.ok())
    return undo(true, generated.status());
  result.generation = generated.take();

  cached_ = std::move(tokens);
  const std::vector<int32_t> &reply = result.generation.tokens;
  cached_.insert(cached_.end(), reply.begin(),
                 reply.begin() + result.generation.decodeSteps);
  if (session_.length(seq_) != static_cast<int64_t>(cached_.size())) {
    // Not expected; never reuse a cache whose contents are not known.
    cached_.clear();
    (void)session_.resetSequence(seq_);
  }
  turns_.push_back({"assistant", result.generation.text});
  first_ = first;
  return result;
}

} // namespace llmc
