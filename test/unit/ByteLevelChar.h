//===- ByteLevelChar.h - GPT-2's byte alphabet, written for the tests -------===//
//
// The tests build byte-level vocabularies with their own copy of GPT-2's
// byte -> printable code point map (not the runtime's), so a mistake there
// cannot hide in both.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_UNIT_BYTELEVELCHAR_H
#define LLMC_TEST_UNIT_BYTELEVELCHAR_H

#include <string>

/// The UTF-8 of the code point GPT-2 writes for `byte`.
inline std::string byteLevelChar(int byte) {
  auto printable = [](int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
           (b >= 0xAE && b <= 0xFF);
  };
  int cp = byte;
  if (!printable(byte)) {
    cp = 256;
    for (int b = 0; b < byte; ++b)
      if (!printable(b))
        ++cp;
  }
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

#endif // LLMC_TEST_UNIT_BYTELEVELCHAR_H
