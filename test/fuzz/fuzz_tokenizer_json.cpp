// libFuzzer: tokenizer.json loading, then encoding and decoding.
#include "runtime/tokenizer/Tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string json(reinterpret_cast<const char *>(data), size);
  auto tokenizer = llmc::Tokenizer::fromJson(json, "", "fuzz.json");
  if (!tokenizer.ok())
    return 0;
  const llmc::Tokenizer &t = **tokenizer;
  for (const char *text : {"Hello world", "  x\t\n 123 456", "\xf0\x9f\x98\x80 caf\xc3\xa9",
                           "\xff\xfe bad", "<s>special</s>"}) {
    std::vector<int32_t> ids = t.encode(text, true, true);
    (void)t.decode(ids);
    llmc::StreamingDecoder stream(t);
    for (int32_t id : ids)
      (void)stream.push(id);
    (void)stream.flush();
  }
  return 0;
}
