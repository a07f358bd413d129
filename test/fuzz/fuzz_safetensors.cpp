// libFuzzer: the safetensors reader on arbitrary bytes.
#include "runtime/formats/Safetensors.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto file = llmc::MappedFile::fromMemory("fuzz.safetensors", data, size);
  auto st = llmc::SafetensorsFile::parse(file);
  if (!st.ok())
    return 0;
  for (const auto &tensor : (*st)->tensors()) {
    const uint8_t *p = (*st)->tensorData(tensor);
    volatile uint8_t sink = tensor.bytes ? p[tensor.bytes - 1] : 0;
    (void)sink;
  }
  return 0;
}
