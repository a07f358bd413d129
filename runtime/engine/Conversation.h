//===- Conversation.h - chat turns over one sequence -------------*- C++ -*-===//
//
// A conversation renders its messages with the model's chat template (as
// transformers' apply_chat_template does), tokenizes the text without adding
// a BOS (templates write their own), keeps in the KV cache the longest prefix
// the sequence already holds, prefills the rest and generates the reply,
// which joins the messages. `llmc chat` and the C API's llmc_chat_* share it.
//
// Prefix reuse: after a turn, the sequence holds the rendered prompt and the
// reply's decoded tokens. The next rendering starts with the same text up to
// the reply, where the template may write the reply differently (it adds an
// end-of-turn token, trims spaces, the reply's text re-tokenizes to other
// ids); the sequence is truncated to the common token prefix and only the
// rest is prefilled.
//
// Context: when a rendered prompt leaves less room than the reply may need
// (min(max tokens, context / 2)), the oldest user/assistant pairs after the
// system message are left out for the rest of the conversation.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ENGINE_CONVERSATION_H
#define LLMC_RUNTIME_ENGINE_CONVERSATION_H

#include "runtime/chat/ChatTemplate.h"
#include "runtime/engine/Generator.h"

#include <string>
#include <vector>

namespace llmc {

struct ChatTurnResult {
  GenerateResult generation;
  std::string prompt;           // the rendered conversation
  std::vector<int32_t> promptIds; // its tokens
  int64_t promptTokens = 0;       // how many
  int64_t reusedTokens = 0;     // of them, already in the KV cache
  int64_t droppedMessages = 0;  // left out this turn to fit the context
  double prefillSeconds = 0;
};

class Conversation {
public:
  /// The conversation takes `seq` over (it is reset first). `session`,
  /// `tokenizer` and `chatTemplate` must outlive it.
  static Result<std::unique_ptr<Conversation>>
  create(Session &session, int seq, const Tokenizer &tokenizer,
         const ChatTemplate &chatTemplate, std::string system);

  /// Adds the user's message, generates the reply (streamed to `onText`)
  /// and adds it. On an error the conversation is as before the call.
  Result<ChatTurnResult> send(const std::string &userMessage,
                              const GenerateOptions &options,
                              const TextCallback &onText);

  /// Forgets the messages (not the system message) and the cached tokens.
  Status reset();

  /// Off: every turn prefills the whole conversation again (for comparing).
  void setReuseCache(bool reuse) { reuseCache_ = reuse; }

  /// The messages the next turn renders (system first, when there is one).
  std::vector<ChatMessage> messages() const;
  /// The tokens the sequence holds.
  const std::vector<int32_t> &cachedTokens() const { return cached_; }

private:
  Conversation(Session &session, int seq, const Tokenizer &tokenizer,
               const ChatTemplate &chatTemplate, std::string system)
      : session_(session), seq_(seq), tokenizer_(tokenizer),
        template_(chatTemplate), system_(std::move(system)) {}
  Result<std::string> render(size_t first) const;

  Session &session_;
  int seq_;
  const Tokenizer &tokenizer_;
  const ChatTemplate &template_;
  std::string system_;
  std::vector<ChatMessage> turns_; // user/assistant, alternating
  size_t first_ = 0;               // turns_ before this were dropped
  std::vector<int32_t> cached_;
  bool reuseCache_ = true;
};

} // namespace llmc

#endif // LLMC_RUNTIME_ENGINE_CONVERSATION_H
