//===- TemplateBuiltins.cpp - filters, tests, methods and globals -----------===//
//
// What chat templates call: jinja2's filters and tests (the subset real
// templates use), the Python str/dict methods they call (strip, split,
// items, get, ...), jinja's globals (namespace, range, dict) and the ones
// transformers adds (raise_exception, strftime_now, and its own tojson:
// json.dumps without HTML escaping, keys unsorted, non-ASCII kept).
//
//===----------------------------------------------------------------------===//

#include "runtime/chat/TemplateRenderer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <initializer_list>

namespace llmc {
namespace chat {

namespace {

const char *const kFilters[] = {
    "abs",     "attr",      "capitalize", "count",  "d",       "default",
    "dictsort", "first",    "float",      "int",    "items",   "join",
    "last",    "length",    "list",       "lower",  "map",     "max",
    "min",     "reject",    "rejectattr", "replace", "reverse", "safe",
    "select",  "selectattr", "sort",      "string", "sum",     "title",
    "tojson",  "trim",      "unique",     "upper"};

const char *const kTests[] = {
    "boolean", "callable", "defined",  "divisibleby", "eq",      "equalto",
    "even",    "false",    "filter",   "float",       "ge",      "greaterthan",
    "gt",      "in",       "integer",  "iterable",    "le",      "lessthan",
    "lower",   "lt",       "mapping",  "ne",          "none",    "number",
    "odd",     "sameas",   "sequence", "string",      "test",    "true",
    "undefined", "upper",  "==",       "!=",          "<",       "<=",
    ">",       ">="};

const char *const kStrMethods[] = {
    "capitalize", "count", "endswith", "find",  "join",  "lower",
    "lstrip",     "replace", "rsplit", "rstrip", "split", "startswith",
    "strip",      "title", "upper"};

const char *const kDictMethods[] = {"get", "items", "keys", "values"};

template <size_t N> bool contains(const char *const (&names)[N],
                                  const std::string &name) {
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

/// Binds positional and keyword arguments to parameter names; a slot is
/// null when the argument was not given.
Result<std::vector<const Value *>>
bindArgs(const std::string &what, const Args &args,
         std::initializer_list<const char *> names) {
  std::vector<const Value *> slots(names.size(), nullptr);
  if (args.positional.size() > names.size())
    return Status::error(what + " takes at most " +
                         std::to_string(names.size()) + " argument(s), got " +
                         std::to_string(args.positional.size()));
  for (size_t i = 0; i < args.positional.size(); ++i)
    slots[i] = &args.positional[i];
  for (const auto &kw : args.keywords) {
    size_t i = 0;
    for (const char *n : names) {
      if (kw.first == n)
        break;
      ++i;
    }
    if (i == names.size())
      return Status::error(what + " got an unexpected keyword argument '" +
                           kw.first + "'");
    if (slots[i])
      return Status::error(what + " got multiple values for argument '" +
                           kw.first + "'");
    slots[i] = &kw.second;
  }
  return slots;
}

Result<std::string> strArg(const Value *v, const std::string &dflt,
                           WorkMeter *meter) {
  if (!v)
    return dflt;
  return toStr(*v, meter);
}

bool boolArg(const Value *v, bool dflt) { return v ? v->truthy() : dflt; }

std::vector<Value> codePoints(const std::string &s) {
  std::vector<Value> out;
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    decodeUtf8(s, pos);
    out.push_back(Value::string(s.substr(start, pos - start)));
  }
  return out;
}

std::string pythonReplace(const std::string &s, const std::string &from,
                          const std::string &to, int64_t count) {
  if (count < 0)
    count = INT64_MAX;
  std::string out;
  if (from.empty()) {
    // Inserts `to` before every code point and at the end.
    size_t pos = 0;
    int64_t done = 0;
    while (done < count) {
      out += to;
      ++done;
      if (pos >= s.size())
        break;
      size_t start = pos;
      decodeUtf8(s, pos);
      out.append(s, start, pos - start);
    }
    out.append(s, std::min(pos, s.size()), std::string::npos);
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < count) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos)
      break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

Result<std::vector<Value>> pythonSplit(const std::string &s, const Value *sep,
                                       int64_t maxsplit) {
  std::vector<Value> out;
  if (!sep || sep->isNone()) {
    size_t pos = 0;
    auto skipSpace = [&]() {
      while (pos < s.size()) {
        size_t next = pos;
        if (!isUnicodeSpace(decodeUtf8(s, next)))
          break;
        pos = next;
      }
    };
    skipSpace();
    while (pos < s.size()) {
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
        // The rest, leading whitespace gone, trailing kept (as Python).
        out.push_back(Value::string(s.substr(pos)));
        return out;
      }
      size_t start = pos;
      while (pos < s.size()) {
        size_t next = pos;
        if (isUnicodeSpace(decodeUtf8(s, next)))
          break;
        pos = next;
      }
      out.push_back(Value::string(s.substr(start, pos - start)));
      skipSpace();
    }
    return out;
  }
  if (!sep->isString())
    return Status::error(std::string("must be str or None, not ") +
                         sep->typeName());
  const std::string &d = sep->asString();
  if (d.empty())
    return Status::error("empty separator");
  size_t pos = 0;
  while (true) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit)
      break;
    size_t hit = s.find(d, pos);
    if (hit == std::string::npos)
      break;
    out.push_back(Value::string(s.substr(pos, hit - pos)));
    pos = hit + d.size();
  }
  out.push_back(Value::string(s.substr(pos)));
  return out;
}

/// jinja's title filter: each run split at whitespace, '-', '(', '{', '['
/// or '<' starts with an upper-case letter, the rest is lower case.
std::string jinjaTitle(const std::string &s) {
  std::string out;
  bool start = true;
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    bool sep = isUnicodeSpace(cp) || cp == '-' || cp == '(' || cp == '{' ||
               cp == '[' || cp == '<';
    if (sep) {
      appendUtf8(out, cp);
      start = true;
    } else {
      appendUtf8(out, start ? upperCodePoint(cp) : lowerCodePoint(cp));
      start = false;
    }
  }
  return out;
}

bool isCased(uint32_t cp) {
  return upperCodePoint(cp) != cp || lowerCodePoint(cp) != cp;
}

/// Python's str.title.
std::string pythonTitle(const std::string &s) {
  std::string out;
  bool prevCased = false;
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    if (isCased(cp)) {
      appendUtf8(out, prevCased ? lowerCodePoint(cp) : upperCodePoint(cp));
      prevCased = true;
    } else {
      appendUtf8(out, cp);
      prevCased = false;
    }
  }
  return out;
}

std::string capitalize(const std::string &s) {
  std::string out;
  bool first = true;
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    appendUtf8(out, first ? upperCodePoint(cp) : lowerCodePoint(cp));
    first = false;
  }
  return out;
}

/// Python's str.islower / isupper.
bool caseTest(const std::string &s, bool lower) {
  bool cased = false;
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp = decodeUtf8(s, pos);
    if (!isCased(cp))
      continue;
    cased = true;
    bool isLower = lowerCodePoint(cp) == cp && upperCodePoint(cp) != cp;
    bool isUpper = upperCodePoint(cp) == cp && lowerCodePoint(cp) != cp;
    if (lower ? !isLower : !isUpper)
      return false;
  }
  return cased;
}

/// Python's int(str, base): optional sign, underscores between digits,
/// surrounding whitespace.
bool parseIntString(const std::string &text, int base, int64_t *out) {
  std::string s = stripString(text, nullptr, true, true);
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (base == 16 && s.compare(i, 2, "0x") == 0)
    i += 2;
  std::string digits;
  for (; i < s.size(); ++i) {
    if (s[i] == '_' && !digits.empty() && i + 1 < s.size() && s[i + 1] != '_')
      continue;
    digits.push_back(s[i]);
  }
  if (digits.empty())
    return false;
  uint64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v,
                           base);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
    return false;
  if (v > static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0))
    return false;
  *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

/// Python's float(str).
bool parseFloatString(const std::string &text, double *out) {
  std::string s = stripString(text, nullptr, true, true);
  std::string lower = lowerString(s);
  size_t i = 0;
  double sign = 1;
  if (i < lower.size() && (lower[i] == '+' || lower[i] == '-')) {
    sign = lower[i] == '-' ? -1 : 1;
    ++i;
  }
  std::string rest = lower.substr(i);
  if (rest == "inf" || rest == "infinity") {
    *out = sign * HUGE_VAL;
    return true;
  }
  if (rest == "nan") {
    *out = std::nan("");
    return true;
  }
  std::string digits;
  for (size_t k = 0; k < rest.size(); ++k) {
    if (rest[k] == '_' && k > 0 && k + 1 < rest.size() &&
        std::isdigit(static_cast<unsigned char>(rest[k - 1])) &&
        std::isdigit(static_cast<unsigned char>(rest[k + 1])))
      continue;
    digits.push_back(rest[k]);
  }
  if (digits.empty() || digits[0] == '+' || digits[0] == '-')
    return false;
  double v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ptr != digits.data() + digits.size())
    return false;
  if (r.ec == std::errc::result_out_of_range)
    v = digits.find("e-") != std::string::npos ? 0.0 : HUGE_VAL;
  else if (r.ec != std::errc())
    return false;
  *out = sign * v;
  return true;
}

Status undefinedMessageError(const Value &v) {
  return Status::error(v.undefinedMessage());
}

/// Size of pythonReplace's result, without building it.
uint64_t replacedSize(const std::string &s, const std::string &from,
                      const std::string &to, int64_t count) {
  uint64_t hits = 0;
  if (from.empty()) {
    hits = codePointCount(s) + 1;
  } else {
    for (size_t p = s.find(from); p != std::string::npos;
         p = s.find(from, p + from.size()))
      ++hits;
  }
  if (count >= 0)
    hits = std::min<uint64_t>(hits, static_cast<uint64_t>(count));
  return s.size() + hits * to.size() - hits * from.size();
}

/// Indices of `keys` in stable sorted order. A bottom-up merge sort, so
/// that a comparison that fails (mixed types) stops it with an error.
Result<std::vector<size_t>> sortedOrder(const std::vector<Value> &keys,
                                        bool descending, WorkMeter *meter) {
  size_t n = keys.size();
  std::vector<size_t> order(n), tmp(n);
  for (size_t i = 0; i < n; ++i)
    order[i] = i;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        auto c = compareValues(keys[order[j]], keys[order[i]], meter);
        if (!c.ok())
          return Status::error("'<' " + c.message());
        bool rightFirst = descending ? c.value() > 0 : c.value() < 0;
        tmp[k++] = rightFirst ? order[j++] : order[i++];
      }
      while (i < mid)
        tmp[k++] = order[i++];
      while (j < hi)
        tmp[k++] = order[j++];
    }
    order.swap(tmp);
  }
  return order;
}

Status notIterable(const Value &v) {
  return Status::error(std::string("'") + v.typeName() +
                       "' object is not iterable");
}

} // namespace

bool isKnownFilter(const std::string &name) { return contains(kFilters, name); }
bool isKnownTest(const std::string &name) { return contains(kTests, name); }

// --- Access -------------------------------------------------------------------

Value Renderer::getAttr(const Value &obj, const std::string &name) {
  auto missing = [&](const std::string &type) {
    return Value::undefined("'" + type + "' has no attribute '" + name + "'");
  };
  switch (obj.kind()) {
  case Kind::Dict: {
    if (contains(kDictMethods, name))
      return Value::callable(CallableKind::Method, name, &obj);
    if (const Value *v = obj.dictFind(name))
      return *v;
    return missing("dict object");
  }
  case Kind::String:
    if (contains(kStrMethods, name))
      return Value::callable(CallableKind::Method, name, &obj);
    return missing("str object");
  case Kind::Namespace:
    for (const auto &item : obj.namespaceItems())
      if (item.first == name)
        return item.second;
    return missing("Namespace object");
  case Kind::Loop: {
    int64_t i = obj.loopIndex0(), n = obj.loopLength();
    if (name == "index")
      return Value::integer(i + 1);
    if (name == "index0")
      return Value::integer(i);
    if (name == "revindex")
      return Value::integer(n - i);
    if (name == "revindex0")
      return Value::integer(n - i - 1);
    if (name == "first")
      return Value::boolean(i == 0);
    if (name == "last")
      return Value::boolean(i == n - 1);
    if (name == "length")
      return Value::integer(n);
    if (name == "previtem")
      return obj.loopPrev();
    if (name == "nextitem")
      return obj.loopNext();
    if (name == "depth")
      return Value::integer(1);
    if (name == "depth0")
      return Value::integer(0);
    if (name == "cycle")
      return Value::callable(CallableKind::LoopCycle, "cycle", nullptr,
                             nullptr, {Value::integer(i)});
    return missing("LoopContext object");
  }
  case Kind::None:
    return missing("None");
  default:
    return missing(std::string(obj.typeName()) + " object");
  }
}

Value Renderer::getItem(const Value &obj, const Value &key) {
  switch (obj.kind()) {
  case Kind::Dict:
    if (key.isString()) {
      if (const Value *v = obj.dictFind(key.asString()))
        return *v;
      return getAttr(obj, key.asString());
    }
    return Value::undefined("'dict object' has no element");
  case Kind::List:
  case Kind::String:
    if (key.isIntLike()) {
      int64_t i = key.asInt();
      if (obj.isList()) {
        int64_t n = static_cast<int64_t>(obj.asList().size());
        if (i < 0)
          i += n;
        if (i < 0 || i >= n)
          return Value::undefined("list object has no element " +
                                  std::to_string(key.asInt()));
        return obj.asList()[static_cast<size_t>(i)];
      }
      std::string cp;
      if (!codePointAt(obj.asString(), i, &cp))
        return Value::undefined("str object has no element " +
                                std::to_string(key.asInt()));
      return Value::string(std::move(cp));
    }
    if (key.isString())
      return getAttr(obj, key.asString());
    return Value::undefined(std::string(obj.typeName()) +
                            " indices must be integers");
  case Kind::Namespace:
  case Kind::Loop:
    if (key.isString())
      return getAttr(obj, key.asString());
    return Value::undefined("no such element");
  case Kind::None:
    return Value::undefined("'None' has no element");
  default:
    return Value::undefined(std::string("'") + obj.typeName() +
                            " object' has no element");
  }
}

Result<std::vector<Value>> Renderer::iterate(const Value &v) {
  switch (v.kind()) {
  case Kind::List:
    return v.asList();
  case Kind::String:
    LLMC_RETURN_IF_ERROR(charge(v.asString().size()));
    return codePoints(v.asString());
  case Kind::Dict: {
    std::vector<Value> keys;
    for (const auto &item : v.asDict())
      keys.push_back(Value::string(item.first));
    return keys;
  }
  case Kind::Undefined:
    return std::vector<Value>();
  default:
    return notIterable(v);
  }
}

// --- Filters ------------------------------------------------------------------

namespace {

/// The attribute getter behind selectattr/map(attribute=)/sort(attribute=):
/// "a.b" looks up a, then b, as items.
Result<Value> lookupPath(Renderer &r, const Value &item,
                         const std::string &path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos
                                              ? std::string::npos
                                              : dot - start);
    if (v.isUndefined()) // looking into an undefined fails, as in jinja2
      return Status::error(v.undefinedMessage());
    int64_t index = 0;
    bool numeric = !part.empty() &&
                   std::all_of(part.begin(), part.end(), [](char c) {
                     return c >= '0' && c <= '9';
                   });
    if (numeric && std::from_chars(part.data(), part.data() + part.size(),
                                   index)
                           .ec == std::errc())
      v = r.getItem(v, Value::integer(index));
    else
      v = r.getItem(v, Value::string(part));
    if (dot == std::string::npos)
      return v;
    start = dot + 1;
  }
}

} // namespace

Result<Value> Renderer::applyFilter(const std::string &name,
                                    const Value &operand, const Args &args) {
  auto bind = [&](std::initializer_list<const char *> names) {
    return bindArgs("filter '" + name + "'", args, names);
  };
  auto requireString = [&]() -> Result<std::string> { return toStr(operand, &meter_); };

  if (name == "trim") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"chars"}));
    LLMC_ASSIGN_OR_RETURN(std::string s, requireString());
    if (a[0] && !a[0]->isNone()) {
      LLMC_ASSIGN_OR_RETURN(std::string chars, toStr(*a[0], &meter_));
      LLMC_RETURN_IF_ERROR(chargeSearch(s.size(), chars.size()));
      return Value::string(stripString(s, &chars, true, true));
    }
    return Value::string(stripString(s, nullptr, true, true));
  }
  if (name == "upper" || name == "lower" || name == "capitalize" ||
      name == "title") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    LLMC_ASSIGN_OR_RETURN(std::string s, requireString());
    if (name == "upper")
      return Value::string(upperString(s));
    if (name == "lower")
      return Value::string(lowerString(s));
    if (name == "capitalize")
      return Value::string(capitalize(s));
    return Value::string(jinjaTitle(s));
  }
  if (name == "length" || name == "count") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    switch (operand.kind()) {
    case Kind::String:
      return Value::integer(
          static_cast<int64_t>(codePointCount(operand.asString())));
    case Kind::List:
      return Value::integer(static_cast<int64_t>(operand.asList().size()));
    case Kind::Dict:
      return Value::integer(static_cast<int64_t>(operand.asDict().size()));
    case Kind::Undefined:
      return Value::integer(0);
    default:
      return Status::error(std::string("object of type '") +
                           operand.typeName() + "' has no len()");
    }
  }
  if (name == "default" || name == "d") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"default_value", "boolean"}));
    bool useDefault =
        operand.isUndefined() || (boolArg(a[1], false) && !operand.truthy());
    if (!useDefault)
      return operand;
    return a[0] ? *a[0] : Value::string("");
  }
  if (name == "join") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"d", "attribute"}));
    LLMC_ASSIGN_OR_RETURN(std::string sep, strArg(a[0], "", &meter_));
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += sep;
      Value item = items[i];
      if (a[1] && !a[1]->isNone()) {
        LLMC_ASSIGN_OR_RETURN(std::string path, toStr(*a[1], &meter_));
        LLMC_ASSIGN_OR_RETURN(item, lookupPath(*this, item, path));
      }
      LLMC_ASSIGN_OR_RETURN(std::string s, toStr(item, &meter_));
      out += s;
      if (out.size() > limits_.maxOutputBytes)
        return Status::error("joined string longer than " +
                             std::to_string(limits_.maxOutputBytes) +
                             " bytes");
    }
    return Value::string(std::move(out));
  }
  if (name == "replace") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"old", "new", "count"}));
    if (!a[0] || !a[1])
      return Status::error("filter 'replace' needs old and new strings");
    LLMC_ASSIGN_OR_RETURN(std::string s, requireString());
    LLMC_ASSIGN_OR_RETURN(std::string from, toStr(*a[0], &meter_));
    LLMC_ASSIGN_OR_RETURN(std::string to, toStr(*a[1], &meter_));
    int64_t count = -1;
    if (a[2] && !a[2]->isNone()) {
      if (!a[2]->isIntLike())
        return Status::error("count must be an integer");
      count = a[2]->asInt();
    }
    LLMC_RETURN_IF_ERROR(chargeSearch(s.size(), from.size()));
    if (replacedSize(s, from, to, count) > limits_.maxOutputBytes)
      return Status::error("replacement makes a string longer than " +
                           std::to_string(limits_.maxOutputBytes) + " bytes");
    std::string out = pythonReplace(s, from, to, count);
    return Value::string(std::move(out));
  }
  if (name == "tojson") {
    LLMC_ASSIGN_OR_RETURN(
        auto a, bind({"ensure_ascii", "indent", "separators", "sort_keys"}));
    JsonOptions opt;
    opt.ensureAscii = boolArg(a[0], false);
    opt.sortKeys = boolArg(a[3], false);
    if (a[1] && !a[1]->isNone()) {
      opt.hasIndent = true;
      if (a[1]->isIntLike()) {
        int64_t n = a[1]->asInt();
        if (n > 64)
          return Status::error("indent larger than 64");
        opt.indent = std::string(n > 0 ? static_cast<size_t>(n) : 0, ' ');
      } else if (a[1]->isString()) {
        opt.indent = a[1]->asString();
      } else {
        return Status::error("indent must be an integer or a string");
      }
      opt.itemSeparator = ",";
    }
    if (a[2] && !a[2]->isNone()) {
      const auto &seps = a[2]->asList();
      if (!a[2]->isList() || seps.size() != 2 || !seps[0].isString() ||
          !seps[1].isString())
        return Status::error("separators must be a pair of strings");
      opt.itemSeparator = seps[0].asString();
      opt.keySeparator = seps[1].asString();
    }
    LLMC_ASSIGN_OR_RETURN(std::string json, toJson(operand, opt, &meter_));
    if (json.size() > limits_.maxOutputBytes)
      return Status::error("JSON longer than " +
                           std::to_string(limits_.maxOutputBytes) + " bytes");
    return Value::string(std::move(json));
  }
  if (name == "first" || name == "last") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    if (operand.isString()) {
      const std::string &s = operand.asString();
      if (s.empty())
        return Value::undefined("No " + name + " item, sequence was empty.");
      std::string cp;
      codePointAt(s, name == "first" ? 0 : -1, &cp);
      return Value::string(std::move(cp));
    }
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    if (items.empty())
      return Value::undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "string") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    LLMC_ASSIGN_OR_RETURN(std::string s, toStr(operand, &meter_));
    return Value::string(std::move(s));
  }
  if (name == "safe") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    return operand;
  }
  if (name == "list") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    return Value::list(std::move(items));
  }
  if (name == "items") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    if (operand.isUndefined())
      return Value::list({});
    if (!operand.isDict())
      return Status::error("Can only get item pairs from a mapping.");
    std::vector<Value> items;
    for (const auto &item : operand.asDict())
      items.push_back(
          Value::list({Value::string(item.first), item.second}, true));
    return Value::list(std::move(items));
  }
  if (name == "int") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"default", "base"}));
    Value dflt = a[0] ? *a[0] : Value::integer(0);
    int base = 10;
    if (a[1]) {
      if (!a[1]->isIntLike() || (a[1]->asInt() != 0 && (a[1]->asInt() < 2 ||
                                                        a[1]->asInt() > 36)))
        return Status::error("base must be 0 or between 2 and 36");
      base = a[1]->asInt() == 0 ? 10 : static_cast<int>(a[1]->asInt());
    }
    if (operand.isUndefined())
      return undefinedMessageError(operand);
    if (operand.isIntLike())
      return Value::integer(operand.asInt());
    if (operand.kind() == Kind::Float) {
      double d = operand.asDouble();
      if (!std::isfinite(d) || std::fabs(d) >= 9.2e18)
        return dflt;
      return Value::integer(static_cast<int64_t>(d));
    }
    if (operand.isString()) {
      int64_t v = 0;
      if (parseIntString(operand.asString(), base, &v))
        return Value::integer(v);
      double d = 0;
      if (parseFloatString(operand.asString(), &d) && std::isfinite(d) &&
          std::fabs(d) < 9.2e18)
        return Value::integer(static_cast<int64_t>(d));
    }
    return dflt;
  }
  if (name == "float") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"default"}));
    Value dflt = a[0] ? *a[0] : Value::real(0.0);
    if (operand.isUndefined())
      return undefinedMessageError(operand);
    if (operand.isNumber())
      return Value::real(operand.asDouble());
    double d = 0;
    if (operand.isString() && parseFloatString(operand.asString(), &d))
      return Value::real(d);
    return dflt;
  }
  if (name == "abs") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    if (operand.isIntLike()) {
      if (operand.asInt() == INT64_MIN)
        return Status::error("integer overflow");
      return Value::integer(std::llabs(operand.asInt()));
    }
    if (operand.kind() == Kind::Float)
      return Value::real(std::fabs(operand.asDouble()));
    return Status::error(std::string("bad operand type for abs(): '") +
                         operand.typeName() + "'");
  }
  if (name == "attr") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"name"}));
    if (!a[0] || !a[0]->isString())
      return Status::error("attribute name must be a string");
    if (operand.isUndefined())
      return undefinedMessageError(operand);
    return getAttr(operand, a[0]->asString());
  }
  if (name == "select" || name == "reject" || name == "selectattr" ||
      name == "rejectattr") {
    // As jinja2: a false value (none, empty) selects nothing.
    if (!operand.truthy())
      return Value::list({});
    bool byAttr = name == "selectattr" || name == "rejectattr";
    bool keepIfTrue = name == "select" || name == "selectattr";
    if (!args.keywords.empty())
      return Status::error("filter '" + name +
                           "' takes no keyword arguments");
    size_t next = 0;
    std::string attr;
    if (byAttr) {
      if (args.positional.empty() || !args.positional[0].isString())
        return Status::error("filter '" + name +
                             "' needs an attribute name");
      attr = args.positional[0].asString();
      next = 1;
    }
    std::string test;
    Args testArgs;
    if (next < args.positional.size()) {
      if (!args.positional[next].isString())
        return Status::error("test name must be a string");
      test = args.positional[next].asString();
      if (!isKnownTest(test))
        return Status::error("unknown test '" + test + "'");
      testArgs.positional.assign(args.positional.begin() + next + 1,
                                 args.positional.end());
    }
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    std::vector<Value> out;
    for (const Value &item : items) {
      LLMC_RETURN_IF_ERROR(charge(1));
      Value subject = item;
      if (byAttr) {
        LLMC_ASSIGN_OR_RETURN(subject, lookupPath(*this, item, attr));
      }
      bool pass;
      if (test.empty()) {
        pass = subject.truthy();
      } else {
        LLMC_ASSIGN_OR_RETURN(pass, applyTest(test, subject, testArgs));
      }
      if (pass == keepIfTrue)
        out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "map") {
    if (!operand.truthy()) // as jinja2: maps nothing
      return Value::list({});
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    const Value *attribute = nullptr;
    const Value *dflt = nullptr;
    for (const auto &kw : args.keywords) {
      if (kw.first == "attribute")
        attribute = &kw.second;
      else if (kw.first == "default")
        dflt = &kw.second;
    }
    std::vector<Value> out;
    if (attribute) {
      if (!args.positional.empty())
        return Status::error("filter 'map' takes either a filter name or "
                             "attribute=");
      LLMC_ASSIGN_OR_RETURN(std::string path, toStr(*attribute, &meter_));
      for (const Value &item : items) {
        LLMC_RETURN_IF_ERROR(charge(1));
        LLMC_ASSIGN_OR_RETURN(Value v, lookupPath(*this, item, path));
        if (v.isUndefined() && dflt)
          v = *dflt;
        out.push_back(std::move(v));
      }
      return Value::list(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].isString())
      return Status::error("filter 'map' needs a filter name or attribute=");
    std::string filter = args.positional[0].asString();
    if (!isKnownFilter(filter))
      return Status::error("unknown filter '" + filter + "'");
    Args filterArgs;
    filterArgs.positional.assign(args.positional.begin() + 1,
                                 args.positional.end());
    filterArgs.keywords = args.keywords;
    for (const Value &item : items) {
      LLMC_RETURN_IF_ERROR(charge(1));
      LLMC_ASSIGN_OR_RETURN(Value v, applyFilter(filter, item, filterArgs));
      out.push_back(std::move(v));
    }
    return Value::list(std::move(out));
  }
  if (name == "reverse") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    if (operand.isString()) {
      std::vector<Value> chars = codePoints(operand.asString());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it)
        out += it->asString();
      return Value::string(std::move(out));
    }
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort" || name == "dictsort" || name == "unique" ||
      name == "min" || name == "max") {
    const Value *reverse = nullptr, *caseSensitive = nullptr,
                *attribute = nullptr, *by = nullptr;
    if (name == "sort") {
      LLMC_ASSIGN_OR_RETURN(
          auto a, bind({"reverse", "case_sensitive", "attribute"}));
      reverse = a[0];
      caseSensitive = a[1];
      attribute = a[2];
    } else if (name == "dictsort") {
      LLMC_ASSIGN_OR_RETURN(auto a,
                            bind({"case_sensitive", "by", "reverse"}));
      caseSensitive = a[0];
      by = a[1];
      reverse = a[2];
    } else {
      LLMC_ASSIGN_OR_RETURN(auto a, bind({"case_sensitive", "attribute"}));
      caseSensitive = a[0];
      attribute = a[1];
    }
    std::vector<Value> items;
    if (name == "dictsort") {
      if (!operand.isDict())
        return Status::error("dictsort needs a mapping");
      for (const auto &item : operand.asDict())
        items.push_back(
            Value::list({Value::string(item.first), item.second}, true));
    } else {
      LLMC_ASSIGN_OR_RETURN(items, iterate(operand));
    }
    LLMC_RETURN_IF_ERROR(charge(items.size() * 20));
    bool cs = boolArg(caseSensitive, false);
    std::string path;
    if (attribute && !attribute->isNone()) {
      LLMC_ASSIGN_OR_RETURN(path, toStr(*attribute, &meter_));
    }
    int byIndex = 0;
    if (by) {
      LLMC_ASSIGN_OR_RETURN(std::string b, toStr(*by, &meter_));
      if (b == "value")
        byIndex = 1;
      else if (b != "key")
        return Status::error("You can only sort by either 'key' or 'value'");
    }
    auto keyOf = [&](const Value &item) -> Result<Value> {
      Value k = item;
      if (name == "dictsort") {
        k = item.asList()[static_cast<size_t>(byIndex)];
      } else if (!path.empty()) {
        LLMC_ASSIGN_OR_RETURN(k, lookupPath(*this, item, path));
      }
      if (!cs && k.isString())
        k = Value::string(lowerString(k.asString()));
      return k;
    };
    if (reverse && !reverse->isIntLike())
      return Status::error(std::string("'") + reverse->typeName() +
                           "' object cannot be interpreted as an integer");
    std::vector<Value> keys;
    for (const Value &item : items) {
      LLMC_ASSIGN_OR_RETURN(Value k, keyOf(item));
      keys.push_back(std::move(k));
    }
    if (name == "unique") {
      std::vector<Value> out, seen;
      for (size_t i = 0; i < items.size(); ++i) {
        bool dup = false;
        for (const Value &s : seen) {
          LLMC_ASSIGN_OR_RETURN(bool same, valuesEqual(s, keys[i], &meter_));
          if (same) {
            dup = true;
            break;
          }
        }
        LLMC_RETURN_IF_ERROR(charge(seen.size()));
        if (!dup) {
          seen.push_back(keys[i]);
          out.push_back(items[i]);
        }
      }
      return Value::list(std::move(out));
    }
    // Descending for max and sort(reverse=true): the stable sort then keeps
    // equal items in their order, as Python's sorted and max do.
    bool descending = name == "max" || (name == "sort" && boolArg(reverse, false));
    if (name == "dictsort" && boolArg(reverse, false))
      descending = true;
    LLMC_ASSIGN_OR_RETURN(std::vector<size_t> order,
                          sortedOrder(keys, descending, &meter_));
    if (name == "min" || name == "max") {
      if (items.empty())
        return Value::undefined("No " + name + " item, sequence was empty.");
      return items[order.front()];
    }
    std::vector<Value> out;
    for (size_t i : order)
      out.push_back(items[i]);
    return Value::list(std::move(out));
  }
  if (name == "sum") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"attribute", "start"}));
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(operand));
    Value total = a[1] ? *a[1] : Value::integer(0);
    std::string path;
    if (a[0] && !a[0]->isNone()) {
      LLMC_ASSIGN_OR_RETURN(path, toStr(*a[0], &meter_));
    }
    for (const Value &item : items) {
      Value v = item;
      if (!path.empty()) {
        LLMC_ASSIGN_OR_RETURN(v, lookupPath(*this, item, path));
      }
      if (v.isUndefined())
        return undefinedMessageError(v);
      LLMC_ASSIGN_OR_RETURN(total, binaryOp(BinOp::Add, total, v,
                                            limits_.maxOutputBytes,
                                            limits_.maxListItems));
      LLMC_RETURN_IF_ERROR(checkSize(total));
    }
    return total;
  }
  return Status::error("unknown filter '" + name + "'");
}

// --- Tests --------------------------------------------------------------------

Result<bool> Renderer::applyTest(const std::string &name, const Value &v,
                                 const Args &args) {
  auto bind = [&](std::initializer_list<const char *> names) {
    return bindArgs("test '" + name + "'", args, names);
  };
  if (name == "defined" || name == "undefined" || name == "none" ||
      name == "boolean" || name == "true" || name == "false" ||
      name == "integer" || name == "float" || name == "number" ||
      name == "string" || name == "mapping" || name == "iterable" ||
      name == "sequence" || name == "callable" || name == "lower" ||
      name == "upper" || name == "filter" || name == "test") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    Kind k = v.kind();
    if (name == "defined")
      return k != Kind::Undefined;
    if (name == "undefined")
      return k == Kind::Undefined;
    if (name == "none")
      return k == Kind::None;
    if (name == "boolean")
      return k == Kind::Bool;
    if (name == "true")
      return k == Kind::Bool && v.asBool();
    if (name == "false")
      return k == Kind::Bool && !v.asBool();
    if (name == "integer")
      return k == Kind::Int;
    if (name == "float")
      return k == Kind::Float;
    if (name == "number")
      return v.isNumber();
    if (name == "string")
      return k == Kind::String;
    if (name == "mapping")
      return k == Kind::Dict;
    if (name == "iterable" || name == "sequence")
      return k == Kind::String || k == Kind::List || k == Kind::Dict ||
             k == Kind::Undefined;
    if (name == "callable")
      return k == Kind::Callable;
    if (name == "filter")
      return v.isString() && isKnownFilter(v.asString());
    if (name == "test")
      return v.isString() && isKnownTest(v.asString());
    LLMC_ASSIGN_OR_RETURN(std::string s, toStr(v, &meter_));
    return caseTest(s, name == "lower");
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    int64_t divisor = 2;
    if (name == "divisibleby") {
      LLMC_ASSIGN_OR_RETURN(auto a, bind({"num"}));
      if (!a[0])
        return Status::error("test 'divisibleby' needs a number");
      if (!a[0]->isIntLike())
        return Status::error("divisibleby needs an integer");
      divisor = a[0]->asInt();
    } else {
      LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
      (void)a;
    }
    if (v.isUndefined())
      return undefinedMessageError(v);
    LLMC_ASSIGN_OR_RETURN(Value m, binaryOp(BinOp::Mod, v, Value::integer(divisor),
                                            limits_.maxOutputBytes,
                                            limits_.maxListItems));
    bool zero = m.asDouble() == 0;
    if (name == "odd")
      return !zero;
    return zero;
  }
  if (name == "sameas") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"other"}));
    if (!a[0])
      return Status::error("test 'sameas' needs a value");
    const Value &o = *a[0];
    if (v.kind() != o.kind())
      return false;
    switch (v.kind()) {
    case Kind::Undefined:
    case Kind::None:
      return true;
    case Kind::Bool:
      return v.asBool() == o.asBool();
    case Kind::Int:
      return v.asInt() == o.asInt() && v.asInt() >= -5 && v.asInt() <= 256;
    case Kind::String:
      return &v.asString() == &o.asString();
    case Kind::List:
      return &v.asList() == &o.asList();
    case Kind::Dict:
      return &v.asDict() == &o.asDict();
    case Kind::Namespace:
      return &v.namespaceItems() == &o.namespaceItems();
    default:
      return false;
    }
  }
  // Comparisons.
  LLMC_ASSIGN_OR_RETURN(auto a, bind({"other"}));
  if (!a[0])
    return Status::error("test '" + name + "' needs a value to compare with");
  const Value &o = *a[0];
  if (name == "eq" || name == "equalto" || name == "==")
    return valuesEqual(v, o, &meter_);
  if (name == "ne" || name == "!=") {
    LLMC_ASSIGN_OR_RETURN(bool same, valuesEqual(v, o, &meter_));
    return !same;
  }
  if (name == "in") {
    switch (o.kind()) {
    case Kind::String:
      if (!v.isString())
        return Status::error("'in <string>' requires string as left operand");
      LLMC_RETURN_IF_ERROR(chargeSearch(o.asString().size(), v.asString().size()));
      return o.asString().find(v.asString()) != std::string::npos;
    case Kind::List:
      for (const Value &item : o.asList()) {
        LLMC_ASSIGN_OR_RETURN(bool same, valuesEqual(item, v, &meter_));
        if (same)
          return true;
      }
      return false;
    case Kind::Dict:
      return v.isString() && o.dictFind(v.asString()) != nullptr;
    case Kind::Undefined:
      return false;
    default:
      return Status::error(std::string("argument of type '") + o.typeName() +
                           "' is not iterable");
    }
  }
  if (v.isUndefined())
    return undefinedMessageError(v);
  if (o.isUndefined())
    return undefinedMessageError(o);
  auto c = compareValues(v, o, &meter_);
  if (!c.ok())
    return Status::error("comparison " + c.message());
  int r = c.value();
  if (name == "lt" || name == "lessthan" || name == "<")
    return r < 0;
  if (name == "le" || name == "<=")
    return r <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">")
    return r > 0;
  if (name == "ge" || name == ">=")
    return r >= 0;
  return Status::error("unknown test '" + name + "'");
}

// --- Calls --------------------------------------------------------------------

Result<Value> Renderer::callValue(const Value &callee, const Args &args) {
  const std::string &fn = callee.callableName();
  auto bind = [&](std::initializer_list<const char *> names) {
    return bindArgs(fn + "()", args, names);
  };
  switch (callee.callableKind()) {
  case CallableKind::RaiseException: {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"message"}));
    std::string message;
    if (a[0]) {
      LLMC_ASSIGN_OR_RETURN(message, toStr(*a[0], &meter_));
    }
    return Status::error("raise_exception: " + message);
  }
  case CallableKind::Namespace:
  case CallableKind::Dict: {
    if (args.positional.size() > 1)
      return Status::error(fn + "() takes at most 1 positional argument");
    std::vector<std::pair<std::string, Value>> items;
    auto put = [&](const std::string &key, const Value &value) {
      for (auto &item : items)
        if (item.first == key) {
          item.second = value;
          return;
        }
      items.emplace_back(key, value);
    };
    if (!args.positional.empty()) {
      const Value &init = args.positional[0];
      if (init.isUndefined())
        return undefinedMessageError(init);
      if (init.isDict()) {
        for (const auto &item : init.asDict())
          put(item.first, item.second);
      } else {
        LLMC_ASSIGN_OR_RETURN(std::vector<Value> pairs, iterate(init));
        for (const Value &pair : pairs) {
          if (!pair.isList() || pair.asList().size() != 2 ||
              !pair.asList()[0].isString())
            return Status::error(fn + "() needs a mapping or (key, value) "
                                      "pairs with string keys");
          put(pair.asList()[0].asString(), pair.asList()[1]);
        }
      }
    }
    for (const auto &kw : args.keywords)
      put(kw.first, kw.second);
    if (callee.callableKind() == CallableKind::Dict)
      return Value::dict(std::move(items));
    return newNamespace(std::move(items));
  }
  case CallableKind::Range: {
    if (!args.keywords.empty())
      return Status::error("range() takes no keyword arguments");
    size_t n = args.positional.size();
    if (n < 1 || n > 3)
      return Status::error("range() takes 1 to 3 arguments");
    int64_t bounds[3] = {0, 0, 1};
    for (size_t i = 0; i < n; ++i) {
      if (!args.positional[i].isIntLike())
        return Status::error(std::string("'") + args.positional[i].typeName() +
                             "' object cannot be interpreted as an integer");
    }
    if (n == 1) {
      bounds[1] = args.positional[0].asInt();
    } else {
      bounds[0] = args.positional[0].asInt();
      bounds[1] = args.positional[1].asInt();
      if (n == 3)
        bounds[2] = args.positional[2].asInt();
    }
    if (bounds[2] == 0)
      return Status::error("range() arg 3 must not be zero");
    // The sandbox transformers renders in refuses ranges over 100000 items.
    constexpr int64_t kMaxRange = 100000;
    long double count =
        bounds[2] > 0
            ? (static_cast<long double>(bounds[1]) - bounds[0]) / bounds[2]
            : (static_cast<long double>(bounds[0]) - bounds[1]) / -bounds[2];
    if (count > kMaxRange)
      return Status::error("range too big (the sandbox allows at most 100000 "
                           "items)");
    std::vector<Value> items;
    if (bounds[2] > 0)
      for (int64_t i = bounds[0]; i < bounds[1]; i += bounds[2])
        items.push_back(Value::integer(i));
    else
      for (int64_t i = bounds[0]; i > bounds[1]; i += bounds[2])
        items.push_back(Value::integer(i));
    LLMC_RETURN_IF_ERROR(charge(items.size()));
    return Value::list(std::move(items));
  }
  case CallableKind::StrftimeNow: {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"format"}));
    if (!a[0] || !a[0]->isString())
      return Status::error("strftime_now() needs a format string");
    const std::string &format = a[0]->asString();
    if (format.size() > 256)
      return Status::error("strftime_now() format longer than 256 bytes");
    std::time_t now = std::time(nullptr);
    std::tm local{};
    if (!localtime_r(&now, &local))
      return Status::error("strftime_now(): cannot read the local time");
    char buf[1024];
    size_t n = format.empty() ? 0
                              : std::strftime(buf, sizeof(buf), format.c_str(),
                                              &local);
    return Value::string(std::string(buf, n));
  }
  case CallableKind::Macro:
    return callMacro(*callee.callableMacro(), args);
  case CallableKind::LoopCycle: {
    if (!args.keywords.empty())
      return Status::error("cycle() takes no keyword arguments");
    if (args.positional.empty())
      return Status::error("no items for cycling given");
    int64_t i = callee.callableBound()[0].asInt();
    return args.positional[static_cast<size_t>(i) % args.positional.size()];
  }
  case CallableKind::Method:
    break;
  }

  // Methods of str and dict.
  const Value &self = callee.callableSelf();
  if (self.isDict()) {
    if (fn == "items" || fn == "keys" || fn == "values") {
      LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
      (void)a;
      std::vector<Value> out;
      for (const auto &item : self.asDict()) {
        if (fn == "items")
          out.push_back(
              Value::list({Value::string(item.first), item.second}, true));
        else if (fn == "keys")
          out.push_back(Value::string(item.first));
        else
          out.push_back(item.second);
      }
      return Value::list(std::move(out));
    }
    // get
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"key", "default"}));
    if (!a[0])
      return Status::error("get() needs a key");
    if (a[0]->isList() && !a[0]->isTuple())
      return Status::error("unhashable type: 'list'");
    if (a[0]->isDict())
      return Status::error("unhashable type: 'dict'");
    if (a[0]->isString())
      if (const Value *v = self.dictFind(a[0]->asString()))
        return *v;
    return a[1] ? *a[1] : Value::none();
  }

  const std::string &s = self.asString();
  if (fn == "strip" || fn == "lstrip" || fn == "rstrip") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"chars"}));
    bool left = fn != "rstrip", right = fn != "lstrip";
    if (a[0] && !a[0]->isNone()) {
      if (!a[0]->isString())
        return Status::error(fn + " arg must be None or str");
      LLMC_RETURN_IF_ERROR(chargeSearch(s.size(), a[0]->asString().size()));
      return Value::string(stripString(s, &a[0]->asString(), left, right));
    }
    return Value::string(stripString(s, nullptr, left, right));
  }
  if (fn == "startswith" || fn == "endswith") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"prefix"}));
    if (!a[0])
      return Status::error(fn + "() needs an argument");
    std::vector<Value> options;
    if (a[0]->isString())
      options.push_back(*a[0]);
    else if (a[0]->isList())
      options = a[0]->asList();
    else
      return Status::error(fn + " first arg must be str or a tuple of str");
    for (const Value &o : options) {
      if (!o.isString())
        return Status::error(fn + " first arg must be str or a tuple of str");
      const std::string &p = o.asString();
      if (p.size() > s.size())
        continue;
      if (fn == "startswith" ? s.compare(0, p.size(), p) == 0
                             : s.compare(s.size() - p.size(), p.size(), p) == 0)
        return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (fn == "split" || fn == "rsplit") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"sep", "maxsplit"}));
    int64_t maxsplit = -1;
    if (a[1]) {
      if (!a[1]->isIntLike())
        return Status::error("maxsplit must be an integer");
      maxsplit = a[1]->asInt();
    }
    if (fn == "rsplit" && maxsplit >= 0)
      return Status::error("rsplit() with maxsplit is not supported");
    LLMC_RETURN_IF_ERROR(chargeSearch(
        s.size(), a[0] && a[0]->isString() ? a[0]->asString().size() : 1));
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> parts,
                          pythonSplit(s, a[0], maxsplit));
    return Value::list(std::move(parts));
  }
  if (fn == "upper" || fn == "lower" || fn == "title" || fn == "capitalize") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({}));
    (void)a;
    if (fn == "upper")
      return Value::string(upperString(s));
    if (fn == "lower")
      return Value::string(lowerString(s));
    if (fn == "title")
      return Value::string(pythonTitle(s));
    return Value::string(capitalize(s));
  }
  if (fn == "replace") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"old", "new", "count"}));
    if (!a[0] || !a[1] || !a[0]->isString() || !a[1]->isString())
      return Status::error("replace() needs two strings");
    int64_t count = -1;
    if (a[2]) {
      if (!a[2]->isIntLike())
        return Status::error("count must be an integer");
      count = a[2]->asInt();
    }
    const std::string &from = a[0]->asString(), &to = a[1]->asString();
    LLMC_RETURN_IF_ERROR(chargeSearch(s.size(), from.size()));
    if (replacedSize(s, from, to, count) > limits_.maxOutputBytes)
      return Status::error("replacement makes a string longer than " +
                           std::to_string(limits_.maxOutputBytes) + " bytes");
    return Value::string(pythonReplace(s, from, to, count));
  }
  if (fn == "join") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"iterable"}));
    if (!a[0])
      return Status::error("join() needs an iterable");
    LLMC_ASSIGN_OR_RETURN(std::vector<Value> items, iterate(*a[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].isString())
        return Status::error("sequence item " + std::to_string(i) +
                             ": expected str instance, " +
                             items[i].typeName() + " found");
      if (i)
        out += s;
      out += items[i].asString();
      if (out.size() > limits_.maxOutputBytes)
        return Status::error("joined string too long");
    }
    return Value::string(std::move(out));
  }
  if (fn == "find" || fn == "count") {
    LLMC_ASSIGN_OR_RETURN(auto a, bind({"sub"}));
    if (!a[0] || !a[0]->isString())
      return Status::error(fn + "() needs a string");
    const std::string &sub = a[0]->asString();
    LLMC_RETURN_IF_ERROR(chargeSearch(s.size(), sub.size()));
    if (fn == "find") {
      size_t p = s.find(sub);
      if (p == std::string::npos)
        return Value::integer(-1);
      return Value::integer(static_cast<int64_t>(codePointCount(s.substr(0, p))));
    }
    if (sub.empty())
      return Value::integer(static_cast<int64_t>(codePointCount(s) + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos;
         p = s.find(sub, p + sub.size()))
      ++n;
    return Value::integer(n);
  }
  return Status::error("unsupported method '" + fn + "'");
}

} // namespace chat
} // namespace llmc
