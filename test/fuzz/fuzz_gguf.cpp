// libFuzzer: the GGUF reader and the GGUF tokenizer conversion on arbitrary bytes.
#include "runtime/formats/GGUF.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto file = llmc::MappedFile::fromMemory("fuzz.gguf", data, size);
  auto gguf = llmc::GGUFFile::parse(file);
  if (!gguf.ok())
    return 0;
  // Every accessor on every key must answer or refuse, never crash.
  for (const auto &[key, value] : (*gguf)->metadata()) {
    (void)(*gguf)->getString(key);
    (void)(*gguf)->getInt(key);
    (void)(*gguf)->getFloat(key);
    (void)(*gguf)->getStringArray(key);
    (void)(*gguf)->getFloatArray(key);
    (void)(*gguf)->getIntArray(key);
  }
  for (const auto &tensor : (*gguf)->tensors()) {
    const uint8_t *p = (*gguf)->tensorData(tensor);
    volatile uint8_t sink = tensor.bytes ? p[tensor.bytes - 1] : 0;
    (void)sink;
  }
  auto converted = llmc::tokenizerJsonFromGGUF(**gguf);
  if (converted.ok()) {
    auto tokenizer = llmc::Tokenizer::fromJson(converted->first,
                                               converted->second, "fuzz");
    if (tokenizer.ok())
      (void)(*tokenizer)->decode((*tokenizer)->encode("a b  c\n12", true, true));
  }
  return 0;
}
