//===- ProgramWriter.cpp - the planned module as a flatbuffers program ---------===//

#include "compiler/artifact/ProgramWriter.h"

#include "dialects/llm/IR/LLMDialect.h"
#include "passes/ShapeUtils.h"
#include "runtime/artifact/ProgramSchema.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AffineExprVisitor.h"

#include <map>
#include <set>
#include <nlohmann/json.hpp>

using namespace mlir;
using namespace llmc::llm;

namespace llmc {
namespace {
llvm::Error fail(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Appends the postfix code of an affine expression over symbols.
LogicalResult toPostfix(AffineExpr expr, std::vector<int64_t> &code) {
  if (auto c = dyn_cast<AffineConstantExpr>(expr)) {
    code.push_back(static_cast<int64_t>(ExprOp::Constant));
    code.push_back(c.getValue());
    return success();
  }
  if (auto s = dyn_cast<AffineSymbolExpr>(expr)) {
    code.push_back(static_cast<int64_t>(ExprOp::Symbol));
    code.push_back(s.getPosition());
    return success();
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin)
    return failure(); // dimensions cannot appear
  if (failed(toPostfix(bin.getLHS(), code)) ||
      failed(toPostfix(bin.getRHS(), code)))
    return failure();
  ExprOp op;
  switch (expr.getKind()) {
  case AffineExprKind::Add: op = ExprOp::Add; break;
  case AffineExprKind::Mul: op = ExprOp::Mul; break;
  case AffineExprKind::FloorDiv: op = ExprOp::FloorDiv; break;
  case AffineExprKind::CeilDiv: op = ExprOp::CeilDiv; break;
  case AffineExprKind::Mod: op = ExprOp::Mod; break;
  default: return failure();
  }
  code.push_back(static_cast<int64_t>(op));
  return success();
}

nlohmann::json attrToJson(Attribute attr) {
  if (auto s = dyn_cast<StringAttr>(attr))
    return s.getValue().str();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getType().isInteger(1) ? nlohmann::json(i.getValue().getBoolValue())
                                    : nlohmann::json(i.getInt());
  if (auto b = dyn_cast<BoolAttr>(attr))
    return b.getValue();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto d = dyn_cast<DictionaryAttr>(attr)) {
    nlohmann::json obj = nlohmann::json::object();
    for (NamedAttribute n : d)
      obj[n.getName().str()] = attrToJson(n.getValue());
    return obj;
  }
  return nullptr;
}

class Writer {
public:
  Writer(ModuleOp module, const TargetDescription &target)
      : module(module), target(target) {}

  llvm::Expected<std::vector<uint8_t>> run() {
    if (auto symbols = module->getAttrOfType<ArrayAttr>(kSymbolsAttrName))
      for (Attribute a : symbols)
        symbolNames.push_back(cast<StringAttr>(a).getValue().str());
    unsigned weightIndex = 0;
    for (auto weight : module.getOps<WeightOp>())
      weightIndices[weight.getSymName().str()] = weightIndex++;
    // Tables only read a row at a time (for the roofline's bytes per token).
    std::set<std::string> otherUses;
    module.walk([&](WeightRefOp ref) {
      for (Operation *user : ref->getUsers()) {
        bool embedding = false;
        if (auto launch = dyn_cast<LaunchOp>(user))
          if (auto kernel = module.lookupSymbol<func::FuncOp>(launch.getKernel()))
            embedding = !kernel.getBody().empty() &&
                        !kernel.getBody().front().getOps<EmbeddingOp>().empty();
        (embedding ? gathered : otherUses).insert(ref.getName().str());
      }
    });
    for (const std::string &name : otherUses)
      gathered.erase(name);
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("llm.kernel"))
        kernelIndices[func.getSymName().str()] = kernels.size(),
        kernels.push_back(func);

    std::vector<flatbuffers::Offset<fb::Kernel>> kernelOffsets;
    for (func::FuncOp kernel : kernels) {
      std::vector<uint32_t> workgroup = {1, 1, 1};
      if (auto wg = kernel->getAttrOfType<DenseI64ArrayAttr>(
              "llm.workgroup_size"))
        for (size_t i = 0; i < 3 && i < wg.size(); ++i)
          workgroup[i] = static_cast<uint32_t>(wg[i]);
      uint32_t bindings = 1 + kernel.getNumResults();
      for (Type t : kernel.getArgumentTypes())
        bindings += isa<KVCacheType>(t) ? 2 : 1;
      uint32_t binary = 0;
      for (size_t i = 0; i < target.binaries.size(); ++i)
        if (target.binaries[i].first == kernel.getSymName())
          binary = static_cast<uint32_t>(i);
      kernelOffsets.push_back(fb::CreateKernel(
          fbb, fbb.CreateString(kernel.getSymName().str()),
          fbb.CreateVector(workgroup), bindings, binary));
    }

    std::vector<flatbuffers::Offset<fb::Entry>> entries;
    std::optional<KVCacheType> kvType;
    for (func::FuncOp entry : getEntries(module)) {
      for (Type t : entry.getArgumentTypes())
        if (auto kv = dyn_cast<KVCacheType>(t))
          kvType = kv;
      auto written = writeEntry(entry);
      if (!written)
        return written.takeError();
      entries.push_back(*written);
    }
    if (!kvType)
      return fail("the module has no entry with a KV cache");

    std::vector<flatbuffers::Offset<fb::Weight>> weights;
    for (auto weight : module.getOps<WeightOp>()) {
      WeightType type = weight.getWeightType();
      std::vector<flatbuffers::Offset<flatbuffers::String>> sources;
      for (Attribute s : weight.getSources())
        sources.push_back(fbb.CreateString(cast<StringAttr>(s).getValue().str()));
      std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
      weights.push_back(fb::CreateWeight(
          fbb, fbb.CreateString(weight.getSymName().str()),
          fbb.CreateVector(sources), static_cast<uint8_t>(type.getFormat()),
          static_cast<uint8_t>(type.getLayout()), fbb.CreateVector(shape),
          static_cast<uint64_t>(type.getStorageBytes()),
          gathered.count(weight.getSymName().str()) > 0));
    }

    nlohmann::json config = nlohmann::json::object();
    if (auto model = module->getAttrOfType<DictionaryAttr>("llm.model"))
      config = attrToJson(model);
    int64_t contextLength = config.value("context_length", int64_t(0));
    auto kv = fb::CreateKVCache(
        fbb, kvType->getLayers(), kvType->getKvHeads(), kvType->getHeadDim(),
        kvType->getBlockSize(),
        kvType->getElementType().getIntOrFloatBitWidth() / 8, contextLength);

    std::vector<flatbuffers::Offset<flatbuffers::String>> features, symbols;
    for (const std::string &f : target.cpuFeatures)
      features.push_back(fbb.CreateString(f));
    for (const std::string &s : symbolNames)
      symbols.push_back(fbb.CreateString(s));
    auto targetOffset = fb::CreateTarget(
        fbb, fbb.CreateString(target.kind), fbb.CreateString(target.cpuName),
        fbb.CreateVector(features), target.bindingAlignment,
        target.subgroupSize, fbb.CreateString(target.profile));
    std::vector<flatbuffers::Offset<fb::Binary>> binaries;
    for (const auto &[name, data] : target.binaries)
      binaries.push_back(fb::CreateBinary(fbb, fbb.CreateString(name),
                                          fbb.CreateVector(data)));

    auto program = fb::CreateProgram(
        fbb, kProgramSchemaVersion, fbb.CreateString(LLMC_VERSION_STRING),
        targetOffset, fbb.CreateVector(symbols), fbb.CreateVector(entries),
        fbb.CreateVector(kernelOffsets), fbb.CreateVector(weights), kv,
        fbb.CreateVector(binaries), fbb.CreateString(config.dump()));
    fb::FinishProgramBuffer(fbb, program);
    return std::vector<uint8_t>(fbb.GetBufferPointer(),
                                fbb.GetBufferPointer() + fbb.GetSize());
  }

private:
  /// The symbol an index value stands for, as a position in the module list.
  std::optional<int> symbolPosition(func::FuncOp entry, Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg)
      return std::nullopt;
    auto symbol = entry.getArgAttrOfType<SymbolAttr>(arg.getArgNumber(),
                                                     LLMDialect::kSymbolAttrName);
    if (!symbol)
      return std::nullopt;
    for (size_t i = 0; i < symbolNames.size(); ++i)
      if (symbolNames[i] == symbol.getName())
        return static_cast<int>(i);
    return std::nullopt;
  }

  llvm::Expected<fb::Binding> resolve(Value v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return fail("a launch operand is an entry argument that is not the KV "
                  "cache");
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
      return resolve(def->getOperand(0));
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      if (!view.getSource().getDefiningOp<ArenaOp>())
        return fail("a view that is not of the arena");
      auto offset = view.getByteShift().getDefiningOp<arith::ConstantIndexOp>();
      auto bytes = view->getAttrOfType<IntegerAttr>("llm.bytes");
      if (!offset || !bytes)
        return fail("an arena view without a planned offset; run "
                    "--llmc-plan-memory");
      return fb::Binding(fb::BindingKind::Arena, 0, offset.value(),
                         bytes.getInt());
    }
    if (auto step = dyn_cast<StepBufferOp>(def)) {
      auto offset = step->getAttrOfType<IntegerAttr>("offset");
      auto bytes = step->getAttrOfType<IntegerAttr>("llm.bytes");
      if (!offset || !bytes)
        return fail("a step field without a planned offset");
      return fb::Binding(fb::BindingKind::Step, 0, offset.getInt(),
                         bytes.getInt());
    }
    if (auto ref = dyn_cast<WeightRefOp>(def)) {
      auto it = weightIndices.find(ref.getName().str());
      if (it == weightIndices.end())
        return fail("unknown weight " + ref.getName());
      return fb::Binding(fb::BindingKind::Weight, it->second, 0,
                         ref.getType().getStorageBytes());
    }
    return fail("cannot bind a value defined by " +
                def->getName().getStringRef());
  }

  llvm::Expected<flatbuffers::Offset<fb::Entry>> writeEntry(func::FuncOp entry) {
    std::vector<int64_t> maxima(symbolNames.size(), 0);
    for (BlockArgument arg : entry.getArguments())
      if (std::optional<int> pos = symbolPosition(entry, arg))
        maxima[*pos] = entry.getArgAttrOfType<SymbolAttr>(
                                arg.getArgNumber(), LLMDialect::kSymbolAttrName)
                           .getMax();
    auto attrInt = [&](StringRef name) -> int64_t {
      auto a = entry->getAttrOfType<IntegerAttr>(name);
      return a ? a.getInt() : 0;
    };

    std::vector<flatbuffers::Offset<fb::StepField>> fields;
    entry.walk([&](StepBufferOp step) {
      auto type = cast<MemRefType>(step.getType());
      int64_t row = type.getRank() == 2 ? type.getDimSize(1) : 1;
      fields.push_back(fb::CreateStepField(
          fbb, fbb.CreateString(step.getField().str()),
          step->getAttrOfType<IntegerAttr>("offset").getInt(),
          step->getAttrOfType<IntegerAttr>("llm.bytes").getInt(), row));
    });

    std::vector<flatbuffers::Offset<fb::Dispatch>> dispatches;
    for (LaunchOp launch : entry.getOps<LaunchOp>()) {
      std::string kernelName = launch.getKernel().str();
      func::FuncOp kernel = kernels[kernelIndices.at(kernelName)];
      auto grid = kernel->getAttrOfType<AffineMapAttr>("llm.grid");
      if (!grid || grid.getValue().getNumResults() != 3)
        return fail("kernel " + kernelName + " has no 3-d llm.grid");
      std::vector<flatbuffers::Offset<fb::Expr>> gridExprs;
      for (AffineExpr e : grid.getValue().getResults()) {
        std::vector<int64_t> code;
        if (failed(toPostfix(e, code)))
          return fail("kernel " + kernelName + " has a grid that is not an "
                      "expression of symbols");
        gridExprs.push_back(fb::CreateExpr(fbb, fbb.CreateVector(code)));
      }
      // Binding 0: the step header with the symbols' values.
      std::vector<fb::Binding> bindings = {fb::Binding(
          fb::BindingKind::Step, 0, 0, 4 * symbolNames.size())};
      for (Value input : launch.getInputs()) {
        if (isa<KVCacheType>(input.getType())) {
          uint32_t layer = launch.getKvLayer().value_or(0);
          bindings.push_back(fb::Binding(fb::BindingKind::KVKeys, layer, 0, 0));
          bindings.push_back(
              fb::Binding(fb::BindingKind::KVValues, layer, 0, 0));
          continue;
        }
        auto binding = resolve(input);
        if (!binding)
          return binding.takeError();
        bindings.push_back(*binding);
      }
      for (Value output : launch.getOutputs()) {
        auto binding = resolve(output);
        if (!binding)
          return binding.takeError();
        bindings.push_back(*binding);
      }
      std::vector<fb::Range> frees;
      if (auto list = launch->getAttrOfType<ArrayAttr>("llm.frees"))
        for (Attribute a : list) {
          auto pair = cast<DenseI64ArrayAttr>(a);
          frees.push_back(fb::Range(pair[0], pair[1]));
        }
      dispatches.push_back(fb::CreateDispatch(
          fbb, kernelIndices.at(kernelName), fbb.CreateVector(gridExprs),
          fbb.CreateVectorOfStructs(bindings),
          fbb.CreateVectorOfStructs(frees)));
    }

    auto ret = cast<func::ReturnOp>(entry.getBody().front().getTerminator());
    if (ret.getNumOperands() != 1)
      return fail("entry " + entry.getSymName() + " must return the logits");
    auto output = resolve(ret.getOperand(0));
    if (!output)
      return output.takeError();
    auto logitsType = cast<MemRefType>(ret.getOperand(0).getType());
    int rowsSymbol = -1;
    if (auto view = ret.getOperand(0).getDefiningOp<memref::ViewOp>())
      if (!view.getSizes().empty())
        rowsSymbol = symbolPosition(entry, view.getSizes()[0]).value_or(-1);
    return fb::CreateEntry(
        fbb, fbb.CreateString(entry.getSymName().str()),
        fbb.CreateVector(maxima), attrInt("llm.arena_bytes"),
        attrInt("llm.unplanned_bytes"), attrInt("llm.step_bytes"),
        fbb.CreateVector(fields), fbb.CreateVector(dispatches), &*output,
        rowsSymbol, logitsType.getDimSize(1));
  }

  ModuleOp module;
  const TargetDescription &target;
  flatbuffers::FlatBufferBuilder fbb{1 << 16};
  std::vector<std::string> symbolNames;
  std::map<std::string, unsigned> weightIndices;
  std::set<std::string> gathered;
  std::map<std::string, unsigned> kernelIndices;
  std::vector<func::FuncOp> kernels;
};
} // namespace

llvm::Expected<std::vector<uint8_t>>
writeProgram(ModuleOp module, const TargetDescription &target) {
  Writer writer(module, target);
  return writer.run();
}

} // namespace llmc
