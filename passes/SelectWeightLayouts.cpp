//===- SelectWeightLayouts.cpp - each weight's layout for the target ----------===//

#include "passes/Passes.h"

#include "dialects/llm/IR/LLMDialect.h"

namespace llmc {
#define GEN_PASS_DEF_SELECTWEIGHTLAYOUTS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {
struct SelectWeightLayoutsPass
    : public llmc::impl::SelectWeightLayoutsBase<SelectWeightLayoutsPass> {
  using SelectWeightLayoutsBase::SelectWeightLayoutsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (rowGroup != 0 && rowGroup != 8 && rowGroup != 16) {
      module.emitError() << "row-group must be 0, 8 or 16, got "
                         << static_cast<int64_t>(rowGroup);
      return signalPassFailure();
    }
    if (rowGroup == 0 && !split)
      return;
    WeightLayout layout = split            ? WeightLayout::split
                          : rowGroup == 16 ? WeightLayout::rows16
                                           : WeightLayout::rows8;
    // How each weight is used: as a linear's matrix, or otherwise.
    DenseSet<StringAttr> asMatrix, otherwise;
    module.walk([&](WeightRefOp ref) {
      for (Operation *user : ref->getUsers()) {
        auto linear = dyn_cast<LinearOp>(user);
        bool matrix = linear && linear.getWeight() == ref.getResult();
        (matrix ? asMatrix : otherwise).insert(ref.getNameAttr().getAttr());
      }
    });
    DenseMap<StringAttr, WeightType> newTypes;
    for (auto weight : module.getOps<WeightOp>()) {
      WeightType type = weight.getWeightType();
      StringAttr name = weight.getSymNameAttr();
      bool blockQuantized = type.getFormat() == WeightFormat::q8_0 ||
                            type.getFormat() == WeightFormat::q4_0;
      if (!blockQuantized || type.getRank() != 2 || type.getLayout() == layout)
        continue;
      if (!split && (type.getShape()[0] % rowGroup || !asMatrix.contains(name) ||
                     otherwise.contains(name)))
        continue;
      auto newType = WeightType::get(&getContext(), type.getShape(),
                                     type.getFormat(), layout);
      weight.setTypeAttr(TypeAttr::get(newType));
      newTypes[name] = newType;
    }
    module.walk([&](WeightRefOp ref) {
      auto it = newTypes.find(ref.getNameAttr().getAttr());
      if (it != newTypes.end())
        ref.getResult().setType(it->second);
    });
  }
};
} // namespace
