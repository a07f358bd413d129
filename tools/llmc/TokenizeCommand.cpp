//===- TokenizeCommand.cpp - llmc tokenize --------------------------------===//
//
//   llmc tokenize MODEL|tokenizer.json [--text T | --text-file F] [--no-bos]
//                 [--special] [--json] [--decode 1,2,3]
//
// MODEL is a Hugging Face folder or a compiled artifact folder (its
// tokenizer.json and tokenizer_config.json), a .gguf file (its tokenizer
// metadata, converted as the compiler does), or a tokenizer.json file (with
// the tokenizer_config.json next to it, if any). Prints the ids, or with
// --decode the text of the given ids.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/formats/GGUF.h"
#include "runtime/support/MappedFile.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <cstdio>
#include <iostream>
#include <sys/stat.h>

namespace llmc::cli {

namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string textFile;
  std::string decodeIds;
  bool noBos = false;
  bool special = false;
  bool json = false;
  bool haveText = false;
};

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

Result<std::unique_ptr<Tokenizer>> openTokenizer(const std::string &model) {
  if (isDirectory(model)) {
    std::string json = model + "/tokenizer.json";
    std::string config = model + "/tokenizer_config.json";
    if (!fileExists(json))
      return Status::error(model + ": no tokenizer.json in this folder");
    return Tokenizer::fromFiles(json, fileExists(config) ? config : "");
  }
  if (!fileExists(model))
    return Status::error(model + ": no such file or folder");
  if (endsWith(model, ".gguf")) {
    LLMC_ASSIGN_OR_RETURN(auto gguf, GGUFFile::open(model));
    LLMC_ASSIGN_OR_RETURN(auto converted, tokenizerJsonFromGGUF(*gguf));
    return Tokenizer::fromJson(converted.first, converted.second,
                               model + " (tokenizer converted from GGUF)");
  }
  std::string config = directoryOf(model) + "/tokenizer_config.json";
  return Tokenizer::fromFiles(model, fileExists(config) ? config : "");
}

Result<std::vector<int32_t>> parseIds(const std::string &list) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string item = list.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t begin = item.find_first_not_of(" \t");
    size_t end = item.find_last_not_of(" \t");
    if (begin != std::string::npos) {
      item = item.substr(begin, end - begin + 1);
      if (item.size() > 10 ||
          item.find_first_not_of("0123456789") != std::string::npos)
        return Status::error("--decode: '" + item + "' is not a token id");
      long long value = std::stoll(item);
      if (value > 0x7FFFFFFF)
        return Status::error("--decode: '" + item + "' is not a token id");
      ids.push_back(static_cast<int32_t>(value));
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return ids;
}

/// `text` as a JSON string literal (the text is valid UTF-8 by then).
std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
        out += buffer;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
  return out + "\"";
}

void runTokenize(const TokenizeOptions &options) {
  auto tokenizer = openTokenizer(options.model);
  if (!tokenizer.ok())
    return fail(tokenizer.message());

  if (!options.decodeIds.empty()) {
    auto ids = parseIds(options.decodeIds);
    if (!ids.ok())
      return fail(ids.message());
    for (int32_t id : ids.value())
      if (id >= (*tokenizer)->vocabSize())
        return fail("--decode: token id " + std::to_string(id) +
                    " is out of range (vocab size " +
                    std::to_string((*tokenizer)->vocabSize()) + ")");
    std::string text = (*tokenizer)->decode(ids.value());
    if (options.json)
      std::cout << "{\"text\":" << jsonString(text) << "}\n";
    else
      std::cout << text << "\n";
    return;
  }

  std::string text = options.text;
  if (!options.textFile.empty()) {
    auto contents = readTextFile(options.textFile);
    if (!contents.ok())
      return fail(contents.message());
    text = contents.take();
  } else if (!options.haveText) {
    return fail("tokenize: give --text, --text-file or --decode");
  }
  bool addBos = !options.noBos && (*tokenizer)->addBosByDefault();
  std::vector<int32_t> ids =
      (*tokenizer)->encode(text, addBos, options.special);
  std::string list;
  for (size_t i = 0; i < ids.size(); ++i)
    list += (i ? (options.json ? "," : " ") : "") + std::to_string(ids[i]);
  if (options.json)
    std::cout << "{\"tokens\":[" << list << "]}\n";
  else
    std::cout << list << "\n";
}

} // namespace

void addTokenizeCommand(CLI::App &app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App *cmd = app.add_subcommand(
      "tokenize", "Tokenize text (or decode ids) with a model's tokenizer");
  cmd->add_option("model", options->model,
                  "HF or artifact folder, .gguf file, or tokenizer.json")
      ->required();
  auto *text = cmd->add_option("--text", options->text, "the text to tokenize");
  auto *file =
      cmd->add_option("--text-file", options->textFile,
                      "read the text from this file (bytes as they are)");
  auto *decode = cmd->add_option("--decode", options->decodeIds,
                                 "decode these comma-separated ids instead");
  text->excludes(file)->excludes(decode);
  file->excludes(decode);
  cmd->add_flag("--no-bos", options->noBos, "do not add the model's BOS token");
  cmd->add_flag("--special", options->special,
                "parse special tokens written in the text (e.g. <|eot_id|>)");
  cmd->add_flag("--json", options->json,
                "print JSON: {\"tokens\":[...]} or {\"text\":...}");
  cmd->callback([options, text] {
    options->haveText = text->count() > 0;
    runTokenize(*options);
  });
}

} // namespace llmc::cli
