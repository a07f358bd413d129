//===- TemplateRenderer.h - runs a parsed chat template ---------*- C++ -*-===//
//
// Walks a Program (TemplateAST.h) with jinja2's semantics: scoping (a for
// loop's body gets a fresh scope each iteration; `if` does not open one),
// the default Undefined (prints as "", is false, iterates as empty, fails
// when used in arithmetic or looked into), Python's operators, and the
// filters, tests, methods and globals in TemplateBuiltins.cpp.
//
// One Renderer renders once. Every bound in RenderLimits turns into an
// error Status, never a crash or a hang.
//
// Internal to runtime/chat; the public API is ChatTemplate.h.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHAT_TEMPLATERENDERER_H
#define LLMC_RUNTIME_CHAT_TEMPLATERENDERER_H

#include "runtime/chat/TemplateAST.h"
#include "runtime/chat/TemplateValue.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llmc {
namespace chat {

struct RenderLimits {
  /// Rendered text, and any one string value, at most this long.
  size_t maxOutputBytes = 1 << 20;
  /// Lists built while rendering (range, +, *, filters) at most this long.
  size_t maxListItems = 100000;
  /// Loop iterations over the whole render.
  uint64_t maxLoopIterations = 1000000;
  /// Nested evaluation: expressions, blocks and macro calls together.
  int maxDepth = 256;
  /// Work units (Renderer::charge: nodes evaluated, bytes read and
  /// allocated, items walked), so that no template runs for long or
  /// allocates much: about a second and a few hundred MB at most.
  uint64_t maxWork = 32u << 20;
};

using KeywordArgs = std::vector<std::pair<std::string, Value>>;

struct Args {
  std::vector<Value> positional;
  KeywordArgs keywords;
};

class Renderer {
public:
  Renderer(const Program &program, const RenderLimits &limits);
  ~Renderer();
  Renderer(const Renderer &) = delete;
  Renderer &operator=(const Renderer &) = delete;

  /// Renders with these variables (and the builtin globals) defined.
  Result<std::string> render(const KeywordArgs &variables);

  // --- Used by the builtins (TemplateBuiltins.cpp) ---------------------------

  /// Errors from builtins carry no position; the node that called them
  /// adds it.
  Result<Value> applyFilter(const std::string &name, const Value &operand,
                            const Args &args);
  Result<bool> applyTest(const std::string &name, const Value &operand,
                         const Args &args);
  Result<Value> callValue(const Value &callee, const Args &args);
  /// `obj.name` and `obj[key]`, with jinja's fallbacks between the two.
  Value getAttr(const Value &obj, const std::string &name);
  Value getItem(const Value &obj, const Value &key);
  /// The items `for x in v` visits (chars of a string, keys of a dict).
  Result<std::vector<Value>> iterate(const Value &v);
  /// Counts work; fails past RenderLimits::maxWork. One unit is about one
  /// node evaluated, 16 bytes read or 4 bytes allocated.
  Status charge(uint64_t units);
  /// Charges a substring search (naively haystack * needle steps).
  Status chargeSearch(size_t haystack, size_t needle) {
    return charge(static_cast<uint64_t>(haystack) * (needle + 1) / 16 + 1);
  }
  /// Checks a string or list just built against the size limits.
  Status checkSize(const Value &v);
  Value newNamespace(std::vector<std::pair<std::string, Value>> items);
  const RenderLimits &limits() const { return limits_; }

private:
  struct Scope {
    Scope *parent = nullptr;
    std::vector<std::pair<std::string, Value>> vars;
    const Value *find(const std::string &name) const;
    void set(const std::string &name, Value value);
  };
  enum class Control { None, Break, Continue };

  Status fail(size_t pos, const std::string &message) const;
  /// Adds the position to an error that has none yet.
  Status locate(size_t pos, const Status &status) const;
  Status enter(size_t pos);

  Result<Value> eval(const Expr &e);
  Result<Value> evalCollection(const Expr &e);
  Result<Value> evalAccess(const Expr &e);
  Result<Value> evalSlice(const Expr &e);
  Result<Value> evalCall(const Expr &e);
  Result<Value> evalFilterOrTest(const Expr &e);
  Result<Value> evalUnary(const Expr &e);
  Result<Value> evalBinary(const Expr &e);
  Result<Value> evalCompare(const Expr &e);
  Status evalArgs(const Expr &e, size_t first, Args &args);

  Status exec(const StmtList &body);
  Status execStmt(const Stmt &s);
  Status execFor(const Stmt &s);
  Status execSet(const Stmt &s);
  Status assign(const std::vector<std::string> &targets, const Value &value,
                Scope &scope);
  Status emit(const std::string &text, size_t pos);
  Result<Value> callMacro(const Macro &macro, const Args &args);

  const Program &program_;
  RenderLimits limits_;
  Scope root_;
  Scope *scope_ = &root_;
  std::string *out_ = nullptr;
  int depth_ = 0;
  uintptr_t stackBase_ = 0;
  uint64_t iterations_ = 0;
  WorkMeter meter_;
  Control control_ = Control::None;
  std::vector<Value> namespaces_;
};

/// Python's binary operators on values (not `~`, which is str + str).
/// Strings and lists it would make longer than the bounds are errors.
Result<Value> binaryOp(BinOp op, const Value &a, const Value &b,
                       size_t maxBytes, size_t maxItems);

} // namespace chat
} // namespace llmc

#endif // LLMC_RUNTIME_CHAT_TEMPLATERENDERER_H
