//===- ChatTemplate.cpp - a model's chat template, rendered -----------------===//

#include "runtime/chat/ChatTemplate.h"

#include "runtime/chat/TemplateAST.h"
#include "runtime/chat/TemplateRenderer.h"

namespace llmc {

ChatTemplate::ChatTemplate(std::unique_ptr<chat::Program> program)
    : program_(std::move(program)) {}

ChatTemplate::~ChatTemplate() = default;

Result<std::unique_ptr<ChatTemplate>>
ChatTemplate::parse(const std::string &source) {
  LLMC_ASSIGN_OR_RETURN(std::unique_ptr<chat::Program> program,
                        chat::parseTemplate(source));
  return std::unique_ptr<ChatTemplate>(new ChatTemplate(std::move(program)));
}

Result<std::string>
ChatTemplate::render(const ChatTemplateContext &context) const {
  using chat::Value;
  std::vector<Value> messages;
  messages.reserve(context.messages.size());
  for (size_t i = 0; i < context.messages.size(); ++i) {
    const ChatMessage &m = context.messages[i];
    if (!chat::isValidUtf8(m.role) || !chat::isValidUtf8(m.content))
      return Status::error("message " + std::to_string(i) +
                           " is not valid UTF-8");
    messages.push_back(Value::dict({{"role", Value::string(m.role)},
                                    {"content", Value::string(m.content)}}));
  }
  if (!chat::isValidUtf8(context.bosToken) ||
      !chat::isValidUtf8(context.eosToken))
    return Status::error("bos_token or eos_token is not valid UTF-8");
  chat::KeywordArgs variables = {
      {"messages", Value::list(std::move(messages))},
      {"add_generation_prompt", Value::boolean(context.addGenerationPrompt)},
      {"bos_token", Value::string(context.bosToken)},
      {"eos_token", Value::string(context.eosToken)},
      // transformers passes these even when the caller gives none.
      {"tools", Value::none()},
      {"documents", Value::none()},
  };
  chat::Renderer renderer(*program_, chat::RenderLimits());
  return renderer.render(variables);
}

} // namespace llmc
