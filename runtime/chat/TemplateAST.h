//===- TemplateAST.h - parsed chat templates --------------------*- C++ -*-===//
//
// The syntax tree the parser (TemplateParser.cpp) builds and the renderer
// (TemplateRenderer.cpp) walks. Every node records the byte offset in the
// template source it came from, for error messages (line:col).
//
// Internal to runtime/chat; the public API is ChatTemplate.h.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_CHAT_TEMPLATEAST_H
#define LLMC_RUNTIME_CHAT_TEMPLATEAST_H

#include "runtime/chat/TemplateValue.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {
namespace chat {

/// Parse-time bounds: source size, nesting of blocks and expressions, and
/// the depth of one expression's tree (a + b + c + ... is as deep as it is
/// long). They keep parsing, rendering and freeing the tree off deep
/// recursion.
constexpr size_t kMaxSourceBytes = 1 << 20;
constexpr int kMaxParseNesting = 64;
constexpr int kMaxExprDepth = 128;

enum class ExprKind {
  Literal,  // literal
  Name,     // name
  List,     // children: items
  Tuple,    // children: items
  Dict,     // children: key0, value0, key1, value1, ...
  Attr,     // children[0] . name
  Item,     // children[0] [ children[1] ]
  Slice,    // children[0] [ children[1] : children[2] : children[3] ] (nullable)
  Call,     // children[0] ( children[1..], kwNames = kwValues )
  Filter,   // children[0] | name ( children[1..], kw... )
  Test,     // children[0] is [not] name ( children[1..], kw... )
  Not,      // not children[0]
  Neg,      // - children[0]
  Pos,      // + children[0]
  Binary,   // children[0] binop children[1]
  Compare,  // children[0] cmpops[0] children[1] cmpops[1] children[2] ...
  And,      // children[0] and children[1]
  Or,       // children[0] or children[1]
  CondExpr, // children[0] if children[1] else children[2] (nullable)
};

enum class BinOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Concat };
enum class CmpOp { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::Literal;
  size_t pos = 0;
  int depth = 1;
  Value literal;
  std::string name;
  BinOp binop = BinOp::Add;
  std::vector<CmpOp> cmpops;
  std::vector<ExprPtr> children;
  std::vector<std::string> kwNames;
  std::vector<ExprPtr> kwValues;
  bool negated = false; // Test: `is not`
  bool known = true;    // Filter/Test: the name exists (else fails when run)
};

enum class StmtKind {
  Text,       // text
  Output,     // {{ expr }}
  If,         // conds[i] -> bodies[i]; bodies.back() is the else body when
              // bodies.size() > conds.size()
  For,        // for targets in expr [if filter]: bodies[0] [else bodies[1]]
  Set,        // set targets = expr (targetAttr: targets = {namespace, attr})
  SetBlock,   // set targets[0] %} bodies[0] {% endset
  Break,
  Continue,
  MacroDef,   // macro
  Generation, // {% generation %} bodies[0] {% endgeneration %} (transformers)
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct Macro {
  std::string name;
  size_t pos = 0;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults; // one per param, null when none
  StmtList body;
};

struct Stmt {
  StmtKind kind = StmtKind::Text;
  size_t pos = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<ExprPtr> conds;
  std::vector<StmtList> bodies;
  std::vector<std::string> targets;
  bool targetAttr = false;
  std::unique_ptr<Macro> macro;
};

struct Program {
  /// The source after newline normalization (\r\n and \r become \n, one
  /// trailing newline dropped), which positions refer to.
  std::string source;
  StmtList body;
};

/// Parses a template the way jinja2 does with trim_blocks and
/// lstrip_blocks on. Errors read "LINE:COL: problem".
Result<std::unique_ptr<Program>> parseTemplate(const std::string &source);

/// "LINE:COL" of a byte offset (columns count code points, from 1).
std::string describePosition(const std::string &source, size_t pos);

// Names the parser accepts (TemplateBuiltins.cpp).
bool isKnownFilter(const std::string &name);
bool isKnownTest(const std::string &name);

} // namespace chat
} // namespace llmc

#endif // LLMC_RUNTIME_CHAT_TEMPLATEAST_H
