//===- LLMTypes.cpp - llm attributes and types ----------------------------===//

#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llmc::llm;

#include "dialects/llm/IR/LLMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llm/IR/LLMAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/llm/IR/LLMTypes.cpp.inc"

void LLMDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/llm/IR/LLMAttrs.cpp.inc"
      >();
}

void LLMDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/llm/IR/LLMTypes.cpp.inc"
      >();
}

namespace llmc::llm {
int64_t formatBlockElements(WeightFormat format) {
  switch (format) {
  case WeightFormat::f32:
  case WeightFormat::f16:
  case WeightFormat::bf16:
    return 1;
  case WeightFormat::q8_0:
  case WeightFormat::q4_0:
    return 32;
  case WeightFormat::q4_k:
  case WeightFormat::q6_k:
    return 256;
  }
  llvm_unreachable("unknown weight format");
}

int64_t formatBlockBytes(WeightFormat format) {
  switch (format) {
  case WeightFormat::f32:
    return 4;
  case WeightFormat::f16:
  case WeightFormat::bf16:
    return 2;
  case WeightFormat::q8_0:
    return 34; // f16 scale + 32 int8
  case WeightFormat::q4_0:
    return 18; // f16 scale + 16 bytes of nibbles
  case WeightFormat::q4_k:
    return 144; // f16 d, f16 dmin, 12 bytes of 6-bit scales, 128 bytes nibbles
  case WeightFormat::q6_k:
    return 210; // 128 low nibbles, 64 high bits, 16 int8 scales, f16 d
  }
  llvm_unreachable("unknown weight format");
}
} // namespace llmc::llm

//===----------------------------------------------------------------------===//
// SymbolAttr, RopeScalingAttr
//===----------------------------------------------------------------------===//

LogicalResult SymbolAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 StringRef name, int64_t max) {
  if (name.empty())
    return emitError() << "symbol name must not be empty";
  if (max < 1)
    return emitError() << "symbol '" << name
                       << "' must have a maximum of at least 1, got " << max;
  return success();
}

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        RopeScalingKind kind, APFloat factor,
                        APFloat lowFreqFactor, APFloat highFreqFactor,
                        int64_t originalMaxPosition) {
  double f = factor.convertToDouble(), low = lowFreqFactor.convertToDouble(),
         high = highFreqFactor.convertToDouble();
  if (!(f > 0))
    return emitError() << "rope scaling factor must be positive, got " << f;
  if (kind == RopeScalingKind::llama3) {
    if (!(low > 0) || !(high > low))
      return emitError() << "llama3 rope scaling needs 0 < low_freq_factor < "
                            "high_freq_factor, got "
                         << low << " and " << high;
    if (originalMaxPosition < 1)
      return emitError()
             << "llama3 rope scaling needs original_max_position >= 1";
  }
  return success();
}

Attribute RopeScalingAttr::parse(AsmParser &parser, Type) {
  StringRef kindName;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&kindName))
    return {};
  std::optional<RopeScalingKind> kind = symbolizeRopeScalingKind(kindName);
  if (!kind) {
    parser.emitError(loc) << "unknown rope scaling '" << kindName
                          << "' (expected none, linear or llama3)";
    return {};
  }
  double factor = 1.0, low = 1.0, high = 4.0;
  int64_t originalMax = 8192;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    LogicalResult parsed =
        key == "factor"            ? parser.parseFloat(factor)
        : key == "low_freq_factor"  ? parser.parseFloat(low)
        : key == "high_freq_factor" ? parser.parseFloat(high)
        : key == "original_max_position"
            ? parser.parseInteger(originalMax)
            : (parser.emitError(keyLoc)
                   << "unknown rope scaling parameter '" << key << "'",
               failure());
    if (failed(parsed))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<RopeScalingAttr>(
      parser.getContext(), *kind, APFloat(factor), APFloat(low), APFloat(high),
      originalMax);
}

void RopeScalingAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyRopeScalingKind(getKind());
  if (getKind() != RopeScalingKind::none)
    printer << ", factor = " << getFactor().convertToDouble();
  if (getKind() == RopeScalingKind::llama3)
    printer << ", low_freq_factor = " << getLowFreqFactor().convertToDouble()
            << ", high_freq_factor = " << getHighFreqFactor().convertToDouble()
            << ", original_max_position = " << getOriginalMaxPosition();
  printer << ">";
}

//===----------------------------------------------------------------------===//
// WeightType: !llm.weight<2048x2048, q4_0[, rows16]>
//===----------------------------------------------------------------------===//

Type WeightType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma())
    return {};
  StringRef formatName;
  SMLoc formatLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&formatName))
    return {};
  std::optional<WeightFormat> format = symbolizeWeightFormat(formatName);
  if (!format) {
    parser.emitError(formatLoc) << "unknown weight format '" << formatName
                                << "' (expected f32, f16, bf16, q8_0, q4_0, "
                                   "q4_k or q6_k)";
    return {};
  }
  WeightLayout layout = WeightLayout::plain;
  if (succeeded(parser.parseOptionalComma())) {
    StringRef layoutName;
    SMLoc layoutLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&layoutName))
      return {};
    std::optional<WeightLayout> parsed = symbolizeWeightLayout(layoutName);
    if (!parsed) {
      parser.emitError(layoutLoc)
          << "unknown weight layout '" << layoutName << "'";
      return {};
    }
    layout = *parsed;
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<WeightType>(parser.getContext(), shape, *format,
                                       layout);
}

void WeightType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer, "x");
  printer << ", " << stringifyWeightFormat(getFormat());
  if (getLayout() != WeightLayout::plain)
    printer << ", " << stringifyWeightLayout(getLayout());
  printer << ">";
}

LogicalResult WeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, WeightFormat format,
                                 WeightLayout layout) {
  if (shape.empty() || shape.size() > 2)
    return emitError() << "weight must have rank 1 or 2, got rank "
                       << shape.size();
  for (int64_t dim : shape)
    if (dim < 1)
      return emitError() << "weight dimensions must be positive";
  int64_t block = formatBlockElements(format);
  if (shape.back() % block != 0)
    return emitError() << "weight format " << stringifyWeightFormat(format)
                       << " needs rows that are a multiple of " << block
                       << " elements, got " << shape.back();
  int64_t group = layout == WeightLayout::rows16 ? 16
                  : layout == WeightLayout::rows8 ? 8
                                                  : 0;
  if (group && (shape.size() != 2 || shape[0] % group))
    return emitError() << "layout " << stringifyWeightLayout(layout)
                       << " needs a matrix with a multiple of " << group
                       << " rows";
  if ((group || layout == WeightLayout::split) &&
      format != WeightFormat::q8_0 && format != WeightFormat::q4_0)
    return emitError() << "layout " << stringifyWeightLayout(layout)
                       << " holds q8_0 or q4_0 weights, not "
                       << stringifyWeightFormat(format);
  return success();
}

int64_t WeightType::getNumElements() const {
  int64_t n = 1;
  for (int64_t dim : getShape())
    n *= dim;
  return n;
}

int64_t WeightType::getStorageBytes() const {
  int64_t blocks = getNumElements() / formatBlockElements(getFormat());
  if (getLayout() == WeightLayout::split) {
    // Quants of all blocks, then the f16 scales padded to 16 bytes.
    int64_t quantBytes = formatBlockBytes(getFormat()) - 2;
    return blocks * quantBytes + (blocks * 2 + 15) / 16 * 16;
  }
  return blocks * formatBlockBytes(getFormat());
}

//===----------------------------------------------------------------------===//
// KVCacheType
//===----------------------------------------------------------------------===//

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t layers, int64_t kvHeads,
                                  int64_t headDim, int64_t blockSize,
                                  Type elementType) {
  if (layers < 1 || kvHeads < 1 || headDim < 1 || blockSize < 1)
    return emitError() << "kv_cache sizes must be positive";
  if (!elementType.isF32() && !elementType.isF16())
    return emitError() << "kv_cache element type must be f32 or f16, got "
                       << elementType;
  return success();
}
