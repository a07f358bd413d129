//===- TemplateValue.h - values of the chat-template engine -----*- C++ -*-===//
//
// The values a Jinja chat template computes with, modelled on the Python
// objects jinja2 works on: undefined, None, bool, int, float, str, list (and
// tuple), dict, plus the engine's own objects (namespace, loop, callables).
// Strings are UTF-8; length, indexing and slicing count code points as
// Python does. Lists and dicts are immutable once built (the sandbox
// Hugging Face renders in forbids mutation), so copies share storage.
// A namespace is the one mutable object (`{% set ns.x = ... %}`).
//
// Internal to runtime/chat; the public API is ChatTemplate.h.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHAT_TEMPLATEVALUE_H
#define LLMC_RUNTIME_CHAT_TEMPLATEVALUE_H

#include "runtime/support/Status.h"
#include "runtime/tokenizer/Unicode.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc {
namespace chat {

class Value;
struct Macro;

enum class Kind : uint8_t {
  Undefined,
  None,
  Bool,
  Int,
  Float,
  String,
  List,
  Dict,
  Namespace,
  Loop,
  Callable,
};

/// What a callable value does when called.
enum class CallableKind : uint8_t {
  RaiseException, // raise_exception(message): an error with the message
  Namespace,      // namespace(**kwargs)
  Range,          // range([start,] stop[, step])
  Dict,           // dict(**kwargs)
  StrftimeNow,    // strftime_now(format): the local time
  Method,         // a bound method of `self` (str.strip, dict.items, ...)
  Macro,          // a {% macro %}
  LoopCycle,      // loop.cycle(a, b, ...)
};

struct HeapObject {
  virtual ~HeapObject() = default;
};

/// Deepest nesting of lists/dicts/namespaces that printing, comparing and
/// JSON walk (a namespace can be made to contain itself).
constexpr int kMaxValueDepth = 128;
/// Printing a value (str, repr, JSON) stops with an error past this size:
/// a list can hold the same 1 MiB string many times over.
constexpr size_t kMaxPrintedBytes = 1 << 20;

/// Parsing and rendering recurse; besides their depth limits they stop with
/// an error once they use this much stack below their entry point, so that
/// even sanitizer builds with large frames, or callers on small thread
/// stacks (512 KB and up), never overflow.
constexpr uintptr_t kMaxStackBytes = 256 << 10;
/// The current stack position (the stack grows down on llmc's targets).
inline uintptr_t stackPosition() {
  return reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}
/// Whether more than kMaxStackBytes are in use below `base`.
inline bool stackExhausted(uintptr_t base) {
  uintptr_t here = stackPosition();
  return here < base && base - here > kMaxStackBytes;
}

/// Counts the work of one render against a budget. Operations that walk
/// big values (printing, JSON, comparing, searching) charge it as they go,
/// so that no value, however shared and nested, takes long to walk.
class WorkMeter {
public:
  explicit WorkMeter(uint64_t limit) : limit_(limit) {}
  Status charge(uint64_t units) {
    used_ += units;
    if (used_ > limit_)
      return Status::error("template does too much work (more than " +
                           std::to_string(limit_) + " steps)");
    return Status::ok();
  }
  uint64_t used() const { return used_; }

private:
  uint64_t used_ = 0;
  uint64_t limit_;
};

class Value {
public:
  Value() = default; // undefined
  static Value undefined(std::string hint = std::string());
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value real(double d);
  static Value string(std::string s);
  static Value list(std::vector<Value> items, bool tuple = false);
  static Value dict(std::vector<std::pair<std::string, Value>> items);
  static Value newNamespace(std::vector<std::pair<std::string, Value>> items);
  static Value loop(int64_t index0, int64_t length, Value prev, Value next);
  /// `self` is the object of a bound method (may be null).
  static Value callable(CallableKind kind, std::string name,
                        const Value *self = nullptr,
                        const Macro *macro = nullptr,
                        std::vector<Value> bound = {});

  Kind kind() const { return kind_; }
  bool isUndefined() const { return kind_ == Kind::Undefined; }
  bool isNone() const { return kind_ == Kind::None; }
  bool isString() const { return kind_ == Kind::String; }
  bool isList() const { return kind_ == Kind::List; }
  bool isDict() const { return kind_ == Kind::Dict; }
  /// Python's int, which includes bool.
  bool isIntLike() const {
    return kind_ == Kind::Int || kind_ == Kind::Bool;
  }
  bool isNumber() const { return isIntLike() || kind_ == Kind::Float; }

  bool asBool() const { return bool_; }
  int64_t asInt() const { return kind_ == Kind::Bool ? (bool_ ? 1 : 0) : int_; }
  double asDouble() const {
    return kind_ == Kind::Float ? real_ : static_cast<double>(asInt());
  }
  const std::string &asString() const;
  const std::vector<Value> &asList() const;
  bool isTuple() const;
  const std::vector<std::pair<std::string, Value>> &asDict() const;
  /// For undefined values: what was missing ("'x' is undefined").
  std::string undefinedMessage() const;

  // Namespace.
  const std::vector<std::pair<std::string, Value>> &namespaceItems() const;
  void namespaceSet(const std::string &name, Value value) const;
  /// Drops a namespace's contents (breaks reference cycles after a render).
  void namespaceClear() const;

  // Loop.
  int64_t loopIndex0() const;
  int64_t loopLength() const;
  const Value &loopPrev() const;
  const Value &loopNext() const;

  // Callable.
  CallableKind callableKind() const;
  const std::string &callableName() const;
  const Value &callableSelf() const;
  const Macro *callableMacro() const;
  const std::vector<Value> &callableBound() const;

  /// Python truthiness.
  bool truthy() const;
  /// Looks a key up in a dict; nullptr if absent (or not a dict).
  const Value *dictFind(std::string_view key) const;
  /// Python type name for messages ("str", "int", "list", ...).
  const char *typeName() const;
  /// Both are the same string/list/dict/namespace object.
  bool sameObject(const Value &other) const {
    return heap_ && heap_ == other.heap_;
  }

private:
  Kind kind_ = Kind::Undefined;
  bool bool_ = false;
  int64_t int_ = 0;
  double real_ = 0;
  std::shared_ptr<const HeapObject> heap_;
};

// --- UTF-8 helpers (Python counts code points) ------------------------------

/// Decodes one code point at `pos` (advancing it); invalid bytes decode as
/// themselves (0x80..0xFF) one at a time.
uint32_t decodeUtf8(std::string_view s, size_t &pos);
// Encoding and validation are the tokenizers' (runtime/tokenizer/Unicode.h).
using unicode::appendUtf8;
using unicode::isValidUtf8;
/// Appends `cp` as Python writes it in a repr: \xHH, \uHHHH or \UHHHHHHHH.
void appendPythonEscape(std::string &out, uint32_t cp);
/// Number of code points.
size_t codePointCount(std::string_view s);
/// Byte offsets of code points, for slicing; a table only when the string
/// is not ASCII.
class CodePointIndex {
public:
  explicit CodePointIndex(std::string_view s);
  bool ascii() const { return ascii_; }
  /// Number of code points.
  size_t size() const { return ascii_ ? bytes_ : offsets_.size() - 1; }
  /// Byte offset of code point i (i == size() gives the byte length).
  size_t offset(size_t i) const { return ascii_ ? i : offsets_[i]; }

private:
  bool ascii_ = true;
  size_t bytes_ = 0;
  std::vector<size_t> offsets_;
};
/// The code point at index i (negative counts from the end, as Python);
/// false if out of range.
bool codePointAt(std::string_view s, int64_t i, std::string *out);
/// Python's str.isspace for one code point.
bool isUnicodeSpace(uint32_t cp);
/// str.strip / lstrip / rstrip; `chars` null means whitespace.
std::string stripString(std::string_view s, const std::string *chars,
                        bool left, bool right);
/// Simple case mapping of the common alphabets: ASCII, Latin-1, Latin
/// Extended-A and Additional, Greek, Coptic, Cyrillic, Armenian, full-width
/// Latin. Other letters are left as they are.
std::string upperString(std::string_view s);
std::string lowerString(std::string_view s);
uint32_t upperCodePoint(uint32_t cp);
uint32_t lowerCodePoint(uint32_t cp);

// --- Conversions ------------------------------------------------------------

/// Python's repr of a float.
std::string formatFloat(double d);
/// Python's str(): what `{{ value }}` prints. Fails on values nested
/// deeper than kMaxValueDepth or printing longer than kMaxPrintedBytes, and
/// when `meter` (if given) runs out.
Result<std::string> toStr(const Value &v, WorkMeter *meter = nullptr);
/// Python's repr().
Result<std::string> toRepr(const Value &v, WorkMeter *meter = nullptr);

struct JsonOptions {
  bool ensureAscii = false;
  bool hasIndent = false;
  std::string indent;
  std::string itemSeparator = ", ";
  std::string keySeparator = ": ";
  bool sortKeys = false;
};
/// Python's json.dumps with the given options (as transformers' tojson
/// filter calls it).
Result<std::string> toJson(const Value &v, const JsonOptions &options,
                           WorkMeter *meter = nullptr);

/// Python ==.
Result<bool> valuesEqual(const Value &a, const Value &b,
                         WorkMeter *meter = nullptr);
/// Python <, for numbers, strings and sequences; an error for other types.
/// Returns -1, 0 or 1.
Result<int> compareValues(const Value &a, const Value &b,
                          WorkMeter *meter = nullptr);

} // namespace chat
} // namespace llmc

#endif // LLMC_RUNTIME_CHAT_TEMPLATEVALUE_H
