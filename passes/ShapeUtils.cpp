//===- ShapeUtils.cpp - symbolic sizes shared by the passes ------------------===//

#include "passes/ShapeUtils.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace llmc {
SmallVector<func::FuncOp> getEntries(ModuleOp module) {
  SmallVector<func::FuncOp> entries;
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr(llm::LLMDialect::kEntryAttrName))
      entries.push_back(func);
  return entries;
}

std::string printSymbolicSizes(ArrayRef<AffineExpr> sizes,
                               ArrayRef<StringRef> symbolNames) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i)
      os << ", ";
    std::string expr;
    llvm::raw_string_ostream es(expr);
    sizes[i].print(es);
    // Replace s<k> by the symbol's name for readable messages.
    for (size_t k = symbolNames.size(); k-- > 0;) {
      std::string key = "s" + std::to_string(k);
      for (size_t pos; (pos = expr.find(key)) != std::string::npos;)
        expr.replace(pos, key.size(), symbolNames[k].str());
    }
    os << expr;
  }
  os << "]";
  return text;
}
} // namespace llmc
