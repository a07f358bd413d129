//===- AssignWeightFormats.cpp - each weight's storage format ----------------===//

#include "passes/Passes.h"

#include "dialects/llm/IR/LLMDialect.h"

namespace llmc {
#define GEN_PASS_DEF_ASSIGNWEIGHTFORMATS
#include "passes/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc::llm;

namespace {
std::optional<WeightFormat> parseQuant(StringRef name) {
  if (name == "f32") return WeightFormat::f32;
  if (name == "f16") return WeightFormat::f16;
  if (name == "q8" || name == "q8_0") return WeightFormat::q8_0;
  if (name == "q4" || name == "q4_0") return WeightFormat::q4_0;
  return std::nullopt;
}

bool isFloatFormat(WeightFormat f) {
  return f == WeightFormat::f32 || f == WeightFormat::f16 ||
         f == WeightFormat::bf16;
}

struct AssignWeightFormatsPass
    : public llmc::impl::AssignWeightFormatsBase<AssignWeightFormatsPass> {
  using AssignWeightFormatsBase::AssignWeightFormatsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<WeightFormat> floatTarget = parseQuant(quant);
    if (!floatTarget) {
      module.emitError() << "unknown --quant '" << quant
                         << "' (expected f32, f16, q8 or q4)";
      return signalPassFailure();
    }
    WeightFormat outputTarget =
        *floatTarget == WeightFormat::q4_0 ? WeightFormat::q8_0 : *floatTarget;
    if (!quantOutput.empty()) {
      std::optional<WeightFormat> parsed = parseQuant(quantOutput);
      if (!parsed) {
        module.emitError() << "unknown --quant-output '" << quantOutput
                           << "' (expected f32, f16, q8 or q4)";
        return signalPassFailure();
      }
      outputTarget = *parsed;
    }

    DenseMap<StringAttr, WeightType> newTypes;
    for (auto weight : module.getOps<WeightOp>()) {
      WeightType type = weight.getWeightType();
      WeightFormat source = type.getFormat();
      WeightFormat format = source;
      if (type.getRank() == 1) {
        format = WeightFormat::f32;
      } else if (isFloatFormat(source)) {
        StringRef name = weight.getSymName();
        bool isOutputOrEmbedding = name == "output" || name == "token_embd";
        format = isOutputOrEmbedding ? outputTarget : *floatTarget;
        int64_t block = formatBlockElements(format);
        if (type.getShape().back() % block)
          format = WeightFormat::f16;
      } else if (source == WeightFormat::q4_k || source == WeightFormat::q6_k) {
        if (!nativeKQuants)
          format = WeightFormat::q8_0; // upward: never lose precision
      }
      if (format == type.getFormat())
        continue;
      auto newType = WeightType::get(&getContext(), type.getShape(), format,
                                     type.getLayout());
      weight.setTypeAttr(TypeAttr::get(newType));
      newTypes[weight.getSymNameAttr()] = newType;
    }
    module.walk([&](WeightRefOp ref) {
      auto it = newTypes.find(ref.getNameAttr().getAttr());
      if (it != newTypes.end())
        ref.getResult().setType(it->second);
    });
  }
};
} // namespace
