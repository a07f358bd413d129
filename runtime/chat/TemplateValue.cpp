//===- TemplateValue.cpp - values of the chat-template engine ---------------===//

#include "runtime/chat/TemplateValue.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace llmc {
namespace chat {

namespace {

struct StringObject : HeapObject {
  explicit StringObject(std::string s) : text(std::move(s)) {}
  std::string text;
};
struct ListObject : HeapObject {
  ListObject(std::vector<Value> v, bool t) : items(std::move(v)), tuple(t) {}
  std::vector<Value> items;
  bool tuple;
};
struct DictObject : HeapObject {
  explicit DictObject(std::vector<std::pair<std::string, Value>> v)
      : items(std::move(v)) {}
  std::vector<std::pair<std::string, Value>> items;
};
struct NamespaceObject : HeapObject {
  mutable std::vector<std::pair<std::string, Value>> items;
};
struct LoopObject : HeapObject {
  int64_t index0 = 0, length = 0;
  Value prev, next;
};
struct CallableObject : HeapObject {
  CallableKind kind = CallableKind::Method;
  std::string name;
  Value self;
  const Macro *macro = nullptr;
  std::vector<Value> bound;
};
struct UndefinedObject : HeapObject {
  explicit UndefinedObject(std::string h) : hint(std::move(h)) {}
  std::string hint;
};

const std::string &emptyString() {
  static const std::string empty;
  return empty;
}
const std::vector<Value> &emptyList() {
  static const std::vector<Value> empty;
  return empty;
}
const std::vector<std::pair<std::string, Value>> &emptyItems() {
  static const std::vector<std::pair<std::string, Value>> empty;
  return empty;
}
const Value &undefinedValue() {
  static const Value undefined;
  return undefined;
}

} // namespace

// --- Construction and access ------------------------------------------------

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty())
    v.heap_ = std::make_shared<UndefinedObject>(std::move(hint));
  return v;
}
Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.bool_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.int_ = i;
  return v;
}
Value Value::real(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.real_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.heap_ = std::make_shared<StringObject>(std::move(s));
  return v;
}
Value Value::list(std::vector<Value> items, bool tuple) {
  Value v;
  v.kind_ = Kind::List;
  v.heap_ = std::make_shared<ListObject>(std::move(items), tuple);
  return v;
}
Value Value::dict(std::vector<std::pair<std::string, Value>> items) {
  Value v;
  v.kind_ = Kind::Dict;
  v.heap_ = std::make_shared<DictObject>(std::move(items));
  return v;
}
Value Value::newNamespace(std::vector<std::pair<std::string, Value>> items) {
  Value v;
  v.kind_ = Kind::Namespace;
  auto object = std::make_shared<NamespaceObject>();
  object->items = std::move(items);
  v.heap_ = std::move(object);
  return v;
}
Value Value::loop(int64_t index0, int64_t length, Value prev, Value next) {
  Value v;
  v.kind_ = Kind::Loop;
  auto object = std::make_shared<LoopObject>();
  object->index0 = index0;
  object->length = length;
  object->prev = std::move(prev);
  object->next = std::move(next);
  v.heap_ = std::move(object);
  return v;
}
Value Value::callable(CallableKind kind, std::string name, const Value *self,
                      const Macro *macro, std::vector<Value> bound) {
  Value v;
  v.kind_ = Kind::Callable;
  auto object = std::make_shared<CallableObject>();
  object->kind = kind;
  object->name = std::move(name);
  if (self)
    object->self = *self;
  object->macro = macro;
  object->bound = std::move(bound);
  v.heap_ = std::move(object);
  return v;
}

const std::string &Value::asString() const {
  if (kind_ != Kind::String)
    return emptyString();
  return static_cast<const StringObject *>(heap_.get())->text;
}
const std::vector<Value> &Value::asList() const {
  if (kind_ != Kind::List)
    return emptyList();
  return static_cast<const ListObject *>(heap_.get())->items;
}
bool Value::isTuple() const {
  return kind_ == Kind::List &&
         static_cast<const ListObject *>(heap_.get())->tuple;
}
const std::vector<std::pair<std::string, Value>> &Value::asDict() const {
  if (kind_ != Kind::Dict)
    return emptyItems();
  return static_cast<const DictObject *>(heap_.get())->items;
}
std::string Value::undefinedMessage() const {
  if (kind_ == Kind::Undefined && heap_)
    return static_cast<const UndefinedObject *>(heap_.get())->hint;
  return "value is undefined";
}

const std::vector<std::pair<std::string, Value>> &
Value::namespaceItems() const {
  if (kind_ != Kind::Namespace)
    return emptyItems();
  return static_cast<const NamespaceObject *>(heap_.get())->items;
}
void Value::namespaceSet(const std::string &name, Value value) const {
  if (kind_ != Kind::Namespace)
    return;
  auto &items = static_cast<const NamespaceObject *>(heap_.get())->items;
  for (auto &item : items)
    if (item.first == name) {
      item.second = std::move(value);
      return;
    }
  items.emplace_back(name, std::move(value));
}
void Value::namespaceClear() const {
  if (kind_ == Kind::Namespace)
    static_cast<const NamespaceObject *>(heap_.get())->items.clear();
}

int64_t Value::loopIndex0() const {
  return kind_ == Kind::Loop
             ? static_cast<const LoopObject *>(heap_.get())->index0
             : 0;
}
int64_t Value::loopLength() const {
  return kind_ == Kind::Loop
             ? static_cast<const LoopObject *>(heap_.get())->length
             : 0;
}
const Value &Value::loopPrev() const {
  return kind_ == Kind::Loop ? static_cast<const LoopObject *>(heap_.get())->prev
                             : undefinedValue();
}
const Value &Value::loopNext() const {
  return kind_ == Kind::Loop ? static_cast<const LoopObject *>(heap_.get())->next
                             : undefinedValue();
}

CallableKind Value::callableKind() const {
  return static_cast<const CallableObject *>(heap_.get())->kind;
}
const std::string &Value::callableName() const {
  return static_cast<const CallableObject *>(heap_.get())->name;
}
const Value &Value::callableSelf() const {
  return static_cast<const CallableObject *>(heap_.get())->self;
}
const Macro *Value::callableMacro() const {
  return static_cast<const CallableObject *>(heap_.get())->macro;
}
const std::vector<Value> &Value::callableBound() const {
  return static_cast<const CallableObject *>(heap_.get())->bound;
}

bool Value::truthy() const {
  switch (kind_) {
  case Kind::Undefined:
  case Kind::None:
    return false;
  case Kind::Bool:
    return bool_;
  case Kind::Int:
    return int_ != 0;
  case Kind::Float:
    return real_ != 0;
  case Kind::String:
    return !asString().empty();
  case Kind::List:
    return !asList().empty();
  case Kind::Dict:
    return !asDict().empty();
  default:
    return true;
  }
}

const Value *Value::dictFind(std::string_view key) const {
  for (const auto &item : asDict())
    if (item.first == key)
      return &item.second;
  return nullptr;
}

const char *Value::typeName() const {
  switch (kind_) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "NoneType";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
    return "int";
  case Kind::Float:
    return "float";
  case Kind::String:
    return "str";
  case Kind::List:
    return isTuple() ? "tuple" : "list";
  case Kind::Dict:
    return "dict";
  case Kind::Namespace:
    return "Namespace";
  case Kind::Loop:
    return "LoopContext";
  case Kind::Callable:
    return callableKind() == CallableKind::Macro ? "Macro" : "function";
  }
  return "object";
}

// --- UTF-8 --------------------------------------------------------------------

uint32_t decodeUtf8(std::string_view s, size_t &pos) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  size_t need = 0;
  uint32_t cp = c;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
  }
  if (need == 0 || s.size() - pos <= need) {
    ++pos;
    return c;
  }
  for (size_t k = 1; k <= need; ++k) {
    unsigned char d = static_cast<unsigned char>(s[pos + k]);
    if ((d & 0xC0) != 0x80) {
      ++pos;
      return c;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  pos += need + 1;
  return cp;
}

void appendPythonEscape(std::string &out, uint32_t cp) {
  char buf[16];
  if (cp < 0x100)
    std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
  else if (cp < 0x10000)
    std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
  else
    std::snprintf(buf, sizeof(buf), "\\U%08x", cp);
  out += buf;
}

size_t codePointCount(std::string_view s) {
  size_t n = 0;
  for (size_t pos = 0; pos < s.size();) {
    decodeUtf8(s, pos);
    ++n;
  }
  return n;
}

CodePointIndex::CodePointIndex(std::string_view s) : bytes_(s.size()) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii_ = false;
      break;
    }
  if (ascii_)
    return;
  for (size_t pos = 0; pos < s.size();) {
    offsets_.push_back(pos);
    decodeUtf8(s, pos);
  }
  offsets_.push_back(s.size());
}

bool codePointAt(std::string_view s, int64_t i, std::string *out) {
  if (i < 0) {
    i += static_cast<int64_t>(codePointCount(s));
    if (i < 0)
      return false;
  }
  size_t pos = 0;
  for (int64_t k = 0; pos < s.size(); ++k) {
    size_t start = pos;
    decodeUtf8(s, pos);
    if (k == i) {
      *out = std::string(s.substr(start, pos - start));
      return true;
    }
  }
  return false;
}

bool isUnicodeSpace(uint32_t cp) {
  switch (cp) {
  case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
  case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
  case 0x85: case 0xA0: case 0x1680:
  case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string stripString(std::string_view s, const std::string *chars,
                        bool left, bool right) {
  std::vector<uint32_t> set;
  if (chars)
    for (size_t pos = 0; pos < chars->size();)
      set.push_back(decodeUtf8(*chars, pos));
  auto strip = [&](uint32_t cp) {
    if (!chars)
      return isUnicodeSpace(cp);
    return std::find(set.begin(), set.end(), cp) != set.end();
  };
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end) {
      size_t next = begin;
      if (!strip(decodeUtf8(s, next)))
        break;
      begin = next;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
        --start;
      size_t next = start;
      uint32_t cp = decodeUtf8(s, next);
      if (next != end || !strip(cp))
        break;
      end = start;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

namespace {
/// Blocks where an upper-case letter at an even code point is followed by
/// its lower case: Coptic in Greek, Cyrillic extensions, Latin Extended
/// Additional (Vietnamese).
bool evenOddPair(uint32_t cp) {
  return (cp >= 0x3D8 && cp <= 0x3EF) || (cp >= 0x460 && cp <= 0x481) ||
         (cp >= 0x48A && cp <= 0x4BF) || (cp >= 0x4D0 && cp <= 0x52F) ||
         (cp >= 0x1E00 && cp <= 0x1E95) || (cp >= 0x1EA0 && cp <= 0x1EFF);
}
} // namespace

uint32_t upperCodePoint(uint32_t cp) {
  if (cp >= 'a' && cp <= 'z')
    return cp - 32;
  if (cp < 0x80)
    return cp;
  if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)
    return cp - 0x20;
  if (cp == 0xFF)
    return 0x178;
  if (cp == 0xB5)
    return 0x39C;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
    return cp & ~1u;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E) ||
      (cp >= 0x4C1 && cp <= 0x4CE))
    return (cp & 1) ? cp : cp - 1;
  if (cp >= 0x3B1 && cp <= 0x3C9)
    return cp == 0x3C2 ? 0x3A3 : cp - 0x20;
  if (cp == 0x3AC)
    return 0x386;
  if (cp >= 0x3AD && cp <= 0x3AF)
    return cp - 0x25;
  if (cp == 0x3CC)
    return 0x38C;
  if (cp == 0x3CD || cp == 0x3CE)
    return cp - 0x3F;
  if (cp >= 0x430 && cp <= 0x44F)
    return cp - 0x20;
  if (cp >= 0x450 && cp <= 0x45F)
    return cp - 0x50;
  if (evenOddPair(cp))
    return cp & ~1u;
  if (cp >= 0x561 && cp <= 0x586)
    return cp - 0x30;
  if (cp >= 0xFF41 && cp <= 0xFF5A)
    return cp - 0x20;
  return cp;
}

uint32_t lowerCodePoint(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z')
    return cp + 32;
  if (cp < 0x80)
    return cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
    return cp + 0x20;
  if (cp == 0x178)
    return 0xFF;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
    return cp | 1u;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E) ||
      (cp >= 0x4C1 && cp <= 0x4CE))
    return (cp & 1) ? cp + 1 : cp;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
    return cp + 0x20;
  if (cp == 0x386)
    return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A)
    return cp + 0x25;
  if (cp == 0x38C)
    return 0x3CC;
  if (cp == 0x38E || cp == 0x38F)
    return cp + 0x3F;
  if (cp >= 0x410 && cp <= 0x42F)
    return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40F)
    return cp + 0x50;
  if (evenOddPair(cp))
    return cp | 1u;
  if (cp >= 0x531 && cp <= 0x556)
    return cp + 0x30;
  if (cp >= 0xFF21 && cp <= 0xFF3A)
    return cp + 0x20;
  return cp;
}

std::string upperString(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    if (cp == 0xDF) // sharp s upper-cases to "SS", as in Python
      out += "SS";
    else
      appendUtf8(out, upperCodePoint(cp));
  }
  return out;
}

std::string lowerString(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();)
    appendUtf8(out, lowerCodePoint(decodeUtf8(s, pos)));
  return out;
}

// --- str(), repr(), JSON ------------------------------------------------------

std::string formatFloat(double d) {
  if (std::isnan(d))
    return "nan";
  if (std::isinf(d))
    return d > 0 ? "inf" : "-inf";
  if (d == 0)
    return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as Python's repr.
  char buf[64];
  auto result =
      std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, result.ptr);
  bool negative = sci[0] == '-';
  if (negative)
    sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.')
      digits.push_back(c);
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      size_t intDigits = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= intDigits) {
        out += digits + std::string(intDigits - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, intDigits) + "." + digits.substr(intDigits);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') +
             digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1)
    out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+',
                exponent < 0 ? -exponent : exponent);
  return out + exp;
}

namespace {

bool isPrintable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F)
    return false;
  if (cp < 0x7F)
    return true;
  if (cp <= 0xA0 || cp == 0xAD || cp == 0x61C || cp == 0x1680 ||
      cp == 0x180E || cp == 0x3000 || cp == 0xFEFF)
    return false;
  if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
      (cp >= 0x205F && cp <= 0x206F) || (cp >= 0xD800 && cp <= 0xF8FF) ||
      (cp >= 0xFFF9 && cp <= 0xFFFB) || cp == 0xFFFE || cp == 0xFFFF ||
      (cp >= 0xE0000 && cp <= 0xE007F) || cp >= 0xF0000)
    return false;
  return true;
}

std::string reprString(const std::string &s) {
  char quote = '\'';
  if (s.find('\'') != std::string::npos && s.find('"') == std::string::npos)
    quote = '"';
  std::string out(1, quote);
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (isPrintable(cp)) {
      appendUtf8(out, cp);
    } else {
      appendPythonEscape(out, cp);
    }
  }
  out.push_back(quote);
  return out;
}

Status tick(WorkMeter *meter, uint64_t units) {
  return meter ? meter->charge(units) : Status::ok();
}

Status tooBig() {
  return Status::error("value too large to print (more than " +
                       std::to_string(kMaxPrintedBytes) + " bytes)");
}

Status tooDeep() {
  return Status::error("value nested too deeply (more than " +
                       std::to_string(kMaxValueDepth) + " levels)");
}

Status appendRepr(std::string &out, const Value &v, int depth,
                  WorkMeter *meter);

Status appendStr(std::string &out, const Value &v, int depth,
                 WorkMeter *meter) {
  switch (v.kind()) {
  case Kind::Undefined:
    return Status::ok();
  case Kind::None:
    out += "None";
    return Status::ok();
  case Kind::Bool:
    out += v.asBool() ? "True" : "False";
    return Status::ok();
  case Kind::Int:
    out += std::to_string(v.asInt());
    return Status::ok();
  case Kind::Float:
    out += formatFloat(v.asDouble());
    return Status::ok();
  case Kind::String:
    out += v.asString();
    if (out.size() > kMaxPrintedBytes)
      return tooBig();
    return tick(meter, v.asString().size() / 16);
  default:
    return appendRepr(out, v, depth, meter);
  }
}

Status appendRepr(std::string &out, const Value &v, int depth,
                  WorkMeter *meter) {
  if (depth > kMaxValueDepth)
    return tooDeep();
  LLMC_RETURN_IF_ERROR(tick(meter, 1));
  if (out.size() > kMaxPrintedBytes)
    return tooBig();
  switch (v.kind()) {
  case Kind::String:
    LLMC_RETURN_IF_ERROR(tick(meter, v.asString().size() / 4));
    out += reprString(v.asString());
    if (out.size() > kMaxPrintedBytes)
      return tooBig();
    return Status::ok();
  case Kind::Undefined:
    out += "Undefined"; // inside a list or dict, as repr() shows it
    return Status::ok();
  case Kind::List: {
    const auto &items = v.asList();
    out.push_back(v.isTuple() ? '(' : '[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += ", ";
      LLMC_RETURN_IF_ERROR(appendRepr(out, items[i], depth + 1, meter));
    }
    if (v.isTuple() && items.size() == 1)
      out.push_back(',');
    out.push_back(v.isTuple() ? ')' : ']');
    return Status::ok();
  }
  case Kind::Dict:
  case Kind::Namespace: {
    const auto &items =
        v.kind() == Kind::Dict ? v.asDict() : v.namespaceItems();
    if (v.kind() == Kind::Namespace)
      out += "<Namespace ";
    out.push_back('{');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += ", ";
      out += reprString(items[i].first);
      out += ": ";
      LLMC_RETURN_IF_ERROR(appendRepr(out, items[i].second, depth + 1, meter));
    }
    out.push_back('}');
    if (v.kind() == Kind::Namespace)
      out.push_back('>');
    return Status::ok();
  }
  case Kind::Loop:
    out += "<LoopContext " + std::to_string(v.loopIndex0() + 1) + "/" +
           std::to_string(v.loopLength()) + ">";
    return Status::ok();
  case Kind::Callable:
    if (v.callableKind() == CallableKind::Macro)
      out += "<Macro '" + v.callableName() + "'>";
    else
      out += "<function " + v.callableName() + ">";
    return Status::ok();
  default:
    return appendStr(out, v, depth, meter);
  }
}

void appendJsonString(std::string &out, const std::string &s,
                      bool ensureAscii) {
  out.push_back('"');
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    uint32_t cp = decodeUtf8(s, pos);
    char buf[16];
    switch (cp) {
    case '"':
      out += "\\\"";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    case '\n':
      out += "\\n";
      continue;
    case '\r':
      out += "\\r";
      continue;
    case '\t':
      out += "\\t";
      continue;
    case '\b':
      out += "\\b";
      continue;
    case '\f':
      out += "\\f";
      continue;
    default:
      break;
    }
    if (cp < 0x20 || (ensureAscii && cp >= 0x7F)) {
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                      0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      }
      out += buf;
    } else {
      out.append(s, start, pos - start);
    }
  }
  out.push_back('"');
}

Status appendJson(std::string &out, const Value &v, const JsonOptions &opt,
                  int depth, WorkMeter *meter) {
  if (depth > kMaxValueDepth)
    return tooDeep();
  LLMC_RETURN_IF_ERROR(tick(meter, 1));
  if (out.size() > kMaxPrintedBytes)
    return tooBig();
  auto newline = [&](int level) {
    out.push_back('\n');
    for (int i = 0; i < level; ++i)
      out += opt.indent;
  };
  switch (v.kind()) {
  case Kind::None:
    out += "null";
    return Status::ok();
  case Kind::Bool:
    out += v.asBool() ? "true" : "false";
    return Status::ok();
  case Kind::Int:
    out += std::to_string(v.asInt());
    return Status::ok();
  case Kind::Float: {
    double d = v.asDouble();
    if (std::isnan(d))
      out += "NaN";
    else if (std::isinf(d))
      out += d > 0 ? "Infinity" : "-Infinity";
    else
      out += formatFloat(d);
    return Status::ok();
  }
  case Kind::String:
    LLMC_RETURN_IF_ERROR(tick(meter, v.asString().size() / 4));
    appendJsonString(out, v.asString(), opt.ensureAscii);
    if (out.size() > kMaxPrintedBytes)
      return tooBig();
    return Status::ok();
  case Kind::List: {
    const auto &items = v.asList();
    if (items.empty()) {
      out += "[]";
      return Status::ok();
    }
    out.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += opt.itemSeparator;
      if (opt.hasIndent)
        newline(depth + 1);
      LLMC_RETURN_IF_ERROR(appendJson(out, items[i], opt, depth + 1, meter));
    }
    if (opt.hasIndent)
      newline(depth);
    out.push_back(']');
    return Status::ok();
  }
  case Kind::Dict: {
    const auto &source = v.asDict();
    if (source.empty()) {
      out += "{}";
      return Status::ok();
    }
    std::vector<const std::pair<std::string, Value> *> items;
    for (const auto &item : source)
      items.push_back(&item);
    if (opt.sortKeys) // dict keys are unique: no ties to keep in order
      std::sort(items.begin(), items.end(),
                       [](const auto *a, const auto *b) {
                         return a->first < b->first;
                       });
    out.push_back('{');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += opt.itemSeparator;
      if (opt.hasIndent)
        newline(depth + 1);
      appendJsonString(out, items[i]->first, opt.ensureAscii);
      out += opt.keySeparator;
      LLMC_RETURN_IF_ERROR(
          appendJson(out, items[i]->second, opt, depth + 1, meter));
    }
    if (opt.hasIndent)
      newline(depth);
    out.push_back('}');
    return Status::ok();
  }
  default:
    return Status::error(std::string("Object of type ") + v.typeName() +
                         " is not JSON serializable");
  }
}

Result<bool> equalAt(const Value &a, const Value &b, int depth,
                     WorkMeter *meter) {
  if (depth > kMaxValueDepth)
    return tooDeep();
  LLMC_RETURN_IF_ERROR(tick(meter, 1));
  // Python compares container items by identity first.
  if (a.sameObject(b))
    return true;
  if (a.isNumber() && b.isNumber()) {
    if (a.isIntLike() && b.isIntLike())
      return a.asInt() == b.asInt();
    return a.asDouble() == b.asDouble();
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case Kind::Undefined:
  case Kind::None:
    return true;
  case Kind::String:
    LLMC_RETURN_IF_ERROR(tick(meter, a.asString().size() / 16));
    return a.asString() == b.asString();
  case Kind::List: {
    const auto &x = a.asList(), &y = b.asList();
    if (a.isTuple() != b.isTuple() || x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i) {
      LLMC_ASSIGN_OR_RETURN(bool same, equalAt(x[i], y[i], depth + 1, meter));
      if (!same)
        return false;
    }
    return true;
  }
  case Kind::Dict: {
    const auto &x = a.asDict(), &y = b.asDict();
    if (x.size() != y.size())
      return false;
    for (const auto &item : x) {
      const Value *other = b.dictFind(item.first);
      if (!other)
        return false;
      LLMC_ASSIGN_OR_RETURN(bool same,
                            equalAt(item.second, *other, depth + 1, meter));
      if (!same)
        return false;
    }
    return true;
  }
  case Kind::Namespace:
    return &a.namespaceItems() == &b.namespaceItems();
  default:
    return false;
  }
}

Result<int> compareAt(const Value &a, const Value &b, int depth,
                      WorkMeter *meter) {
  if (depth > kMaxValueDepth)
    return tooDeep();
  LLMC_RETURN_IF_ERROR(tick(meter, 1));
  if (a.isNumber() && b.isNumber()) {
    if (a.isIntLike() && b.isIntLike())
      return a.asInt() < b.asInt() ? -1 : (a.asInt() > b.asInt() ? 1 : 0);
    double x = a.asDouble(), y = b.asDouble();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.isString() && b.isString()) {
    LLMC_RETURN_IF_ERROR(tick(meter, a.asString().size() / 16));
    int c = a.asString().compare(b.asString());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.isList() && b.isList() && a.isTuple() == b.isTuple()) {
    const auto &x = a.asList(), &y = b.asList();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      LLMC_ASSIGN_OR_RETURN(bool same, equalAt(x[i], y[i], depth + 1, meter));
      if (!same)
        return compareAt(x[i], y[i], depth + 1, meter);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  return Status::error(std::string("not supported between instances of '") +
                       a.typeName() + "' and '" + b.typeName() + "'");
}

} // namespace

Result<std::string> toStr(const Value &v, WorkMeter *meter) {
  if (v.isString()) {
    LLMC_RETURN_IF_ERROR(tick(meter, v.asString().size() / 16));
    return v.asString();
  }
  std::string out;
  LLMC_RETURN_IF_ERROR(appendStr(out, v, 0, meter));
  return out;
}

Result<std::string> toRepr(const Value &v, WorkMeter *meter) {
  std::string out;
  LLMC_RETURN_IF_ERROR(appendRepr(out, v, 0, meter));
  return out;
}

Result<std::string> toJson(const Value &v, const JsonOptions &options,
                           WorkMeter *meter) {
  std::string out;
  LLMC_RETURN_IF_ERROR(appendJson(out, v, options, 0, meter));
  return out;
}

Result<bool> valuesEqual(const Value &a, const Value &b, WorkMeter *meter) {
  return equalAt(a, b, 0, meter);
}

Result<int> compareValues(const Value &a, const Value &b, WorkMeter *meter) {
  return compareAt(a, b, 0, meter);
}

} // namespace chat
} // namespace llmc
