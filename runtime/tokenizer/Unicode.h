//===- Unicode.h - UTF-8 and byte-level helpers for the tokenizers --------===//
//
// The tokenizers see arbitrary bytes from users and files. Ill-formed UTF-8 is
// repaired the way Unicode recommends ("maximal subparts", chapter 3.9), which
// is also what Python's errors="replace", Rust's from_utf8_lossy (and so
// Hugging Face `tokenizers`) and the WHATWG decoder used by node do.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_TOKENIZER_UNICODE_H
#define LLMC_RUNTIME_TOKENIZER_UNICODE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmc::unicode {

constexpr uint32_t kReplacementCharacter = 0xFFFD;

/// Outcome of reading one character at a position.
struct DecodedChar {
  uint32_t codePoint = kReplacementCharacter;
  size_t length = 1;      // bytes consumed (always >= 1)
  bool valid = false;     // false: `length` bytes form one maximal subpart
  bool truncated = false; // invalid only because the text ended too early
};

/// Reads the character at `pos` (< text.size()).
DecodedChar decodeChar(std::string_view text, size_t pos);

/// Appends the UTF-8 encoding of `cp` (U+FFFD for surrogates and > U+10FFFF).
void appendUtf8(std::string &out, uint32_t cp);

/// True when `text` is well-formed UTF-8.
bool isValidUtf8(std::string_view text);

/// `text` with every maximal ill-formed subpart replaced by U+FFFD.
std::string repairUtf8(std::string_view text);

/// Length of the longest prefix of `bytes` that does not end inside a
/// character that further bytes could still complete.
size_t completePrefixLength(std::string_view bytes);

/// Unicode White_Space (what Rust's char::is_whitespace tests).
bool isWhitespace(uint32_t cp);

/// GPT-2's byte-level alphabet: each byte as a printable code point.
uint32_t byteToCodePoint(uint8_t byte);
/// The byte a code point of the byte-level alphabet stands for, or -1.
int codePointToByte(uint32_t cp);

} // namespace llmc::unicode

#endif // LLMC_RUNTIME_TOKENIZER_UNICODE_H
