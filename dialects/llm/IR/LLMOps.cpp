//===- LLMOps.cpp - llm op verifiers ---------------------------------------===//

#include "dialects/llm/IR/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace llmc::llm;

namespace {
/// Two dimensions agree unless both are static and differ.
bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

std::string dimString(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

/// Checks that `actual` has the shape `expected` (dynamic dims agree with
/// anything), naming `what` in the message.
LogicalResult checkShape(Operation *op, StringRef what,
                         RankedTensorType actual, ArrayRef<int64_t> expected) {
  auto describe = [](ArrayRef<int64_t> shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      s += (i ? ", " : "") + dimString(shape[i]);
    return s + "]";
  };
  bool ok = actual.getRank() == static_cast<int64_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i)
    ok = dimsAgree(actual.getDimSize(i), expected[i]);
  if (!ok)
    return op->emitOpError() << what << " must have shape "
                             << describe(expected) << ", got "
                             << describe(actual.getShape());
  return success();
}

/// Only the leading dimension of an activation may vary per call.
LogicalResult checkOnlyLeadingDimDynamic(Operation *op, StringRef what,
                                         RankedTensorType type) {
  for (int64_t i = 1; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      return op->emitOpError() << what << " may only have a dynamic leading "
                               << "dimension, but dimension " << i
                               << " is dynamic";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Weight table
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getSources().empty())
    return emitOpError() << "must name at least one source tensor";
  return success();
}

LogicalResult
WeightRefOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto decl =
      symbolTable.lookupNearestSymbolFrom<WeightOp>(*this, getNameAttr());
  if (!decl)
    return emitOpError() << "refers to '" << getName()
                         << "', which is not an llm.weight";
  if (decl.getWeightType() != getResult().getType())
    return emitOpError() << "type " << getResult().getType()
                         << " differs from the declaration's "
                         << decl.getWeightType();
  return success();
}

//===----------------------------------------------------------------------===//
// Step inputs
//===----------------------------------------------------------------------===//

ArrayRef<std::pair<StringRef, int64_t>> StepInputOp::knownFields() {
  static const std::pair<StringRef, int64_t> fields[] = {
      {"tokens", 1},  {"positions", 1},    {"seq_ids", 1},
      {"slots", 1},   {"block_tables", 2}, {"out_rows", 1},
  };
  return fields;
}

LogicalResult StepInputOp::verify() {
  auto type = getResult().getType();
  const std::pair<StringRef, int64_t> *known = nullptr;
  for (const auto &field : knownFields())
    if (field.first == getField())
      known = &field;
  if (!known) {
    std::string names;
    for (const auto &field : knownFields())
      names += (names.empty() ? "" : ", ") + field.first.str();
    return emitOpError() << "unknown step field '" << getField()
                         << "' (known: " << names << ")";
  }
  if (type.getRank() != known->second)
    return emitOpError() << "step field '" << getField() << "' has rank "
                         << known->second << ", got " << type.getRank();
  if (static_cast<int64_t>(getDynamicSizes().size()) != type.getNumDynamicDims())
    return emitOpError() << "needs one size per dynamic dimension: "
                         << type.getNumDynamicDims() << " expected, "
                         << getDynamicSizes().size() << " given";
  return checkOnlyLeadingDimDynamic(*this, "a step field", type);
}

//===----------------------------------------------------------------------===//
// Model ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  WeightType table = getTable().getType();
  if (table.getRank() != 2)
    return emitOpError() << "table must be a matrix, got rank "
                         << table.getRank();
  auto tokens = getTokens().getType();
  if (tokens.getRank() != 1)
    return emitOpError() << "tokens must be a vector, got rank "
                         << tokens.getRank();
  return checkShape(*this, "result", getResult().getType(),
                    {tokens.getDimSize(0), table.getShape()[1]});
}

LogicalResult RMSNormOp::verify() {
  auto input = getInput().getType();
  WeightType gamma = getGamma().getType();
  if (gamma.getRank() != 1)
    return emitOpError() << "gamma must be a vector, got rank "
                         << gamma.getRank();
  if (gamma.getFormat() != WeightFormat::f32 &&
      gamma.getFormat() != WeightFormat::f16 &&
      gamma.getFormat() != WeightFormat::bf16)
    return emitOpError() << "gamma must be stored as a float format, got "
                         << stringifyWeightFormat(gamma.getFormat());
  if (!dimsAgree(input.getShape().back(), gamma.getShape()[0]))
    return emitOpError() << "gamma has " << gamma.getShape()[0]
                         << " elements but the input's last dimension is "
                         << dimString(input.getShape().back());
  if (!(getEps().convertToFloat() > 0))
    return emitOpError() << "eps must be positive";
  if (input != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  return checkOnlyLeadingDimDynamic(*this, "input", input);
}

LogicalResult QuantizeActOp::verify() {
  auto input = getInput().getType();
  int64_t k = input.getShape().back();
  if (ShapedType::isDynamic(k) || k % 32)
    return emitOpError() << "rows must have a static multiple of 32 elements, "
                            "got "
                         << dimString(k);
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = rowBytes(k);
  if (failed(checkShape(*this, "result", getResult().getType(), expected)))
    return failure();
  return checkOnlyLeadingDimDynamic(*this, "input", input);
}

LogicalResult LinearOp::verify() {
  auto input = getInput().getType();
  WeightType weight = getWeight().getType();
  if (weight.getRank() != 2)
    return emitOpError() << "weight must be a matrix, got rank "
                         << weight.getRank();
  int64_t rows = weight.getShape()[0], cols = weight.getShape()[1];
  if (input.getElementType().isInteger(8)) {
    if (formatBlockElements(weight.getFormat()) != 32)
      return emitOpError() << "quantized activations need a q8_0 or q4_0 "
                              "weight, got "
                           << stringifyWeightFormat(weight.getFormat());
    if (input.getShape().back() != QuantizeActOp::rowBytes(cols))
      return emitOpError() << "quantized input rows must have "
                           << QuantizeActOp::rowBytes(cols) << " bytes for "
                           << cols << " columns, got "
                           << dimString(input.getShape().back());
  } else if (!dimsAgree(input.getShape().back(), cols))
    return emitOpError() << "input's last dimension ("
                         << dimString(input.getShape().back())
                         << ") must equal the weight's column count (" << cols
                         << ")";
  if (Value bias = getBias()) {
    auto biasType = cast<WeightType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getShape()[0] != rows)
      return emitOpError() << "bias must be a vector of " << rows
                           << " elements";
  }
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = rows;
  if (failed(checkShape(*this, "result", getResult().getType(), expected)))
    return failure();
  return checkOnlyLeadingDimDynamic(*this, "input", input);
}

LogicalResult RopeOp::verify() {
  auto input = getInput().getType();
  if (input.getRank() != 3)
    return emitOpError() << "input must be [tokens, heads, head_dim], got rank "
                         << input.getRank();
  int64_t headDim = input.getDimSize(2);
  if (ShapedType::isDynamic(headDim) || headDim % 2)
    return emitOpError() << "head_dim must be static and even, got "
                         << dimString(headDim);
  if (failed(checkShape(*this, "positions", getPositions().getType(),
                        {input.getDimSize(0)})))
    return failure();
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError() << "theta must be positive";
  if (input != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  return checkOnlyLeadingDimDynamic(*this, "input", input);
}

/// Checks keys/values/queries against the cache's head layout and layer count.
static LogicalResult checkCacheUse(Operation *op, KVCacheType cache,
                                   int64_t layer) {
  if (layer < 0 || layer >= cache.getLayers())
    return op->emitOpError() << "layer " << layer << " is out of range: the "
                             << "cache has " << cache.getLayers() << " layers";
  return success();
}

LogicalResult KVAppendOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(checkCacheUse(*this, cache, getLayer())))
    return failure();
  auto keys = getKeys().getType();
  int64_t tokens = keys.getRank() ? keys.getDimSize(0) : 0;
  SmallVector<int64_t> expected = {tokens, cache.getKvHeads(),
                                   cache.getHeadDim()};
  if (failed(checkShape(*this, "keys", keys, expected)) ||
      failed(checkShape(*this, "values", getValues().getType(), expected)) ||
      failed(checkShape(*this, "slots", getSlots().getType(), {tokens})))
    return failure();
  return success();
}

LogicalResult AttentionOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(checkCacheUse(*this, cache, getLayer())))
    return failure();
  auto query = getQuery().getType();
  if (query.getRank() != 3)
    return emitOpError() << "query must be [tokens, heads, head_dim], got rank "
                         << query.getRank();
  int64_t heads = query.getDimSize(1);
  if (ShapedType::isDynamic(heads) || heads % cache.getKvHeads() != 0)
    return emitOpError() << "query heads (" << dimString(heads)
                         << ") must be a multiple of the cache's kv heads ("
                         << cache.getKvHeads() << ")";
  if (query.getDimSize(2) != cache.getHeadDim())
    return emitOpError() << "query head_dim (" << dimString(query.getDimSize(2))
                         << ") must equal the cache's head_dim ("
                         << cache.getHeadDim() << ")";
  int64_t tokens = query.getDimSize(0);
  if (failed(checkShape(*this, "positions", getPositions().getType(),
                        {tokens})) ||
      failed(checkShape(*this, "seq_ids", getSeqIds().getType(), {tokens})))
    return failure();
  if (getBlockTables().getType().getRank() != 2)
    return emitOpError() << "block_tables must be [sequences, blocks]";
  if (!(getScale().convertToFloat() > 0))
    return emitOpError() << "scale must be positive";
  if (query != getResult().getType())
    return emitOpError() << "result type must equal the query type";
  return checkOnlyLeadingDimDynamic(*this, "query", query);
}

LogicalResult ArgmaxOp::verify() {
  auto input = getInput().getType();
  SmallVector<int64_t> expected(input.getShape().drop_back());
  return checkShape(*this, "result", getResult().getType(), expected);
}

LogicalResult ReshapeOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  if (failed(checkOnlyLeadingDimDynamic(*this, "input", input)) ||
      failed(checkOnlyLeadingDimDynamic(*this, "result", result)))
    return failure();
  if (input.getRank() < 1 || result.getRank() < 1 ||
      input.isDynamicDim(0) != result.isDynamicDim(0))
    return emitOpError() << "input and result must both have a dynamic "
                            "leading dimension, or neither";
  auto product = [](RankedTensorType type, int64_t from) {
    int64_t n = 1;
    for (int64_t i = from; i < type.getRank(); ++i)
      n *= type.getDimSize(i);
    return n;
  };
  int64_t from = input.isDynamicDim(0) ? 1 : 0;
  if (product(input, from) != product(result, from))
    return emitOpError() << "must keep the element count: "
                         << product(input, from) << " vs "
                         << product(result, from) << " per leading index";
  return success();
}

LogicalResult TransposeOp::verify() {
  auto input = getInput().getType();
  ArrayRef<int64_t> perm = getPermutation();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOpError() << "permutation has " << perm.size()
                         << " entries for a rank-" << input.getRank()
                         << " input";
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> expected;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return emitOpError() << "permutation must be a permutation of [0, "
                           << input.getRank() << ")";
    seen[p] = true;
    expected.push_back(input.getDimSize(p));
  }
  return checkShape(*this, "result", getResult().getType(), expected);
}

LogicalResult SelectRowsOp::verify() {
  auto input = getInput().getType();
  if (input.getRank() != 2)
    return emitOpError() << "input must be a matrix, got rank "
                         << input.getRank();
  auto rows = getRows().getType();
  if (rows.getRank() != 1)
    return emitOpError() << "rows must be a vector";
  return checkShape(*this, "result", getResult().getType(),
                    {rows.getDimSize(0), input.getDimSize(1)});
}

//===----------------------------------------------------------------------===//
// Dispatch regions and kernels
//===----------------------------------------------------------------------===//

LogicalResult DispatchRegionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments for " << getInputs().size()
                         << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError() << "body argument #" << arg.getArgNumber()
                           << " has type " << arg.getType()
                           << " but its input has type " << input.getType();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (!llvm::equal(yield.getValues().getTypes(), getResultTypes()))
    return emitOpError() << "yields " << yield.getValues().size()
                         << " values whose types differ from the results";
  return success();
}

/// The kernel a dispatch or launch names, or an error.
static FailureOr<func::FuncOp> lookupKernel(Operation *op,
                                           FlatSymbolRefAttr name,
                                           SymbolTableCollection &table) {
  auto kernel = table.lookupNearestSymbolFrom<func::FuncOp>(op, name);
  if (!kernel || !kernel->hasAttr("llm.kernel"))
    return op->emitOpError() << "refers to '" << name.getValue()
                             << "', which is not an llm.kernel function";
  return kernel;
}

LogicalResult DispatchOp::verifySymbolUses(SymbolTableCollection &table) {
  FailureOr<func::FuncOp> kernel = lookupKernel(*this, getKernelAttr(), table);
  if (failed(kernel))
    return failure();
  FunctionType type = kernel->getFunctionType();
  if (!llvm::equal(type.getInputs(), getInputs().getTypes()) ||
      !llvm::equal(type.getResults(), getResultTypes()))
    return emitOpError() << "operand or result types differ from the "
                            "kernel's signature "
                         << type;
  return success();
}

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &table) {
  FailureOr<func::FuncOp> kernel = lookupKernel(*this, getKernelAttr(), table);
  if (failed(kernel))
    return failure();
  FunctionType type = kernel->getFunctionType();
  if (type.getNumInputs() != getInputs().size() ||
      type.getNumResults() != getOutputs().size())
    return emitOpError() << "has " << getInputs().size() << " inputs and "
                         << getOutputs().size() << " outputs but the kernel "
                         << "takes " << type.getNumInputs() << " and returns "
                         << type.getNumResults();
  return success();
}

#define GET_OP_CLASSES
#include "dialects/llm/IR/LLMOps.cpp.inc"
