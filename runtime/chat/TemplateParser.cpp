//===- TemplateParser.cpp - Jinja lexer and parser for chat templates -------===//
//
// Tokenizes and parses the Jinja subset chat templates use, following
// jinja2 3.1's lexer and parser with the options transformers sets:
// trim_blocks (the first newline after a block or comment tag is dropped)
// and lstrip_blocks (spaces and tabs before a block or comment tag at the
// start of a line are dropped). `{%-`/`-%}` strip all whitespace on that
// side, `{%+`/`+%}` turn lstrip/trim off for that tag.
//
//===----------------------------------------------------------------------===//

#include "runtime/chat/TemplateAST.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace llmc {
namespace chat {

std::string describePosition(const std::string &source, size_t pos) {
  size_t line = 1, col = 1;
  pos = std::min(pos, source.size());
  for (size_t i = 0; i < pos;) {
    if (source[i] == '\n') {
      ++line;
      col = 1;
      ++i;
      continue;
    }
    decodeUtf8(source, i);
    ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

namespace {

// --- Lexer ------------------------------------------------------------------

enum class TokKind {
  Data,
  VarBegin,
  VarEnd,
  BlockBegin,
  BlockEnd,
  Name,
  String,
  Int,
  Float,
  Op,
  Eof,
};

struct Token {
  TokKind kind = TokKind::Eof;
  size_t pos = 0;
  std::string text; // data, name, decoded string, operator
  int64_t ival = 0;
  double fval = 0;
};

bool isSpaceAt(const std::string &s, size_t pos, size_t *next) {
  size_t p = pos;
  uint32_t cp = decodeUtf8(s, p);
  if (!isUnicodeSpace(cp))
    return false;
  *next = p;
  return true;
}

size_t skipSpaces(const std::string &s, size_t pos) {
  size_t next;
  while (pos < s.size() && isSpaceAt(s, pos, &next))
    pos = next;
  return pos;
}

bool allSpaces(const std::string &s, size_t begin, size_t end) {
  size_t next;
  while (begin < end) {
    if (!isSpaceAt(s, begin, &next))
      return false;
    begin = next;
  }
  return true;
}

std::string rstripSpaces(const std::string &s) {
  return stripString(s, nullptr, false, true);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isNameChar(char c) { return isNameStart(c) || isDigit(c); }

class Lexer {
public:
  explicit Lexer(const std::string &source) : src_(source) {}

  Result<std::vector<Token>> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t tag = findTag(pos);
      if (tag == std::string::npos) {
        emitData(src_.substr(pos), pos);
        break;
      }
      char type = src_[tag + 1];
      size_t after = tag + 2;
      char sign = 0;
      if (after < src_.size() && (src_[after] == '-' || src_[after] == '+'))
        sign = src_[after++];
      size_t rawContent = 0;
      bool raw = type == '%' && isRawBegin(after, &rawContent);
      std::string text = src_.substr(pos, tag - pos);
      emitData(stripBefore(std::move(text), sign, type != '{'), pos);
      if (type == '#') {
        LLMC_ASSIGN_OR_RETURN(pos, lexComment(tag, after));
      } else if (raw) {
        LLMC_ASSIGN_OR_RETURN(pos, lexRaw(tag, rawContent));
      } else {
        LLMC_ASSIGN_OR_RETURN(pos, lexTag(tag, after, type == '%'));
      }
    }
    Token eof;
    eof.kind = TokKind::Eof;
    eof.pos = src_.size();
    tokens_.push_back(std::move(eof));
    return std::move(tokens_);
  }

private:
  Status fail(size_t pos, const std::string &msg) const {
    return Status::error(describePosition(src_, pos) + ": " + msg);
  }

  size_t findTag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string::npos;
         p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() &&
          (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#'))
        return p;
    }
    return std::string::npos;
  }

  /// Text before a tag: `-` strips all trailing whitespace; lstrip_blocks
  /// drops the indentation of a block or comment tag that starts a line.
  std::string stripBefore(std::string text, char sign, bool blockLike) {
    if (sign == '-')
      return rstripSpaces(text);
    if (sign != '+' && blockLike) {
      size_t nl = text.rfind('\n');
      size_t lpos = nl == std::string::npos ? 0 : nl + 1;
      if ((lpos > 0 || lineStarting_) && lpos < text.size() &&
          allSpaces(text, lpos, text.size()))
        text.resize(lpos);
    }
    return text;
  }

  void emitData(std::string text, size_t pos) {
    if (text.empty())
      return;
    Token t;
    t.kind = TokKind::Data;
    t.pos = pos;
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  void push(TokKind kind, size_t pos, std::string text = std::string()) {
    Token t;
    t.kind = kind;
    t.pos = pos;
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  bool isRawBegin(size_t after, size_t *contentStart) const {
    size_t p = skipSpaces(src_, after);
    if (src_.compare(p, 3, "raw") != 0)
      return false;
    p += 3;
    if (p < src_.size() && isNameChar(src_[p]))
      return false;
    p = skipSpaces(src_, p);
    if (src_.compare(p, 3, "-%}") == 0) {
      *contentStart = skipSpaces(src_, p + 3);
      return true;
    }
    if (src_.compare(p, 2, "%}") == 0) {
      *contentStart = p + 2;
      return true;
    }
    return false;
  }

  Result<size_t> lexComment(size_t tag, size_t after) {
    size_t end = src_.find("#}", after);
    if (end == std::string::npos)
      return fail(tag, "unterminated comment: '{#' without '#}'");
    char sign = end > after ? src_[end - 1] : 0;
    size_t pos = end + 2;
    if (sign == '-')
      pos = skipSpaces(src_, pos);
    else if (sign != '+' && pos < src_.size() && src_[pos] == '\n')
      ++pos;
    lineStarting_ = src_[pos - 1] == '\n';
    return pos;
  }

  Result<size_t> lexRaw(size_t tag, size_t content) {
    lineStarting_ = src_[content - 1] == '\n';
    for (size_t p = src_.find("{%", content); p != std::string::npos;
         p = src_.find("{%", p + 1)) {
      size_t q = p + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+'))
        sign = src_[q++];
      q = skipSpaces(src_, q);
      if (src_.compare(q, 6, "endraw") != 0)
        continue;
      q = skipSpaces(src_, q + 6);
      size_t end;
      char endSign = 0;
      if (src_.compare(q, 3, "+%}") == 0 || src_.compare(q, 3, "-%}") == 0) {
        endSign = src_[q];
        end = q + 3;
      } else if (src_.compare(q, 2, "%}") == 0) {
        end = q + 2;
      } else {
        continue;
      }
      emitData(stripBefore(src_.substr(content, p - content), sign, true),
               content);
      if (endSign == '-')
        end = skipSpaces(src_, end);
      else if (endSign != '+' && end < src_.size() && src_[end] == '\n')
        ++end;
      lineStarting_ = src_[end - 1] == '\n';
      return end;
    }
    return fail(tag, "unterminated raw block: '{% raw %}' without "
                     "'{% endraw %}'");
  }

  Result<size_t> lexTag(size_t tag, size_t pos, bool block) {
    push(block ? TokKind::BlockBegin : TokKind::VarBegin, tag);
    std::vector<std::pair<char, size_t>> brackets;
    while (true) {
      if (pos >= src_.size())
        return fail(tag, block ? "unterminated tag: '{%' without '%}'"
                               : "unterminated tag: '{{' without '}}'");
      if (brackets.empty()) {
        size_t end = 0;
        char sign = 0;
        if (block) {
          if (src_.compare(pos, 3, "-%}") == 0 ||
              src_.compare(pos, 3, "+%}") == 0) {
            sign = src_[pos];
            end = pos + 3;
          } else if (src_.compare(pos, 2, "%}") == 0) {
            end = pos + 2;
          }
        } else {
          if (src_.compare(pos, 3, "-}}") == 0) {
            sign = '-';
            end = pos + 3;
          } else if (src_.compare(pos, 2, "}}") == 0) {
            end = pos + 2;
          }
        }
        if (end) {
          push(block ? TokKind::BlockEnd : TokKind::VarEnd, pos);
          if (sign == '-')
            end = skipSpaces(src_, end);
          else if (block && sign != '+' && end < src_.size() &&
                   src_[end] == '\n')
            ++end;
          lineStarting_ = src_[end - 1] == '\n';
          return end;
        }
      }
      size_t next;
      if (isSpaceAt(src_, pos, &next)) {
        pos = next;
        continue;
      }
      char c = src_[pos];
      if (isDigit(c)) {
        LLMC_ASSIGN_OR_RETURN(pos, lexNumber(pos));
        continue;
      }
      if (isNameStart(c)) {
        size_t end = pos;
        while (end < src_.size() && isNameChar(src_[end]))
          ++end;
        push(TokKind::Name, pos, src_.substr(pos, end - pos));
        pos = end;
        continue;
      }
      if (c == '\'' || c == '"') {
        LLMC_ASSIGN_OR_RETURN(pos, lexString(pos));
        continue;
      }
      static const char *const kOps[] = {
          "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~",
          "[",  "]",  "(",  ")",  "{",  "}",  ">", "<", "=", ".", ":", "|",
          ",",  ";"};
      const char *op = nullptr;
      for (const char *candidate : kOps)
        if (src_.compare(pos, std::strlen(candidate), candidate) == 0) {
          op = candidate;
          break;
        }
      if (!op) {
        size_t end = pos;
        decodeUtf8(src_, end);
        return fail(pos, "unexpected character '" +
                             src_.substr(pos, end - pos) + "' in tag");
      }
      if (*op == '(' || *op == '[' || *op == '{') {
        if (brackets.size() >= static_cast<size_t>(kMaxParseNesting))
          return fail(pos, "brackets nested too deeply");
        brackets.emplace_back(*op, pos);
      } else if (*op == ')' || *op == ']' || *op == '}') {
        char open = *op == ')' ? '(' : (*op == ']' ? '[' : '{');
        if (brackets.empty())
          return fail(pos, std::string("unexpected '") + *op + "'");
        if (brackets.back().first != open) {
          char want = brackets.back().first == '(' ? ')'
                      : brackets.back().first == '[' ? ']'
                                                     : '}';
          return fail(pos, std::string("unexpected '") + *op +
                               "', expected '" + want + "'");
        }
        brackets.pop_back();
      }
      push(TokKind::Op, pos, op);
      pos += std::strlen(op);
    }
  }

  // Digits with optional single underscores between them.
  size_t scanDigits(size_t pos, bool (*digit)(char)) const {
    size_t p = pos;
    while (p < src_.size()) {
      if (digit(src_[p])) {
        ++p;
      } else if (src_[p] == '_' && p > pos && p + 1 < src_.size() &&
                 digit(src_[p + 1])) {
        ++p;
      } else {
        break;
      }
    }
    return p;
  }

  Result<size_t> lexNumber(size_t pos) {
    auto dec = [](char c) { return isDigit(c); };
    size_t intEnd = scanDigits(pos, dec);
    size_t end = intEnd;
    bool isFloat = false;
    bool afterDot = pos > 0 && src_[pos - 1] == '.';
    if (!afterDot) {
      size_t p = intEnd;
      if (p + 1 < src_.size() && src_[p] == '.' && isDigit(src_[p + 1])) {
        p = scanDigits(p + 1, dec);
        isFloat = true;
        end = p;
      }
      if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
        size_t q = p + 1;
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-'))
          ++q;
        if (q < src_.size() && isDigit(src_[q])) {
          end = scanDigits(q, dec);
          isFloat = true;
        }
      }
    }
    std::string digits;
    if (isFloat) {
      for (size_t i = pos; i < end; ++i)
        if (src_[i] != '_')
          digits.push_back(src_[i]);
      Token t;
      t.kind = TokKind::Float;
      t.pos = pos;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(),
                               t.fval);
      if (r.ec == std::errc::result_out_of_range)
        t.fval = digits.find("e-") != std::string::npos ||
                         digits.find("E-") != std::string::npos
                     ? 0.0
                     : HUGE_VAL;
      tokens_.push_back(std::move(t));
      return end;
    }
    int base = 10;
    size_t start = pos;
    if (src_[pos] == '0' && pos + 1 < src_.size()) {
      char x = src_[pos + 1];
      if (x == 'x' || x == 'X')
        base = 16;
      else if (x == 'o' || x == 'O')
        base = 8;
      else if (x == 'b' || x == 'B')
        base = 2;
    }
    if (base != 10) {
      start = pos + 2;
      if (start < src_.size() && src_[start] == '_')
        ++start;
      bool (*digit)(char) = nullptr;
      if (base == 16)
        digit = [](char c) {
          return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        };
      else if (base == 8)
        digit = [](char c) { return c >= '0' && c <= '7'; };
      else
        digit = [](char c) { return c == '0' || c == '1'; };
      end = scanDigits(start, digit);
      if (end == start)
        return fail(pos, "invalid number literal");
    }
    for (size_t i = start; i < end; ++i)
      if (src_[i] != '_')
        digits.push_back(src_[i]);
    if (base == 10 && digits.size() > 1 && digits[0] == '0' &&
        digits.find_first_not_of('0') != std::string::npos)
      return fail(pos, "invalid number literal (leading zeros)");
    Token t;
    t.kind = TokKind::Int;
    t.pos = pos;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(),
                             t.ival, base);
    if (r.ec != std::errc())
      return fail(pos, "integer literal too large (templates use 64-bit "
                       "integers)");
    tokens_.push_back(std::move(t));
    return end;
  }

  /// A quoted string with Python's escapes (jinja decodes literals with
  /// the unicode-escape codec).
  Result<size_t> lexString(size_t pos) {
    char quote = src_[pos];
    std::string value;
    size_t p = pos + 1;
    while (true) {
      if (p >= src_.size())
        return fail(pos, "unterminated string literal");
      char c = src_[p];
      if (c == quote) {
        ++p;
        break;
      }
      if (c != '\\') {
        value.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= src_.size())
        return fail(pos, "unterminated string literal");
      char e = src_[p + 1];
      p += 2;
      auto hex = [&](int n) -> Result<uint32_t> {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i, ++p) {
          char h = p < src_.size() ? src_[p] : 0;
          int d = isDigit(h)                 ? h - '0'
                  : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                           : -1;
          if (d < 0)
            return fail(p - 2 - i, std::string("truncated \\") + e +
                                       " escape in string literal");
          v = v * 16 + static_cast<uint32_t>(d);
        }
        return v;
      };
      switch (e) {
      case '\n':
        break; // line continuation
      case '\\':
      case '\'':
      case '"':
        value.push_back(e);
        break;
      case 'a':
        value.push_back('\a');
        break;
      case 'b':
        value.push_back('\b');
        break;
      case 'f':
        value.push_back('\f');
        break;
      case 'n':
        value.push_back('\n');
        break;
      case 'r':
        value.push_back('\r');
        break;
      case 't':
        value.push_back('\t');
        break;
      case 'v':
        value.push_back('\v');
        break;
      case 'x':
      case 'u':
      case 'U': {
        LLMC_ASSIGN_OR_RETURN(uint32_t cp, hex(e == 'x' ? 2 : e == 'u' ? 4 : 8));
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          return fail(pos, "escape in string literal is not a valid Unicode "
                           "scalar value");
        appendUtf8(value, cp);
        break;
      }
      case 'N':
        return fail(p - 2, "\\N{...} escapes are not supported");
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int i = 0; i < 2 && p < src_.size() && src_[p] >= '0' &&
                          src_[p] <= '7';
               ++i, ++p)
            cp = cp * 8 + static_cast<uint32_t>(src_[p] - '0');
          appendUtf8(value, cp);
        } else if (static_cast<unsigned char>(e) >= 0x80) {
          // jinja2 decodes literals as
          // s.encode("ascii", "backslashreplace").decode("unicode-escape"),
          // so a backslash before a non-ASCII character leaves that
          // character spelled as its \\x/\\u/\\U escape.
          size_t at = p - 1;
          uint32_t cp = decodeUtf8(src_, at);
          p = at;
          appendPythonEscape(value, cp);
        } else {
          // Unknown escapes stay as written.
          value.push_back('\\');
          value.push_back(e);
        }
        break;
      }
    }
    push(TokKind::String, pos, std::move(value));
    return p;
  }

  const std::string &src_;
  std::vector<Token> tokens_;
  bool lineStarting_ = true;
};

// --- Parser -----------------------------------------------------------------

class Parser {
public:
  Parser(const std::string &source, std::vector<Token> tokens)
      : src_(source), toks_(std::move(tokens)) {}

  Result<StmtList> parseTopLevel() {
    stackBase_ = stackPosition();
    std::string end;
    size_t endPos = 0;
    LLMC_ASSIGN_OR_RETURN(StmtList body, parseBody({}, &end, &endPos));
    return body;
  }

private:
  struct DepthGuard {
    explicit DepthGuard(int &d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
    int &depth;
  };

  const Token &cur() const { return toks_[idx_]; }
  const Token &peek(size_t k = 1) const {
    return toks_[std::min(idx_ + k, toks_.size() - 1)];
  }
  void advance() {
    if (idx_ + 1 < toks_.size())
      ++idx_;
  }
  bool isOp(const char *op) const {
    return cur().kind == TokKind::Op && cur().text == op;
  }
  bool isName(const char *name) const {
    return cur().kind == TokKind::Name && cur().text == name;
  }

  Status fail(size_t pos, const std::string &msg) const {
    return Status::error(describePosition(src_, pos) + ": " + msg);
  }

  std::string describe(const Token &t) const {
    switch (t.kind) {
    case TokKind::Data:
      return "template text";
    case TokKind::VarBegin:
      return "'{{'";
    case TokKind::VarEnd:
      return "end of print statement '}}'";
    case TokKind::BlockBegin:
      return "'{%'";
    case TokKind::BlockEnd:
      return "end of statement block '%}'";
    case TokKind::Name:
      return "'" + t.text + "'";
    case TokKind::String:
      return "string literal";
    case TokKind::Int:
    case TokKind::Float:
      return "number";
    case TokKind::Op:
      return "'" + t.text + "'";
    case TokKind::Eof:
      return "end of template";
    }
    return "token";
  }

  Status unexpected(const std::string &expected) const {
    return fail(cur().pos,
                "expected " + expected + ", got " + describe(cur()));
  }

  Status expectOp(const char *op) {
    if (!isOp(op))
      return unexpected(std::string("'") + op + "'");
    advance();
    return Status::ok();
  }

  Status expectBlockEnd() {
    if (cur().kind != TokKind::BlockEnd)
      return unexpected("end of statement block '%}'");
    advance();
    return Status::ok();
  }

  Result<std::string> expectName() {
    if (cur().kind != TokKind::Name)
      return unexpected("a name");
    std::string name = cur().text;
    advance();
    return name;
  }

  Status checkNesting(size_t pos) const {
    if (depth_ > kMaxParseNesting)
      return fail(pos, "template nested too deeply (more than " +
                           std::to_string(kMaxParseNesting) + " levels)");
    if (stackExhausted(stackBase_))
      return fail(pos, "template nested too deeply (more than " +
                           std::to_string(kMaxStackBytes >> 10) +
                           " KB of stack)");
    return Status::ok();
  }

  // --- Statements -----------------------------------------------------------

  /// Parses statements until a block tag named in `ends` (consumed, name
  /// returned in *end, its position in *endPos) or the end of the template.
  Result<StmtList> parseBody(const std::vector<std::string> &ends,
                             std::string *end, size_t *endPos) {
    DepthGuard guard(depth_);
    LLMC_RETURN_IF_ERROR(checkNesting(cur().pos));
    StmtList body;
    while (true) {
      const Token &t = cur();
      if (t.kind == TokKind::Eof) {
        if (!ends.empty())
          return Status::error("EOF");
        return body;
      }
      if (t.kind == TokKind::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->pos = t.pos;
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
        continue;
      }
      if (t.kind == TokKind::VarBegin) {
        size_t pos = t.pos;
        advance();
        if (cur().kind == TokKind::VarEnd)
          return fail(cur().pos, "expected an expression, got end of print "
                                 "statement '}}'");
        LLMC_ASSIGN_OR_RETURN(ExprPtr e, parseTuple(true, false, {}));
        if (cur().kind != TokKind::VarEnd)
          return unexpected("end of print statement '}}'");
        advance();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->pos = pos;
        s->expr = std::move(e);
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind == TokKind::BlockBegin) {
        size_t pos = t.pos;
        if (peek().kind != TokKind::Name) {
          advance();
          return unexpected("a statement name");
        }
        const std::string &name = peek().text;
        if (std::find(ends.begin(), ends.end(), name) != ends.end()) {
          *end = name;
          *endPos = pos;
          advance();
          advance();
          return body;
        }
        advance();
        LLMC_ASSIGN_OR_RETURN(StmtPtr s, parseStatement(pos));
        body.push_back(std::move(s));
        continue;
      }
      return unexpected("template text or a tag");
    }
  }

  /// Parses a block that ends with one of `ends`; errors at `open` if the
  /// template ends first.
  Result<StmtList> parseBlockBody(const std::vector<std::string> &ends,
                                  const std::string &tag, size_t open,
                                  std::string *end, size_t *endPos) {
    auto body = parseBody(ends, end, endPos);
    if (!body.ok() && body.message() == "EOF") {
      std::string expected;
      for (size_t i = 0; i < ends.size(); ++i)
        expected += (i ? (i + 1 == ends.size() ? " or '" : ", '") : "'") +
                    ends[i] + "'";
      return fail(open, "'" + tag + "' block is never closed (expected " +
                            expected + " before the end of the template)");
    }
    return body;
  }

  Result<StmtPtr> parseStatement(size_t pos) {
    const std::string name = cur().text;
    size_t namePos = cur().pos;
    advance();
    if (name == "if")
      return parseIf(pos);
    if (name == "for")
      return parseFor(pos);
    if (name == "set")
      return parseSet(pos);
    if (name == "macro")
      return parseMacro(pos);
    if (name == "break" || name == "continue") {
      if (loopDepth_ == 0)
        return fail(namePos, "'" + name + "' outside of a loop");
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      auto s = std::make_unique<Stmt>();
      s->kind = name == "break" ? StmtKind::Break : StmtKind::Continue;
      s->pos = pos;
      return s;
    }
    if (name == "generation") {
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::Generation;
      s->pos = pos;
      std::string end;
      size_t endPos = 0;
      LLMC_ASSIGN_OR_RETURN(StmtList body,
                            parseBlockBody({"endgeneration"}, "generation",
                                           pos, &end, &endPos));
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      s->bodies.push_back(std::move(body));
      return s;
    }
    static const char *const kUnsupported[] = {
        "include", "import", "from",  "extends", "block",      "filter",
        "call",    "with",   "trans", "do",      "autoescape", "raw"};
    for (const char *u : kUnsupported)
      if (name == u)
        return fail(namePos, "the '" + name +
                                 "' tag is not supported in chat templates");
    if (name.compare(0, 3, "end") == 0 || name == "elif" || name == "else")
      return fail(namePos, "unexpected '" + name + "' (no open block takes it)");
    return fail(namePos, "unknown tag '" + name + "'");
  }

  Result<StmtPtr> parseIf(size_t pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::If;
    s->pos = pos;
    ++softDepth_;
    while (true) {
      LLMC_ASSIGN_OR_RETURN(ExprPtr cond, parseTuple(false, false, {}));
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      std::string end;
      size_t endPos = 0;
      LLMC_ASSIGN_OR_RETURN(StmtList body,
                            parseBlockBody({"elif", "else", "endif"}, "if",
                                           pos, &end, &endPos));
      s->conds.push_back(std::move(cond));
      s->bodies.push_back(std::move(body));
      if (end == "elif")
        continue;
      if (end == "else") {
        LLMC_RETURN_IF_ERROR(expectBlockEnd());
        LLMC_ASSIGN_OR_RETURN(StmtList elseBody,
                              parseBlockBody({"endif"}, "if", pos, &end,
                                             &endPos));
        s->bodies.push_back(std::move(elseBody));
      }
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      break;
    }
    --softDepth_;
    return s;
  }

  /// Assignment targets: `name`, `a, b`, `(a, b)`; with `allowAttr`,
  /// `ns.attr`.
  Status parseTargets(Stmt &s, bool allowAttr) {
    bool paren = isOp("(");
    if (paren)
      advance();
    LLMC_ASSIGN_OR_RETURN(std::string first, expectName());
    s.targets.push_back(first);
    if (allowAttr && !paren && isOp(".")) {
      advance();
      LLMC_ASSIGN_OR_RETURN(std::string attr, expectName());
      s.targets.push_back(attr);
      s.targetAttr = true;
      return Status::ok();
    }
    while (isOp(",")) {
      advance();
      if (cur().kind != TokKind::Name)
        break;
      LLMC_ASSIGN_OR_RETURN(std::string next, expectName());
      s.targets.push_back(next);
    }
    if (paren)
      LLMC_RETURN_IF_ERROR(expectOp(")"));
    return Status::ok();
  }

  Result<StmtPtr> parseFor(size_t pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::For;
    s->pos = pos;
    LLMC_RETURN_IF_ERROR(parseTargets(*s, false));
    if (!isName("in"))
      return unexpected("'in'");
    advance();
    LLMC_ASSIGN_OR_RETURN(s->expr, parseTuple(false, false, {"recursive"}));
    if (isName("if")) {
      advance();
      LLMC_ASSIGN_OR_RETURN(s->filter, parseExpression(true));
    }
    if (isName("recursive"))
      return fail(cur().pos, "recursive loops are not supported");
    LLMC_RETURN_IF_ERROR(expectBlockEnd());
    ++loopDepth_;
    std::string end;
    size_t endPos = 0;
    LLMC_ASSIGN_OR_RETURN(StmtList body, parseBlockBody({"endfor", "else"},
                                                        "for", pos, &end,
                                                        &endPos));
    --loopDepth_;
    s->bodies.push_back(std::move(body));
    if (end == "else") {
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      LLMC_ASSIGN_OR_RETURN(StmtList elseBody,
                            parseBlockBody({"endfor"}, "for", pos, &end,
                                           &endPos));
      s->bodies.push_back(std::move(elseBody));
    }
    LLMC_RETURN_IF_ERROR(expectBlockEnd());
    return s;
  }

  Result<StmtPtr> parseSet(size_t pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::Set;
    s->pos = pos;
    LLMC_RETURN_IF_ERROR(parseTargets(*s, true));
    if (isOp("=")) {
      advance();
      LLMC_ASSIGN_OR_RETURN(s->expr, parseTuple(true, false, {}));
      LLMC_RETURN_IF_ERROR(expectBlockEnd());
      return s;
    }
    if (cur().kind != TokKind::BlockEnd || s->targets.size() != 1 ||
        s->targetAttr)
      return unexpected("'='");
    advance();
    s->kind = StmtKind::SetBlock;
    std::string end;
    size_t endPos = 0;
    LLMC_ASSIGN_OR_RETURN(StmtList body, parseBlockBody({"endset"}, "set", pos,
                                                        &end, &endPos));
    LLMC_RETURN_IF_ERROR(expectBlockEnd());
    s->bodies.push_back(std::move(body));
    return s;
  }

  Result<StmtPtr> parseMacro(size_t pos) {
    auto m = std::make_unique<Macro>();
    m->pos = pos;
    LLMC_ASSIGN_OR_RETURN(m->name, expectName());
    LLMC_RETURN_IF_ERROR(expectOp("("));
    while (!isOp(")")) {
      if (!m->params.empty())
        LLMC_RETURN_IF_ERROR(expectOp(","));
      if (isOp(")"))
        break;
      LLMC_ASSIGN_OR_RETURN(std::string param, expectName());
      ExprPtr def;
      if (isOp("=")) {
        advance();
        LLMC_ASSIGN_OR_RETURN(def, parseExpression(true));
      } else if (!m->defaults.empty() && m->defaults.back()) {
        return fail(cur().pos, "parameter without a default follows one "
                               "with a default");
      }
      m->params.push_back(param);
      m->defaults.push_back(std::move(def));
    }
    advance();
    LLMC_RETURN_IF_ERROR(expectBlockEnd());
    int savedLoop = loopDepth_;
    loopDepth_ = 0;
    std::string end;
    size_t endPos = 0;
    LLMC_ASSIGN_OR_RETURN(m->body, parseBlockBody({"endmacro"}, "macro", pos,
                                                  &end, &endPos));
    loopDepth_ = savedLoop;
    LLMC_RETURN_IF_ERROR(expectBlockEnd());
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::MacroDef;
    s->pos = pos;
    s->macro = std::move(m);
    return s;
  }

  // --- Expressions ----------------------------------------------------------

  Result<ExprPtr> node(ExprKind kind, size_t pos,
                       std::vector<ExprPtr> children) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    int depth = 0;
    for (const auto &c : children)
      if (c)
        depth = std::max(depth, c->depth);
    e->depth = depth + 1;
    e->children = std::move(children);
    if (e->depth > kMaxExprDepth)
      return fail(pos, "expression nested too deeply (more than " +
                           std::to_string(kMaxExprDepth) + " levels)");
    return e;
  }

  Result<ExprPtr> node1(ExprKind kind, size_t pos, ExprPtr a) {
    std::vector<ExprPtr> c;
    c.push_back(std::move(a));
    return node(kind, pos, std::move(c));
  }
  Result<ExprPtr> node2(ExprKind kind, size_t pos, ExprPtr a, ExprPtr b) {
    std::vector<ExprPtr> c;
    c.push_back(std::move(a));
    c.push_back(std::move(b));
    return node(kind, pos, std::move(c));
  }

  bool isTupleEnd(bool explicitParens,
                  const std::vector<std::string> &extraEnds) const {
    const Token &t = cur();
    if (t.kind == TokKind::VarEnd || t.kind == TokKind::BlockEnd ||
        t.kind == TokKind::Eof)
      return true;
    if (explicitParens && t.kind == TokKind::Op && t.text == ")")
      return true;
    if (t.kind == TokKind::Name)
      for (const auto &e : extraEnds)
        if (t.text == e)
          return true;
    return false;
  }

  /// An expression or a comma-separated tuple of them.
  Result<ExprPtr> parseTuple(bool withCondExpr, bool explicitParens,
                             const std::vector<std::string> &extraEnds) {
    size_t pos = cur().pos;
    std::vector<ExprPtr> items;
    bool isTuple = false;
    while (true) {
      if (!items.empty())
        LLMC_RETURN_IF_ERROR(expectOp(","));
      if (isTupleEnd(explicitParens, extraEnds))
        break;
      LLMC_ASSIGN_OR_RETURN(ExprPtr e, parseExpression(withCondExpr));
      items.push_back(std::move(e));
      if (isOp(","))
        isTuple = true;
      else
        break;
    }
    if (!isTuple) {
      if (items.empty()) {
        if (explicitParens)
          return node(ExprKind::Tuple, pos, {});
        return unexpected("an expression");
      }
      return std::move(items[0]);
    }
    return node(ExprKind::Tuple, pos, std::move(items));
  }

  Result<ExprPtr> parseExpression(bool withCondExpr) {
    if (withCondExpr)
      return parseCondExpr();
    return parseOr();
  }

  Result<ExprPtr> parseCondExpr() {
    size_t pos = cur().pos;
    LLMC_ASSIGN_OR_RETURN(ExprPtr expr, parseOr());
    while (isName("if")) {
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr cond, parseOr());
      ExprPtr otherwise;
      if (isName("else")) {
        advance();
        DepthGuard guard(depth_);
        LLMC_RETURN_IF_ERROR(checkNesting(cur().pos));
        LLMC_ASSIGN_OR_RETURN(otherwise, parseCondExpr());
      }
      std::vector<ExprPtr> c;
      c.push_back(std::move(expr));
      c.push_back(std::move(cond));
      c.push_back(std::move(otherwise));
      LLMC_ASSIGN_OR_RETURN(expr, node(ExprKind::CondExpr, pos, std::move(c)));
    }
    return expr;
  }

  Result<ExprPtr> parseOr() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parseAnd());
    while (isName("or")) {
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parseAnd());
      LLMC_ASSIGN_OR_RETURN(left,
                            node2(ExprKind::Or, pos, std::move(left),
                                  std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parseAnd() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parseNot());
    while (isName("and")) {
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parseNot());
      LLMC_ASSIGN_OR_RETURN(left,
                            node2(ExprKind::And, pos, std::move(left),
                                  std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parseNot() {
    if (isName("not")) {
      size_t pos = cur().pos;
      advance();
      DepthGuard guard(depth_);
      LLMC_RETURN_IF_ERROR(checkNesting(pos));
      LLMC_ASSIGN_OR_RETURN(ExprPtr operand, parseNot());
      return node1(ExprKind::Not, pos, std::move(operand));
    }
    return parseCompare();
  }

  Result<ExprPtr> parseCompare() {
    size_t pos = cur().pos;
    LLMC_ASSIGN_OR_RETURN(ExprPtr first, parseMath1());
    std::vector<ExprPtr> operands;
    std::vector<CmpOp> ops;
    operands.push_back(std::move(first));
    while (true) {
      CmpOp op;
      const Token &t = cur();
      if (t.kind == TokKind::Op && t.text == "==")
        op = CmpOp::Eq;
      else if (t.kind == TokKind::Op && t.text == "!=")
        op = CmpOp::Ne;
      else if (t.kind == TokKind::Op && t.text == "<")
        op = CmpOp::Lt;
      else if (t.kind == TokKind::Op && t.text == "<=")
        op = CmpOp::Le;
      else if (t.kind == TokKind::Op && t.text == ">")
        op = CmpOp::Gt;
      else if (t.kind == TokKind::Op && t.text == ">=")
        op = CmpOp::Ge;
      else if (isName("in"))
        op = CmpOp::In;
      else if (isName("not") && peek().kind == TokKind::Name &&
               peek().text == "in") {
        advance();
        op = CmpOp::NotIn;
      } else {
        break;
      }
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr operand, parseMath1());
      operands.push_back(std::move(operand));
      ops.push_back(op);
    }
    if (ops.empty())
      return std::move(operands[0]);
    LLMC_ASSIGN_OR_RETURN(ExprPtr e,
                          node(ExprKind::Compare, pos, std::move(operands)));
    e->cmpops = std::move(ops);
    return e;
  }

  Result<ExprPtr> binary(BinOp op, size_t pos, ExprPtr a, ExprPtr b) {
    LLMC_ASSIGN_OR_RETURN(ExprPtr e,
                          node2(ExprKind::Binary, pos, std::move(a),
                                std::move(b)));
    e->binop = op;
    return e;
  }

  Result<ExprPtr> parseMath1() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parseConcat());
    while (isOp("+") || isOp("-")) {
      BinOp op = isOp("+") ? BinOp::Add : BinOp::Sub;
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parseConcat());
      LLMC_ASSIGN_OR_RETURN(left,
                            binary(op, pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parseConcat() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parseMath2());
    while (isOp("~")) {
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parseMath2());
      LLMC_ASSIGN_OR_RETURN(left, binary(BinOp::Concat, pos, std::move(left),
                                         std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parseMath2() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parsePow());
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      BinOp op = isOp("*")    ? BinOp::Mul
                 : isOp("/")  ? BinOp::Div
                 : isOp("//") ? BinOp::FloorDiv
                              : BinOp::Mod;
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parsePow());
      LLMC_ASSIGN_OR_RETURN(left,
                            binary(op, pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parsePow() {
    LLMC_ASSIGN_OR_RETURN(ExprPtr left, parseUnary(true));
    while (isOp("**")) {
      size_t pos = cur().pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr right, parseUnary(true));
      LLMC_ASSIGN_OR_RETURN(left, binary(BinOp::Pow, pos, std::move(left),
                                         std::move(right)));
    }
    return left;
  }

  Result<ExprPtr> parseUnary(bool withFilter) {
    DepthGuard guard(depth_);
    LLMC_RETURN_IF_ERROR(checkNesting(cur().pos));
    size_t pos = cur().pos;
    ExprPtr e;
    if (isOp("-") || isOp("+")) {
      ExprKind kind = isOp("-") ? ExprKind::Neg : ExprKind::Pos;
      advance();
      LLMC_ASSIGN_OR_RETURN(ExprPtr operand, parseUnary(false));
      LLMC_ASSIGN_OR_RETURN(e, node1(kind, pos, std::move(operand)));
    } else {
      LLMC_ASSIGN_OR_RETURN(e, parsePrimary());
    }
    LLMC_ASSIGN_OR_RETURN(e, parsePostfix(std::move(e)));
    if (withFilter) {
      LLMC_ASSIGN_OR_RETURN(e, parseFilterExpr(std::move(e)));
    }
    return e;
  }

  Result<ExprPtr> literal(size_t pos, Value v) {
    LLMC_ASSIGN_OR_RETURN(ExprPtr e, node(ExprKind::Literal, pos, {}));
    e->literal = std::move(v);
    return e;
  }

  Result<ExprPtr> parsePrimary() {
    DepthGuard guard(depth_);
    LLMC_RETURN_IF_ERROR(checkNesting(cur().pos));
    const Token &t = cur();
    size_t pos = t.pos;
    switch (t.kind) {
    case TokKind::Name: {
      std::string name = t.text;
      advance();
      if (name == "true" || name == "True")
        return literal(pos, Value::boolean(true));
      if (name == "false" || name == "False")
        return literal(pos, Value::boolean(false));
      if (name == "none" || name == "None")
        return literal(pos, Value::none());
      LLMC_ASSIGN_OR_RETURN(ExprPtr e, node(ExprKind::Name, pos, {}));
      e->name = std::move(name);
      return e;
    }
    case TokKind::String: {
      std::string s = t.text;
      advance();
      while (cur().kind == TokKind::String) {
        s += cur().text;
        advance();
      }
      return literal(pos, Value::string(std::move(s)));
    }
    case TokKind::Int: {
      int64_t v = t.ival;
      advance();
      return literal(pos, Value::integer(v));
    }
    case TokKind::Float: {
      double v = t.fval;
      advance();
      return literal(pos, Value::real(v));
    }
    case TokKind::Op:
      if (t.text == "(") {
        advance();
        LLMC_ASSIGN_OR_RETURN(ExprPtr e, parseTuple(true, true, {}));
        LLMC_RETURN_IF_ERROR(expectOp(")"));
        return e;
      }
      if (t.text == "[") {
        advance();
        std::vector<ExprPtr> items;
        while (!isOp("]")) {
          if (!items.empty())
            LLMC_RETURN_IF_ERROR(expectOp(","));
          if (isOp("]"))
            break;
          LLMC_ASSIGN_OR_RETURN(ExprPtr item, parseExpression(true));
          items.push_back(std::move(item));
        }
        advance();
        return node(ExprKind::List, pos, std::move(items));
      }
      if (t.text == "{") {
        advance();
        std::vector<ExprPtr> items;
        while (!isOp("}")) {
          if (!items.empty())
            LLMC_RETURN_IF_ERROR(expectOp(","));
          if (isOp("}"))
            break;
          LLMC_ASSIGN_OR_RETURN(ExprPtr key, parseExpression(true));
          LLMC_RETURN_IF_ERROR(expectOp(":"));
          LLMC_ASSIGN_OR_RETURN(ExprPtr value, parseExpression(true));
          items.push_back(std::move(key));
          items.push_back(std::move(value));
        }
        advance();
        return node(ExprKind::Dict, pos, std::move(items));
      }
      break;
    default:
      break;
    }
    return unexpected("an expression");
  }

  Result<ExprPtr> parsePostfix(ExprPtr e) {
    while (true) {
      if (isOp(".")) {
        size_t pos = cur().pos;
        advance();
        if (cur().kind == TokKind::Name) {
          std::string name = cur().text;
          advance();
          LLMC_ASSIGN_OR_RETURN(e, node1(ExprKind::Attr, pos, std::move(e)));
          e->name = std::move(name);
        } else if (cur().kind == TokKind::Int) {
          LLMC_ASSIGN_OR_RETURN(ExprPtr index,
                                literal(cur().pos, Value::integer(cur().ival)));
          advance();
          LLMC_ASSIGN_OR_RETURN(e, node2(ExprKind::Item, pos, std::move(e),
                                         std::move(index)));
        } else {
          return unexpected("an attribute name");
        }
      } else if (isOp("[")) {
        LLMC_ASSIGN_OR_RETURN(e, parseSubscript(std::move(e)));
      } else if (isOp("(")) {
        LLMC_ASSIGN_OR_RETURN(e, parseCall(std::move(e), ExprKind::Call));
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> parseSubscript(ExprPtr e) {
    size_t pos = cur().pos;
    advance(); // [
    DepthGuard guard(depth_);
    LLMC_RETURN_IF_ERROR(checkNesting(pos));
    std::vector<ExprPtr> parts;
    std::vector<ExprPtr> indices;
    while (!isOp("]")) {
      if (!indices.empty())
        LLMC_RETURN_IF_ERROR(expectOp(","));
      ExprPtr start, stop, step;
      if (!isOp(":")) {
        LLMC_ASSIGN_OR_RETURN(start, parseExpression(true));
        if (!isOp(":")) {
          indices.push_back(std::move(start));
          continue;
        }
      }
      advance(); // :
      if (!isOp("]") && !isOp(",") && !isOp(":")) {
        LLMC_ASSIGN_OR_RETURN(stop, parseExpression(true));
      }
      if (isOp(":")) {
        advance();
        if (!isOp("]") && !isOp(",")) {
          LLMC_ASSIGN_OR_RETURN(step, parseExpression(true));
        }
      }
      if (!indices.empty() || isOp(","))
        return fail(pos, "multi-dimensional subscripts are not supported");
      parts.push_back(std::move(e));
      parts.push_back(std::move(start));
      parts.push_back(std::move(stop));
      parts.push_back(std::move(step));
      LLMC_RETURN_IF_ERROR(expectOp("]"));
      return node(ExprKind::Slice, pos, std::move(parts));
    }
    advance(); // ]
    ExprPtr index;
    if (indices.size() == 1) {
      index = std::move(indices[0]);
    } else {
      LLMC_ASSIGN_OR_RETURN(index, node(ExprKind::Tuple, pos,
                                        std::move(indices)));
    }
    return node2(ExprKind::Item, pos, std::move(e), std::move(index));
  }

  /// `(args, name=value)` after a callee, filter or test.
  Status parseCallArgs(Expr &e) {
    advance(); // (
    DepthGuard guard(depth_);
    LLMC_RETURN_IF_ERROR(checkNesting(e.pos));
    bool first = true;
    while (!isOp(")")) {
      if (!first)
        LLMC_RETURN_IF_ERROR(expectOp(","));
      first = false;
      if (isOp(")"))
        break;
      if (isOp("*") || isOp("**"))
        return fail(cur().pos, "*args and **kwargs are not supported");
      if (cur().kind == TokKind::Name && peek().kind == TokKind::Op &&
          peek().text == "=") {
        std::string name = cur().text;
        advance();
        advance();
        LLMC_ASSIGN_OR_RETURN(ExprPtr value, parseExpression(true));
        e.depth = std::max(e.depth, value->depth + 1);
        e.kwNames.push_back(std::move(name));
        e.kwValues.push_back(std::move(value));
      } else {
        if (!e.kwNames.empty())
          return fail(cur().pos,
                      "positional argument follows keyword argument");
        LLMC_ASSIGN_OR_RETURN(ExprPtr value, parseExpression(true));
        e.depth = std::max(e.depth, value->depth + 1);
        e.children.push_back(std::move(value));
      }
    }
    advance(); // )
    if (e.depth > kMaxExprDepth)
      return fail(e.pos, "expression nested too deeply");
    return Status::ok();
  }

  Result<ExprPtr> parseCall(ExprPtr callee, ExprKind kind) {
    // Errors of a call point at the callee (its name, or the '.' of a
    // method).
    size_t pos = callee->pos;
    LLMC_ASSIGN_OR_RETURN(ExprPtr e, node1(kind, pos, std::move(callee)));
    LLMC_RETURN_IF_ERROR(parseCallArgs(*e));
    return e;
  }

  Result<ExprPtr> parseFilterExpr(ExprPtr e) {
    while (true) {
      if (isOp("|")) {
        advance();
        size_t pos = cur().pos;
        LLMC_ASSIGN_OR_RETURN(std::string name, expectName());
        if (isOp("."))
          return fail(cur().pos, "dotted filter names are not supported");
        LLMC_ASSIGN_OR_RETURN(e, node1(ExprKind::Filter, pos, std::move(e)));
        e->name = name;
        e->known = isKnownFilter(name);
        if (!e->known && softDepth_ == 0)
          return fail(pos, "unknown filter '" + name + "'");
        if (isOp("(")) {
          LLMC_RETURN_IF_ERROR(parseCallArgs(*e));
        }
      } else if (isName("is")) {
        size_t pos = cur().pos;
        advance();
        bool negated = false;
        if (isName("not")) {
          negated = true;
          advance();
        }
        size_t namePos = cur().pos;
        LLMC_ASSIGN_OR_RETURN(std::string name, expectName());
        LLMC_ASSIGN_OR_RETURN(e, node1(ExprKind::Test, pos, std::move(e)));
        e->name = name;
        e->negated = negated;
        e->known = isKnownTest(name);
        if (!e->known && softDepth_ == 0)
          return fail(namePos, "unknown test '" + name + "'");
        const Token &t = cur();
        if (isOp("(")) {
          LLMC_RETURN_IF_ERROR(parseCallArgs(*e));
        } else if ((t.kind == TokKind::Name || t.kind == TokKind::String ||
                    t.kind == TokKind::Int || t.kind == TokKind::Float ||
                    isOp("[") || isOp("{")) &&
                   !isName("else") && !isName("or") && !isName("and")) {
          if (isName("is"))
            return fail(t.pos, "tests cannot be chained with 'is'");
          LLMC_ASSIGN_OR_RETURN(ExprPtr arg, parsePrimary());
          LLMC_ASSIGN_OR_RETURN(arg, parsePostfix(std::move(arg)));
          e->depth = std::max(e->depth, arg->depth + 1);
          if (e->depth > kMaxExprDepth)
            return fail(pos, "expression nested too deeply");
          e->children.push_back(std::move(arg));
        }
      } else if (isOp("(")) {
        LLMC_ASSIGN_OR_RETURN(e, parseCall(std::move(e), ExprKind::Call));
      } else {
        return e;
      }
    }
  }

  const std::string &src_;
  std::vector<Token> toks_;
  size_t idx_ = 0;
  int depth_ = 0;
  uintptr_t stackBase_ = 0;
  int loopDepth_ = 0;
  int softDepth_ = 0; // inside an if: unknown filters fail only when run
};

/// jinja2's newline handling: \r\n and \r become \n, and one trailing
/// newline is dropped (keep_trailing_newline is off).
std::string normalizeNewlines(const std::string &source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n')
        ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

} // namespace

Result<std::unique_ptr<Program>> parseTemplate(const std::string &source) {
  if (source.size() > kMaxSourceBytes)
    return Status::error("template is larger than " +
                         std::to_string(kMaxSourceBytes >> 20) + " MiB");
  if (!isValidUtf8(source))
    return Status::error("template is not valid UTF-8");
  auto program = std::make_unique<Program>();
  program->source = normalizeNewlines(source);
  Lexer lexer(program->source);
  LLMC_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.run());
  Parser parser(program->source, std::move(tokens));
  LLMC_ASSIGN_OR_RETURN(program->body, parser.parseTopLevel());
  return program;
}

} // namespace chat
} // namespace llmc
