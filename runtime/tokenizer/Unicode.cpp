//===- Unicode.cpp - UTF-8 and byte-level helpers for the tokenizers ------===//

#include "runtime/tokenizer/Unicode.h"

#include <array>

namespace llmc::unicode {

DecodedChar decodeChar(std::string_view text, size_t pos) {
  DecodedChar out;
  auto byteAt = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byteAt(pos);
  if (lead < 0x80) {
    out.codePoint = lead;
    out.valid = true;
    return out;
  }
  // Table 3-7 of the Unicode standard: the range of the second byte depends
  // on the lead byte; later bytes are plain continuation bytes.
  size_t continuation = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2;
    cp = lead & 0x0F;
    if (lead == 0xE0)
      lo = 0xA0;
    if (lead == 0xED)
      hi = 0x9F; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3;
    cp = lead & 0x07;
    if (lead == 0xF0)
      lo = 0x90;
    if (lead == 0xF4)
      hi = 0x8F; // nothing above U+10FFFF
  } else {
    return out; // a stray continuation byte, C0, C1 or F5..FF
  }
  for (size_t i = 1; i <= continuation; ++i) {
    if (pos + i >= text.size()) {
      out.length = i;
      out.truncated = true;
      return out;
    }
    uint8_t b = byteAt(pos + i);
    uint8_t first = i == 1 ? lo : 0x80, last = i == 1 ? hi : 0xBF;
    if (b < first || b > last) {
      out.length = i;
      return out;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  out.codePoint = cp;
  out.length = continuation + 1;
  out.valid = true;
  return out;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    cp = kReplacementCharacter;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool isValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    DecodedChar c = decodeChar(text, pos);
    if (!c.valid)
      return false;
    pos += c.length;
  }
  return true;
}

std::string repairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    DecodedChar c = decodeChar(text, pos);
    if (c.valid)
      out.append(text.substr(pos, c.length));
    else
      appendUtf8(out, kReplacementCharacter);
    pos += c.length;
  }
  return out;
}

size_t completePrefixLength(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    DecodedChar c = decodeChar(bytes, pos);
    if (c.truncated)
      return pos;
    pos += c.length;
  }
  return pos;
}

bool isWhitespace(uint32_t cp) {
  if (cp >= 0x09 && cp <= 0x0D)
    return true;
  switch (cp) {
  case 0x20:
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

namespace {
/// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
/// other 68 bytes to U+0100.. in byte order.
struct ByteLevelTables {
  std::array<uint32_t, 256> toCodePoint{};
  std::array<int16_t, 324>
      toByte{}; // every code point of the alphabet is < 324
  ByteLevelTables() {
    toByte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      toCodePoint[b] = cp;
      toByte[cp] = static_cast<int16_t>(b);
    }
  }
};
const ByteLevelTables &byteLevelTables() {
  static const ByteLevelTables tables;
  return tables;
}
} // namespace

uint32_t byteToCodePoint(uint8_t byte) {
  return byteLevelTables().toCodePoint[byte];
}

int codePointToByte(uint32_t cp) {
  const auto &table = byteLevelTables().toByte;
  return cp < table.size() ? table[cp] : -1;
}

} // namespace llmc::unicode
