//===- ChatTemplate.h - a model's chat template, rendered -------*- C++ -*-===//
//
// Renders a Hugging Face chat template (tokenizer_config.json's
// `chat_template`, a Jinja2 template) into the prompt text, exactly as
// transformers' apply_chat_template(..., tokenize=False) does. llmc carries
// its own small Jinja engine (runtime/chat/Template*.cpp) so that the
// runtime stays free of Python and MLIR; docs/chat.md lists the supported
// subset.
//
// transformers renders in jinja2's ImmutableSandboxedEnvironment with
// trim_blocks=True and lstrip_blocks=True (and the loopcontrols extension),
// so this engine does too. The variables a template sees are those
// transformers passes: `messages` (a list of {"role", "content"} dicts),
// `add_generation_prompt`, `bos_token`, `eos_token`, `tools` and
// `documents` (none), plus the globals `raise_exception(msg)` and
// `strftime_now(fmt)`, transformers' `tojson` filter (json.dumps with
// ensure_ascii=False, keys unsorted, no HTML escaping) and jinja's
// `namespace`, `range` and `dict`.
//
// Templates are untrusted input: parsing and rendering never crash or run
// away. Recursion depth, loop iterations, work and output size (1 MiB) are
// bounded, and every problem is an error Status naming the template
// position ("LINE:COL: problem"). A parsed ChatTemplate is immutable;
// render may run on many threads at once.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHAT_CHATTEMPLATE_H
#define LLMC_RUNTIME_CHAT_CHATTEMPLATE_H

#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

namespace chat {
struct Program;
}

struct ChatMessage {
  std::string role;
  std::string content;
};

struct ChatTemplateContext {
  std::vector<ChatMessage> messages;
  bool addGenerationPrompt = true;
  std::string bosToken, eosToken; // exposed as bos_token / eos_token
};

class ChatTemplate {
public:
  /// Parses once; render many times. Errors name the template position
  /// (line:col) and the problem.
  static Result<std::unique_ptr<ChatTemplate>> parse(const std::string &source);
  ~ChatTemplate();
  ChatTemplate(const ChatTemplate &) = delete;
  ChatTemplate &operator=(const ChatTemplate &) = delete;

  /// The prompt text. Strings in the context must be valid UTF-8. Errors
  /// (including the template's own raise_exception) read "LINE:COL: ...".
  Result<std::string> render(const ChatTemplateContext &context) const;

private:
  explicit ChatTemplate(std::unique_ptr<chat::Program> program);
  std::unique_ptr<chat::Program> program_;
};

} // namespace llmc

#endif // LLMC_RUNTIME_CHAT_CHATTEMPLATE_H
