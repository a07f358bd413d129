//===- JsonFields.cpp - typed reads of tokenizer.json fields --------------===//

#include "runtime/tokenizer/TokenizerParts.h"

#include <nlohmann/json.hpp>

namespace llmc::tokenizer {

Result<bool> optionalBool(const Json &object, const char *key, bool fallback,
                          const std::string &what) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null())
    return fallback;
  if (!it->is_boolean())
    return Status::error(what + ": '" + key + "' must be a boolean");
  return it->get<bool>();
}

Result<std::string> optionalString(const Json &object, const char *key,
                                   const std::string &fallback,
                                   const std::string &what) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null())
    return fallback;
  if (!it->is_string())
    return Status::error(what + ": '" + key + "' must be a string");
  return it->get<std::string>();
}

Result<Pattern> readPattern(const Json &object, const std::string &what) {
  auto it = object.find("pattern");
  if (it == object.end() || !it->is_object() || it->size() != 1)
    return Status::error(what + ": 'pattern' must be {\"String\": ...} or "
                                "{\"Regex\": ...}");
  Pattern pattern;
  std::string source;
  if (auto s = it->find("String"); s != it->end() && s->is_string()) {
    pattern.literal = s->get<std::string>();
    if (pattern.literal->empty())
      return Status::error(what + ": the pattern string is empty");
    source = Regex::quote(*pattern.literal);
  } else if (auto r = it->find("Regex"); r != it->end() && r->is_string()) {
    source = r->get<std::string>();
  } else {
    return Status::error(what + ": 'pattern' must be {\"String\": ...} or "
                                "{\"Regex\": ...}");
  }
  auto regex = Regex::compile(source);
  if (!regex.ok())
    return Status::error(what + ": " + regex.message());
  pattern.regex = regex.take();
  return pattern;
}

Result<std::string> componentType(const Json &object, const char *what) {
  if (!object.is_object() || !object.contains("type") ||
      !object["type"].is_string())
    return Status::error(std::string(what) + ": expected an object with a 'type'");
  return object["type"].get<std::string>();
}

Status forEachInSequence(const Json &object, const char *key,
                         const std::string &what,
                         const std::function<Status(const Json &)> &add) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_array())
    return Status::error(what + ": '" + key + "' must be an array");
  for (const Json &inner : *it)
    LLMC_RETURN_IF_ERROR(add(inner));
  return Status::ok();
}

Status readReplace(const Json &object, const std::string &what,
                   Pattern &pattern, std::string &content) {
  LLMC_ASSIGN_OR_RETURN(pattern, readPattern(object, what));
  auto it = object.find("content");
  if (it == object.end() || !it->is_string())
    return Status::error(what + ": 'content' must be a string");
  content = it->get<std::string>();
  return Status::ok();
}

std::string Pattern::replaceAll(std::string_view text,
                                std::string_view with) const {
  std::string out;
  out.reserve(text.size());
  if (literal) {
    size_t pos = 0;
    while (true) {
      size_t hit = text.find(*literal, pos);
      if (hit == std::string_view::npos)
        break;
      out.append(text.substr(pos, hit - pos));
      out.append(with);
      pos = hit + literal->size();
    }
    out.append(text.substr(pos));
    return out;
  }
  size_t pos = 0;
  regex->forEachMatch(text, [&](size_t begin, size_t end) {
    out.append(text.substr(pos, begin - pos));
    out.append(with);
    pos = end;
  });
  out.append(text.substr(pos));
  return out;
}

} // namespace llmc::tokenizer
