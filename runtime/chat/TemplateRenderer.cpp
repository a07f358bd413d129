//===- TemplateRenderer.cpp - runs a parsed chat template -------------------===//

#include "runtime/chat/TemplateRenderer.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <memory>

#if defined(__GNUC__)
#define LLMC_NOINLINE __attribute__((noinline))
#else
#define LLMC_NOINLINE
#endif

namespace llmc {
namespace chat {

namespace {

bool hasPosition(const std::string &message) {
  // "LINE:COL: ..."
  size_t i = 0;
  auto digits = [&]() {
    size_t start = i;
    while (i < message.size() && std::isdigit(static_cast<unsigned char>(message[i])))
      ++i;
    return i > start;
  };
  if (!digits() || i >= message.size() || message[i] != ':')
    return false;
  ++i;
  return digits() && i + 1 < message.size() && message[i] == ':' &&
         message[i + 1] == ' ';
}

Status undefinedError(const Value &v) {
  return Status::error(v.undefinedMessage());
}

bool addOverflows(int64_t a, int64_t b, int64_t *r) {
  return __builtin_add_overflow(a, b, r);
}
bool subOverflows(int64_t a, int64_t b, int64_t *r) {
  return __builtin_sub_overflow(a, b, r);
}
bool mulOverflows(int64_t a, int64_t b, int64_t *r) {
  return __builtin_mul_overflow(a, b, r);
}

Status overflow() {
  return Status::error("integer overflow (chat templates use 64-bit "
                       "integers)");
}

/// Python's float divmod.
void floatDivmod(double vx, double wx, double *floordiv, double *mod) {
  double m = std::fmod(vx, wx);
  double div = (vx - m) / wx;
  if (m != 0) {
    if ((wx < 0) != (m < 0)) {
      m += wx;
      div -= 1.0;
    }
  } else {
    m = std::copysign(0.0, wx);
  }
  double fd;
  if (div != 0) {
    fd = std::floor(div);
    if (div - fd > 0.5)
      fd += 1.0;
  } else {
    fd = std::copysign(0.0, vx / wx);
  }
  *floordiv = fd;
  *mod = m;
}

Result<Value> repeat(const Value &seq, int64_t n, size_t maxBytes,
                     size_t maxItems) {
  if (n <= 0 || (seq.isString() ? seq.asString().empty() : seq.asList().empty()))
    return seq.isString() ? Value::string("") : Value::list({}, seq.isTuple());
  if (seq.isString()) {
    const std::string &s = seq.asString();
    if (!s.empty() && static_cast<uint64_t>(n) > maxBytes / s.size())
      return Status::error("string repetition makes a string longer than " +
                           std::to_string(maxBytes) + " bytes");
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      out += s;
    return Value::string(std::move(out));
  }
  const auto &items = seq.asList();
  if (!items.empty() && static_cast<uint64_t>(n) > maxItems / items.size())
    return Status::error("list repetition makes a list longer than " +
                         std::to_string(maxItems) + " items");
  std::vector<Value> out;
  out.reserve(items.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.isTuple());
}

} // namespace

Result<Value> binaryOp(BinOp op, const Value &a, const Value &b,
                       size_t maxBytes, size_t maxItems) {
  static const char *const kSymbols[] = {"+", "-", "*", "/", "//", "%", "**",
                                         "~"};
  auto typeError = [&]() {
    return Status::error(std::string("unsupported operand type(s) for ") +
                         kSymbols[static_cast<int>(op)] + ": '" +
                         a.typeName() + "' and '" + b.typeName() + "'");
  };
  bool ints = a.isIntLike() && b.isIntLike();
  bool numbers = a.isNumber() && b.isNumber();
  int64_t r = 0;
  switch (op) {
  case BinOp::Add:
    if (ints) {
      if (addOverflows(a.asInt(), b.asInt(), &r))
        return overflow();
      return Value::integer(r);
    }
    if (numbers)
      return Value::real(a.asDouble() + b.asDouble());
    if (a.isString() && b.isString()) {
      if (a.asString().size() + b.asString().size() > maxBytes)
        return Status::error("string longer than " + std::to_string(maxBytes) +
                             " bytes");
      return Value::string(a.asString() + b.asString());
    }
    if (a.isList() && b.isList() && a.isTuple() == b.isTuple()) {
      if (a.asList().size() + b.asList().size() > maxItems)
        return Status::error("list longer than " + std::to_string(maxItems) +
                             " items");
      std::vector<Value> items = a.asList();
      items.insert(items.end(), b.asList().begin(), b.asList().end());
      return Value::list(std::move(items), a.isTuple());
    }
    if (a.isString())
      return Status::error(std::string("can only concatenate str (not \"") +
                           b.typeName() + "\") to str");
    return typeError();
  case BinOp::Sub:
    if (ints) {
      if (subOverflows(a.asInt(), b.asInt(), &r))
        return overflow();
      return Value::integer(r);
    }
    if (numbers)
      return Value::real(a.asDouble() - b.asDouble());
    return typeError();
  case BinOp::Mul:
    if (ints) {
      if (mulOverflows(a.asInt(), b.asInt(), &r))
        return overflow();
      return Value::integer(r);
    }
    if (numbers)
      return Value::real(a.asDouble() * b.asDouble());
    if ((a.isString() || a.isList()) && b.isIntLike())
      return repeat(a, b.asInt(), maxBytes, maxItems);
    if (a.isIntLike() && (b.isString() || b.isList()))
      return repeat(b, a.asInt(), maxBytes, maxItems);
    return typeError();
  case BinOp::Div:
    if (!numbers)
      return typeError();
    if (b.asDouble() == 0)
      return Status::error("division by zero");
    return Value::real(a.asDouble() / b.asDouble());
  case BinOp::FloorDiv:
  case BinOp::Mod:
    if (ints) {
      int64_t x = a.asInt(), y = b.asInt();
      if (y == 0)
        return Status::error("integer division or modulo by zero");
      if (y == -1) {
        if (op == BinOp::Mod)
          return Value::integer(0);
        if (x == std::numeric_limits<int64_t>::min())
          return overflow();
        return Value::integer(-x);
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      return Value::integer(op == BinOp::FloorDiv ? q : m);
    }
    if (numbers) {
      if (b.asDouble() == 0)
        return Status::error("float division by zero");
      double fd, m;
      floatDivmod(a.asDouble(), b.asDouble(), &fd, &m);
      return Value::real(op == BinOp::FloorDiv ? fd : m);
    }
    if (op == BinOp::Mod && a.isString())
      return Status::error("printf-style string formatting ('%') is not "
                           "supported");
    return typeError();
  case BinOp::Pow:
    if (ints && b.asInt() >= 0) {
      int64_t base = a.asInt(), exp = b.asInt(), result = 1;
      while (exp > 0) {
        if (exp & 1) {
          if (mulOverflows(result, base, &result))
            return overflow();
        }
        exp >>= 1;
        if (exp && mulOverflows(base, base, &base))
          return overflow();
      }
      return Value::integer(result);
    }
    if (numbers) {
      double x = a.asDouble(), y = b.asDouble();
      if (x == 0 && y < 0)
        return Status::error("0.0 cannot be raised to a negative power");
      if (x < 0 && y != std::floor(y))
        return Status::error("complex numbers are not supported");
      return Value::real(std::pow(x, y));
    }
    return typeError();
  case BinOp::Concat:
    break;
  }
  return typeError();
}

// --- Scopes -------------------------------------------------------------------

const Value *Renderer::Scope::find(const std::string &name) const {
  for (const Scope *s = this; s; s = s->parent)
    for (auto it = s->vars.rbegin(); it != s->vars.rend(); ++it)
      if (it->first == name)
        return &it->second;
  return nullptr;
}

void Renderer::Scope::set(const std::string &name, Value value) {
  for (auto &var : vars)
    if (var.first == name) {
      var.second = std::move(value);
      return;
    }
  vars.emplace_back(name, std::move(value));
}

// --- Driver -------------------------------------------------------------------

Renderer::Renderer(const Program &program, const RenderLimits &limits)
    : program_(program), limits_(limits), meter_(limits.maxWork) {}

Renderer::~Renderer() {
  // Namespaces can hold themselves; emptying them frees such cycles.
  for (const Value &ns : namespaces_)
    ns.namespaceClear();
}

Value Renderer::newNamespace(std::vector<std::pair<std::string, Value>> items) {
  Value ns = Value::newNamespace(std::move(items));
  namespaces_.push_back(ns);
  return ns;
}

Status Renderer::fail(size_t pos, const std::string &message) const {
  return Status::error(describePosition(program_.source, pos) + ": " +
                       message);
}

Status Renderer::locate(size_t pos, const Status &status) const {
  if (status.isOk() || hasPosition(status.message()))
    return status;
  return fail(pos, status.message());
}

Status Renderer::charge(uint64_t units) { return meter_.charge(units); }

Status Renderer::checkSize(const Value &v) {
  if (v.isString()) {
    size_t n = v.asString().size();
    if (n > limits_.maxOutputBytes)
      return Status::error("string longer than " +
                           std::to_string(limits_.maxOutputBytes) + " bytes");
    return charge(n / 4 + 1);
  }
  if (v.isList()) {
    size_t n = v.asList().size();
    if (n > limits_.maxListItems)
      return Status::error("list longer than " +
                           std::to_string(limits_.maxListItems) + " items");
    return charge(12 * n + 1);
  }
  return Status::ok();
}

Status Renderer::enter(size_t pos) {
  if (depth_ > limits_.maxDepth)
    return fail(pos, "template recursion too deep (more than " +
                         std::to_string(limits_.maxDepth) + " levels)");
  if (stackExhausted(stackBase_))
    return fail(pos, "template recursion too deep (more than " +
                         std::to_string(kMaxStackBytes >> 10) +
                         " KB of stack)");
  Status s = charge(1);
  if (s.isError())
    return fail(pos, s.message());
  return Status::ok();
}

namespace {
struct DepthScope {
  explicit DepthScope(int &d) : depth(d) { ++depth; }
  ~DepthScope() { --depth; }
  int &depth;
};
} // namespace

Result<std::string> Renderer::render(const KeywordArgs &variables) {
  root_.vars.clear();
  root_.set("raise_exception",
            Value::callable(CallableKind::RaiseException, "raise_exception"));
  root_.set("strftime_now",
            Value::callable(CallableKind::StrftimeNow, "strftime_now"));
  root_.set("namespace", Value::callable(CallableKind::Namespace, "namespace"));
  root_.set("range", Value::callable(CallableKind::Range, "range"));
  root_.set("dict", Value::callable(CallableKind::Dict, "dict"));
  for (const auto &var : variables)
    root_.set(var.first, var.second);
  std::string out;
  out_ = &out;
  scope_ = &root_;
  stackBase_ = stackPosition();
  LLMC_RETURN_IF_ERROR(exec(program_.body));
  return out;
}

// --- Statements -----------------------------------------------------------------

Status Renderer::emit(const std::string &text, size_t pos) {
  if (out_->size() + text.size() > limits_.maxOutputBytes)
    return fail(pos, "rendered text longer than " +
                         std::to_string(limits_.maxOutputBytes) + " bytes");
  out_->append(text);
  return Status::ok();
}

Status Renderer::exec(const StmtList &body) {
  for (const auto &s : body) {
    LLMC_RETURN_IF_ERROR(execStmt(*s));
    if (control_ != Control::None)
      break;
  }
  return Status::ok();
}

LLMC_NOINLINE Status Renderer::execStmt(const Stmt &s) {
  DepthScope depth(depth_);
  LLMC_RETURN_IF_ERROR(enter(s.pos));
  switch (s.kind) {
  case StmtKind::Text:
    return emit(s.text, s.pos);
  case StmtKind::Output: {
    LLMC_ASSIGN_OR_RETURN(Value v, eval(*s.expr));
    auto text = toStr(v, &meter_);
    if (!text.ok())
      return fail(s.pos, text.message());
    return emit(text.value(), s.pos);
  }
  case StmtKind::If:
    for (size_t i = 0; i < s.conds.size(); ++i) {
      LLMC_ASSIGN_OR_RETURN(Value cond, eval(*s.conds[i]));
      if (cond.truthy())
        return exec(s.bodies[i]);
    }
    if (s.bodies.size() > s.conds.size())
      return exec(s.bodies.back());
    return Status::ok();
  case StmtKind::For:
    return execFor(s);
  case StmtKind::Set:
    return execSet(s);
  case StmtKind::SetBlock: {
    std::string captured;
    std::string *saved = out_;
    out_ = &captured;
    Status status = exec(s.bodies[0]);
    out_ = saved;
    LLMC_RETURN_IF_ERROR(status);
    scope_->set(s.targets[0], Value::string(std::move(captured)));
    return Status::ok();
  }
  case StmtKind::Break:
    control_ = Control::Break;
    return Status::ok();
  case StmtKind::Continue:
    control_ = Control::Continue;
    return Status::ok();
  case StmtKind::MacroDef:
    scope_->set(s.macro->name,
                Value::callable(CallableKind::Macro, s.macro->name, nullptr,
                                s.macro.get()));
    return Status::ok();
  case StmtKind::Generation:
    return exec(s.bodies[0]);
  }
  return Status::ok();
}

Status Renderer::assign(const std::vector<std::string> &targets,
                        const Value &value, Scope &scope) {
  if (targets.size() == 1) {
    scope.set(targets[0], value);
    return Status::ok();
  }
  if (value.isUndefined())
    return undefinedError(value);
  auto items = iterate(value);
  if (!items.ok())
    return items.status();
  if (items.value().size() != targets.size())
    return Status::error(
        std::string(items.value().size() > targets.size() ? "too many"
                                                          : "not enough") +
        " values to unpack (expected " + std::to_string(targets.size()) +
        ", got " + std::to_string(items.value().size()) + ")");
  for (size_t i = 0; i < targets.size(); ++i)
    scope.set(targets[i], items.value()[i]);
  return Status::ok();
}

Status Renderer::execSet(const Stmt &s) {
  LLMC_ASSIGN_OR_RETURN(Value v, eval(*s.expr));
  if (s.targetAttr) {
    const Value *ns = scope_->find(s.targets[0]);
    if (!ns || ns->kind() != Kind::Namespace)
      return fail(s.pos, "cannot assign attribute on non-namespace object");
    ns->namespaceSet(s.targets[1], std::move(v));
    return Status::ok();
  }
  return locate(s.pos, assign(s.targets, v, *scope_));
}

Status Renderer::execFor(const Stmt &s) {
  LLMC_ASSIGN_OR_RETURN(Value iterable, eval(*s.expr));
  auto listed = iterate(iterable);
  if (!listed.ok())
    return locate(s.expr->pos, listed.status());
  std::vector<Value> items = listed.take();
  Scope *outer = scope_;
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value &item : items) {
      Scope scope;
      scope.parent = outer;
      LLMC_RETURN_IF_ERROR(locate(s.pos, assign(s.targets, item, scope)));
      scope_ = &scope;
      auto keep = eval(*s.filter);
      scope_ = outer;
      if (!keep.ok())
        return keep.status();
      if (keep.value().truthy())
        kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    if (s.bodies.size() > 1) {
      Scope scope;
      scope.parent = outer;
      scope_ = &scope;
      Status status = exec(s.bodies[1]);
      scope_ = outer;
      return status;
    }
    return Status::ok();
  }
  int64_t length = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < length; ++i) {
    if (++iterations_ > limits_.maxLoopIterations)
      return fail(s.pos, "too many loop iterations (more than " +
                             std::to_string(limits_.maxLoopIterations) + ")");
    Scope scope;
    scope.parent = outer;
    LLMC_RETURN_IF_ERROR(locate(s.pos, assign(s.targets, items[i], scope)));
    scope.set("loop",
              Value::loop(i, length, i > 0 ? items[i - 1] : Value::undefined(
                                                                "there is no "
                                                                "previous item"),
                          i + 1 < length
                              ? items[i + 1]
                              : Value::undefined("there is no next item")));
    scope_ = &scope;
    Status status = exec(s.bodies[0]);
    scope_ = outer;
    LLMC_RETURN_IF_ERROR(status);
    Control control = control_;
    control_ = Control::None;
    if (control == Control::Break)
      break;
  }
  return Status::ok();
}

Result<Value> Renderer::callMacro(const Macro &macro, const Args &args) {
  if (args.positional.size() > macro.params.size())
    return Status::error("macro '" + macro.name + "' takes not more than " +
                         std::to_string(macro.params.size()) +
                         " argument(s)");
  Scope scope;
  scope.parent = &root_;
  std::vector<bool> bound(macro.params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    scope.set(macro.params[i], args.positional[i]);
    bound[i] = true;
  }
  for (const auto &kw : args.keywords) {
    size_t i = 0;
    while (i < macro.params.size() && macro.params[i] != kw.first)
      ++i;
    if (i == macro.params.size())
      return Status::error("macro '" + macro.name +
                           "' has no parameter named '" + kw.first + "'");
    if (bound[i])
      return Status::error("macro '" + macro.name +
                           "' got multiple values for '" + kw.first + "'");
    scope.set(kw.first, kw.second);
    bound[i] = true;
  }
  Scope *savedScope = scope_;
  std::string *savedOut = out_;
  Control savedControl = control_;
  scope_ = &scope;
  for (size_t i = 0; i < macro.params.size(); ++i) {
    if (bound[i])
      continue;
    Value v = Value::undefined("parameter '" + macro.params[i] +
                               "' was not provided");
    if (macro.defaults[i]) {
      auto def = eval(*macro.defaults[i]);
      if (!def.ok()) {
        scope_ = savedScope;
        return def.status();
      }
      v = def.take();
    }
    scope.set(macro.params[i], std::move(v));
  }
  std::string captured;
  out_ = &captured;
  control_ = Control::None;
  Status status = exec(macro.body);
  scope_ = savedScope;
  out_ = savedOut;
  control_ = savedControl;
  LLMC_RETURN_IF_ERROR(status);
  return Value::string(std::move(captured));
}

// --- Expressions ----------------------------------------------------------------

LLMC_NOINLINE Result<Value> Renderer::eval(const Expr &e) {
  DepthScope depth(depth_);
  LLMC_RETURN_IF_ERROR(enter(e.pos));
  switch (e.kind) {
  case ExprKind::Literal:
    return e.literal;
  case ExprKind::Name: {
    const Value *v = scope_->find(e.name);
    if (!v)
      return Value::undefined("'" + e.name + "' is undefined");
    return *v;
  }
  case ExprKind::List:
  case ExprKind::Tuple:
  case ExprKind::Dict:
    return evalCollection(e);
  case ExprKind::Attr:
  case ExprKind::Item:
    return evalAccess(e);
  case ExprKind::Slice:
    return evalSlice(e);
  case ExprKind::Call:
    return evalCall(e);
  case ExprKind::Filter:
  case ExprKind::Test:
    return evalFilterOrTest(e);
  case ExprKind::Not:
  case ExprKind::Neg:
  case ExprKind::Pos:
    return evalUnary(e);
  case ExprKind::Binary:
    return evalBinary(e);
  case ExprKind::Compare:
    return evalCompare(e);
  case ExprKind::And:
  case ExprKind::Or: {
    LLMC_ASSIGN_OR_RETURN(Value left, eval(*e.children[0]));
    if (left.truthy() == (e.kind == ExprKind::Or))
      return left;
    return eval(*e.children[1]);
  }
  case ExprKind::CondExpr: {
    LLMC_ASSIGN_OR_RETURN(Value cond, eval(*e.children[1]));
    if (cond.truthy())
      return eval(*e.children[0]);
    if (e.children[2])
      return eval(*e.children[2]);
    return Value::undefined("the inline if-expression at " +
                            describePosition(program_.source, e.pos) +
                            " evaluated to false and has no else section");
  }
  }
  return Value();
}

LLMC_NOINLINE Result<Value> Renderer::evalCollection(const Expr &e) {
  if (e.kind == ExprKind::Dict) {
    std::vector<std::pair<std::string, Value>> items;
    for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
      LLMC_ASSIGN_OR_RETURN(Value key, eval(*e.children[i]));
      LLMC_ASSIGN_OR_RETURN(Value value, eval(*e.children[i + 1]));
      if (!key.isString())
        return fail(e.children[i]->pos,
                    "dict keys must be strings in chat templates");
      bool replaced = false;
      for (auto &item : items)
        if (item.first == key.asString()) {
          item.second = value;
          replaced = true;
        }
      if (!replaced)
        items.emplace_back(key.asString(), std::move(value));
    }
    return Value::dict(std::move(items));
  }
  std::vector<Value> items;
  items.reserve(e.children.size());
  for (const auto &child : e.children) {
    LLMC_ASSIGN_OR_RETURN(Value v, eval(*child));
    items.push_back(std::move(v));
  }
  Value list = Value::list(std::move(items), e.kind == ExprKind::Tuple);
  LLMC_RETURN_IF_ERROR(locate(e.pos, checkSize(list)));
  return list;
}

LLMC_NOINLINE Result<Value> Renderer::evalAccess(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
  if (obj.isUndefined())
    return fail(e.pos, obj.undefinedMessage());
  if (e.kind == ExprKind::Attr)
    return getAttr(obj, e.name);
  LLMC_ASSIGN_OR_RETURN(Value key, eval(*e.children[1]));
  if (obj.isString()) // indexing counts code points
    LLMC_RETURN_IF_ERROR(locate(e.pos, charge(obj.asString().size() / 16)));
  return getItem(obj, key);
}

LLMC_NOINLINE Result<Value> Renderer::evalSlice(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
  if (obj.isUndefined())
    return fail(e.pos, obj.undefinedMessage());
  int64_t bounds[3] = {0, 0, 1};
  bool given[3] = {false, false, false};
  for (int k = 0; k < 3; ++k) {
    const ExprPtr &child = e.children[k + 1];
    if (!child)
      continue;
    LLMC_ASSIGN_OR_RETURN(Value v, eval(*child));
    if (v.isNone())
      continue;
    if (!v.isIntLike())
      return fail(child->pos, "slice indices must be integers or None");
    bounds[k] = v.asInt();
    given[k] = true;
  }
  if (!obj.isString() && !obj.isList())
    return Value::undefined(std::string("'") + obj.typeName() +
                            " object' cannot be sliced");
  int64_t step = given[2] ? bounds[2] : 1;
  if (step == 0)
    return fail(e.pos, "slice step cannot be zero");
  std::unique_ptr<CodePointIndex> index;
  int64_t length;
  if (obj.isString()) {
    LLMC_RETURN_IF_ERROR(locate(e.pos, charge(obj.asString().size() / 16)));
    index = std::make_unique<CodePointIndex>(obj.asString());
    if (!index->ascii()) // its table: 8 bytes per code point
      LLMC_RETURN_IF_ERROR(locate(e.pos, charge(2 * index->size())));
    length = static_cast<int64_t>(index->size());
  } else {
    length = static_cast<int64_t>(obj.asList().size());
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](int64_t v, bool present, int64_t dflt) {
    if (!present)
      return dflt;
    if (v < 0) {
      v += length;
      if (v < 0)
        v = step < 0 ? -1 : 0;
    } else if (v >= length) {
      v = step < 0 ? length - 1 : length;
    }
    return v;
  };
  int64_t start = adjust(bounds[0], given[0], step < 0 ? length - 1 : 0);
  int64_t stop = adjust(bounds[1], given[1], step < 0 ? -1 : length);
  std::vector<int64_t> picks;
  if (step > 0)
    for (int64_t i = start; i < stop; i += step)
      picks.push_back(i);
  else
    for (int64_t i = start; i > stop; i += step)
      picks.push_back(i);
  LLMC_RETURN_IF_ERROR(locate(e.pos, charge(picks.size())));
  if (obj.isString()) {
    const std::string &s = obj.asString();
    std::string out;
    if (step == 1) {
      if (start < stop)
        out = s.substr(index->offset(start),
                       index->offset(stop) - index->offset(start));
    } else {
      for (int64_t i : picks)
        out.append(s, index->offset(i), index->offset(i + 1) - index->offset(i));
    }
    return Value::string(std::move(out));
  }
  std::vector<Value> out;
  out.reserve(picks.size());
  for (int64_t i : picks)
    out.push_back(obj.asList()[static_cast<size_t>(i)]);
  return Value::list(std::move(out), obj.isTuple());
}

Status Renderer::evalArgs(const Expr &e, size_t first, Args &args) {
  for (size_t i = first; i < e.children.size(); ++i) {
    LLMC_ASSIGN_OR_RETURN(Value v, eval(*e.children[i]));
    args.positional.push_back(std::move(v));
  }
  for (size_t i = 0; i < e.kwNames.size(); ++i) {
    LLMC_ASSIGN_OR_RETURN(Value v, eval(*e.kwValues[i]));
    for (const auto &kw : args.keywords)
      if (kw.first == e.kwNames[i])
        return fail(e.kwValues[i]->pos,
                    "keyword argument repeated: '" + e.kwNames[i] + "'");
    args.keywords.emplace_back(e.kwNames[i], std::move(v));
  }
  return Status::ok();
}

LLMC_NOINLINE Result<Value> Renderer::evalCall(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value callee, eval(*e.children[0]));
  if (callee.isUndefined())
    return fail(e.pos, callee.undefinedMessage());
  if (callee.kind() != Kind::Callable)
    return fail(e.pos, std::string("'") + callee.typeName() +
                           "' object is not callable");
  Args args;
  LLMC_RETURN_IF_ERROR(evalArgs(e, 1, args));
  if (callee.callableKind() == CallableKind::Method)
    LLMC_RETURN_IF_ERROR(
        locate(e.pos, charge(callee.callableSelf().asString().size() / 16)));
  // Macros skip callValue's large frame: they are what recurses.
  auto result = callee.callableKind() == CallableKind::Macro
                    ? callMacro(*callee.callableMacro(), args)
                    : callValue(callee, args);
  if (!result.ok())
    return locate(e.pos, result.status());
  Status size = checkSize(result.value());
  if (size.isError())
    return fail(e.pos, size.message());
  return result;
}

LLMC_NOINLINE Result<Value> Renderer::evalFilterOrTest(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value operand, eval(*e.children[0]));
  bool filter = e.kind == ExprKind::Filter;
  if (!e.known)
    return fail(e.pos, std::string(filter ? "unknown filter '"
                                          : "unknown test '") +
                           e.name + "'");
  Args args;
  LLMC_RETURN_IF_ERROR(evalArgs(e, 1, args));
  LLMC_RETURN_IF_ERROR(locate(e.pos, charge(operand.asString().size() / 16)));
  if (filter) {
    auto result = applyFilter(e.name, operand, args);
    if (!result.ok())
      return locate(e.pos, result.status().withContext("filter '" + e.name +
                                                       "'"));
    Status size = checkSize(result.value());
    if (size.isError())
      return fail(e.pos, size.message());
    return result;
  }
  auto result = applyTest(e.name, operand, args);
  if (!result.ok())
    return locate(e.pos, result.status().withContext("test '" + e.name + "'"));
  return Value::boolean(result.value() != e.negated);
}

LLMC_NOINLINE Result<Value> Renderer::evalUnary(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
  if (e.kind == ExprKind::Not)
    return Value::boolean(!v.truthy());
  if (v.isUndefined())
    return fail(e.pos, v.undefinedMessage());
  bool neg = e.kind == ExprKind::Neg;
  if (v.isIntLike()) {
    if (!neg)
      return Value::integer(v.asInt());
    if (v.asInt() == std::numeric_limits<int64_t>::min())
      return fail(e.pos, overflow().message());
    return Value::integer(-v.asInt());
  }
  if (v.kind() == Kind::Float)
    return Value::real(neg ? -v.asDouble() : v.asDouble());
  return fail(e.pos, std::string("bad operand type for unary ") +
                         (neg ? "-" : "+") + ": '" + v.typeName() + "'");
}

LLMC_NOINLINE Result<Value> Renderer::evalBinary(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value a, eval(*e.children[0]));
  LLMC_ASSIGN_OR_RETURN(Value b, eval(*e.children[1]));
  Result<Value> result = Value();
  if (e.binop == BinOp::Concat) {
    auto x = toStr(a, &meter_);
    if (!x.ok())
      return fail(e.pos, x.message());
    auto y = toStr(b, &meter_);
    if (!y.ok())
      return fail(e.pos, y.message());
    if (x.value().size() + y.value().size() > limits_.maxOutputBytes)
      return fail(e.pos, "string longer than " +
                             std::to_string(limits_.maxOutputBytes) + " bytes");
    result = Value::string(x.value() + y.value());
  } else {
    if (a.isUndefined())
      return fail(e.pos, a.undefinedMessage());
    if (b.isUndefined())
      return fail(e.pos, b.undefinedMessage());
    result = binaryOp(e.binop, a, b, limits_.maxOutputBytes,
                      limits_.maxListItems);
    if (!result.ok())
      return fail(e.pos, result.message());
  }
  Status size = checkSize(result.value());
  if (size.isError())
    return fail(e.pos, size.message());
  return result;
}

namespace {

Result<bool> contains(const Value &container, const Value &item,
                      WorkMeter *meter) {
  switch (container.kind()) {
  case Kind::String:
    if (!item.isString())
      return Status::error(std::string("'in <string>' requires string as left "
                                       "operand, not ") +
                           item.typeName());
    // A naive search can take haystack * needle steps.
    LLMC_RETURN_IF_ERROR(meter->charge(
        container.asString().size() * (item.asString().size() + 1) / 16 + 1));
    return container.asString().find(item.asString()) != std::string::npos;
  case Kind::List:
    for (const Value &v : container.asList()) {
      LLMC_ASSIGN_OR_RETURN(bool same, valuesEqual(v, item, meter));
      if (same)
        return true;
    }
    return false;
  case Kind::Dict:
    if ((item.isList() && !item.isTuple()) || item.isDict())
      return Status::error(std::string("unhashable type: '") +
                           item.typeName() + "'");
    return item.isString() && container.dictFind(item.asString()) != nullptr;
  case Kind::Undefined:
    return false;
  default:
    return Status::error(std::string("argument of type '") +
                         container.typeName() + "' is not iterable");
  }
}

} // namespace

LLMC_NOINLINE Result<Value> Renderer::evalCompare(const Expr &e) {
  LLMC_ASSIGN_OR_RETURN(Value left, eval(*e.children[0]));
  for (size_t i = 0; i < e.cmpops.size(); ++i) {
    LLMC_ASSIGN_OR_RETURN(Value right, eval(*e.children[i + 1]));
    CmpOp op = e.cmpops[i];
    size_t pos = e.children[i + 1]->pos;
    LLMC_RETURN_IF_ERROR(
        locate(pos, charge(left.asList().size() + right.asList().size() +
                           left.asDict().size() + right.asDict().size())));
    bool holds = false;
    switch (op) {
    case CmpOp::Eq:
    case CmpOp::Ne: {
      auto same = valuesEqual(left, right, &meter_);
      if (!same.ok())
        return fail(pos, same.message());
      holds = same.value() == (op == CmpOp::Eq);
      break;
    }
    case CmpOp::In:
    case CmpOp::NotIn: {
      auto in = contains(right, left, &meter_);
      if (!in.ok())
        return fail(pos, in.message());
      holds = in.value() == (op == CmpOp::In);
      break;
    }
    default: {
      if (left.isUndefined())
        return fail(pos, left.undefinedMessage());
      if (right.isUndefined())
        return fail(pos, right.undefinedMessage());
      auto order = compareValues(left, right, &meter_);
      if (!order.ok()) {
        static const char *const kSymbols[] = {"==", "!=", "<", "<=",
                                               ">",  ">="};
        return fail(pos, std::string("'") + kSymbols[static_cast<int>(op)] +
                             "' " + order.message());
      }
      int c = order.value();
      holds = op == CmpOp::Lt   ? c < 0
              : op == CmpOp::Le ? c <= 0
              : op == CmpOp::Gt ? c > 0
                                : c >= 0;
      break;
    }
    }
    if (!holds)
      return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

} // namespace chat
} // namespace llmc
