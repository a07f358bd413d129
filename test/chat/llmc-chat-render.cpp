//===- llmc-chat-render.cpp - renders a chat template, for tests ------------===//
//
//   llmc-chat-render TEMPLATE CONVERSATION.json
//
// TEMPLATE is a Jinja file, or a tokenizer_config.json (its chat_template
// is used). CONVERSATION.json holds {"messages": [{"role", "content"}...],
// "add_generation_prompt": bool, "bos_token": str, "eos_token": str}.
// Prints the rendering byte for byte, or one error line and exits 1.
// test/chat/compare_jinja.py renders the same inputs with jinja2.
//
//===----------------------------------------------------------------------===//

#include "runtime/chat/ChatTemplate.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

int fail(const std::string &message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

/// "FILE:LINE:COL: problem" when the message has a position, else
/// "FILE: problem".
std::string located(const std::string &file, const std::string &message) {
  bool positioned = !message.empty() && message[0] >= '0' && message[0] <= '9';
  return file + (positioned ? ":" : ": ") + message;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: llmc-chat-render TEMPLATE CONVERSATION.json\n";
    return 2;
  }
  std::string templatePath = argv[1], conversationPath = argv[2];
  std::string source, conversationText;
  if (!readFile(templatePath, source))
    return fail(templatePath + ": cannot read the file");
  if (!readFile(conversationPath, conversationText))
    return fail(conversationPath + ": cannot read the file");

  if (endsWith(templatePath, ".json")) {
    auto config = nlohmann::json::parse(source, nullptr, false);
    if (config.is_discarded() || !config.is_object() ||
        !config.contains("chat_template") ||
        !config["chat_template"].is_string())
      return fail(templatePath + ": no chat_template string in the file");
    source = config["chat_template"].get<std::string>();
  }

  llmc::ChatTemplateContext context;
  auto conversation = nlohmann::json::parse(conversationText, nullptr, false);
  if (conversation.is_discarded() || !conversation.is_object())
    return fail(conversationPath + ": not a JSON object");
  auto messages = conversation.find("messages");
  if (messages == conversation.end() || !messages->is_array())
    return fail(conversationPath + ": \"messages\" must be an array");
  for (const auto &m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() ||
        !m.contains("content") || !m["content"].is_string())
      return fail(conversationPath +
                  ": each message needs string \"role\" and \"content\"");
    context.messages.push_back(
        {m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  auto field = [&](const char *name, std::string &out) {
    auto it = conversation.find(name);
    if (it != conversation.end() && it->is_string())
      out = it->get<std::string>();
  };
  field("bos_token", context.bosToken);
  field("eos_token", context.eosToken);
  auto agp = conversation.find("add_generation_prompt");
  if (agp != conversation.end() && agp->is_boolean())
    context.addGenerationPrompt = agp->get<bool>();

  auto parsed = llmc::ChatTemplate::parse(source);
  if (!parsed.ok())
    return fail(located(templatePath, parsed.message()));
  auto rendered = parsed.value()->render(context);
  if (!rendered.ok())
    return fail(located(templatePath, rendered.message()));
  std::fwrite(rendered.value().data(), 1, rendered.value().size(), stdout);
  return 0;
}
