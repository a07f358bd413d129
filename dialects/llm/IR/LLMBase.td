//===- LLMBase.td - The llm dialect, its enums, attributes and types ------===//
//
// The `llm` dialect holds a language model as a graph of tensor ops. Weights
// are references into a module-level weight table (never inlined constants);
// each reference carries the tensor's format and layout in its type. Sizes that
// vary per call are `index` entry arguments marked `llm.symbol`. The KV cache is
// a runtime-owned operand with memory semantics.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_BASE
#define LLMC_DIALECT_LLM_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::llmc::llm";
  let summary = "Language-model graph ops on tensors";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasRegionArgAttrVerify = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the entry-argument attribute that marks a symbol.
    static constexpr llvm::StringLiteral kSymbolAttrName = "llm.symbol";
    /// Name of the function attribute that marks an entry (@prefill, @decode).
    static constexpr llvm::StringLiteral kEntryAttrName = "llm.entry";

  private:
    void registerTypes();
    void registerAttributes();
  public:
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

// The storage format of a weight tensor. Block formats are GGUF's.
def LLM_WeightFormat : I32EnumAttr<"WeightFormat", "weight storage format", [
    I32EnumAttrCase<"f32", 0>,
    I32EnumAttrCase<"f16", 1>,
    I32EnumAttrCase<"bf16", 2>,
    I32EnumAttrCase<"q8_0", 3>,
    I32EnumAttrCase<"q4_0", 4>,
    I32EnumAttrCase<"q4_k", 5>,
    I32EnumAttrCase<"q6_k", 6>
  ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}
def LLM_WeightFormatAttr : EnumAttr<LLM_Dialect, LLM_WeightFormat, "format"> {
  let assemblyFormat = "`<` $value `>`";
}

// How a weight's bytes are arranged for the target's kernels. `plain` is the
// format's own layout (row-major rows of blocks); other layouts are chosen by
// the layout pass and applied by the packer:
//   rows16 / rows8: groups of 16 (8) rows interleaved 4 bytes at a time, so a
//     512-bit (256-bit) register holds 4 quants of each of 16 (8) rows, one row
//     per 32-bit lane, for integer dot products; each group's f16 scales
//     follow its quants (rows16 stores Q8_0 quants offset by 128, unsigned,
//     for VNNI; rows8 keeps them signed);
//   split: the quants of all blocks first (16-byte aligned, read as 32-bit
//     words), then every block's f16 scale, padded to 16 bytes (GPUs).
def LLM_WeightLayout : I32EnumAttr<"WeightLayout", "weight layout", [
    I32EnumAttrCase<"plain", 0>,
    I32EnumAttrCase<"rows16", 1>,
    I32EnumAttrCase<"split", 2>,
    I32EnumAttrCase<"rows8", 3>
  ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}
def LLM_WeightLayoutAttr : EnumAttr<LLM_Dialect, LLM_WeightLayout, "layout"> {
  let assemblyFormat = "`<` $value `>`";
}

// Which elements of a head rope rotates together: adjacent pairs (2i, 2i+1),
// as llama.cpp's GGUF files expect, or the two halves (i, i + d/2), as the
// Hugging Face checkpoints' rotate_half does.
def LLM_RopeStyle : I32EnumAttr<"RopeStyle", "rope pairing convention", [
    I32EnumAttrCase<"adjacent", 0>,
    I32EnumAttrCase<"half", 1>
  ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}
def LLM_RopeStyleAttr : EnumAttr<LLM_Dialect, LLM_RopeStyle, "rope_style"> {
  let assemblyFormat = "`<` $value `>`";
}

def LLM_RopeScalingKind : I32EnumAttr<"RopeScalingKind", "rope frequency scaling", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"linear", 1>,
    I32EnumAttrCase<"llama3", 2>
  ]> {
  let cppNamespace = "::llmc::llm";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class LLM_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LLM_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Marks an `index` entry argument as a size that varies per call.
def LLM_SymbolAttr : LLM_Attr<"Symbol", "symbol"> {
  let summary = "a size that varies per call, with its maximum";
  let parameters = (ins StringRefParameter<"symbol name">:$name,
                        "int64_t":$max);
  let assemblyFormat = "`<` $name `,` `max` `=` $max `>`";
  let genVerifyDecl = 1;
}

def LLM_RopeScalingAttr : LLM_Attr<"RopeScaling", "rope_scaling"> {
  let summary = "rope frequency scaling (none, linear, llama3)";
  let description = [{
    `#llm.rope_scaling<none>`, `#llm.rope_scaling<linear, factor = 4.0>` or
    `#llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0,
    high_freq_factor = 4.0, original_max_position = 8192>`.
  }];
  let parameters = (ins
    EnumParameter<LLM_RopeScalingKind>:$kind,
    APFloatParameter<"scaling factor">:$factor,
    APFloatParameter<"llama3 low frequency factor">:$lowFreqFactor,
    APFloatParameter<"llama3 high frequency factor">:$highFreqFactor,
    "int64_t":$originalMaxPosition
  );
  let builders = [
    AttrBuilder<(ins "RopeScalingKind":$kind, CArg<"double", "1.0">:$factor,
                     CArg<"double", "1.0">:$low, CArg<"double", "4.0">:$high,
                     CArg<"int64_t", "8192">:$originalMax), [{
      return $_get($_ctxt, kind, ::llvm::APFloat(factor), ::llvm::APFloat(low),
                   ::llvm::APFloat(high), originalMax);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class LLM_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<LLM_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

// A reference to a tensor of the weight table, e.g. !llm.weight<2048x2048, q4_0>.
def LLM_WeightType : LLM_Type<"Weight", "weight"> {
  let summary = "a weight tensor: shape, storage format and layout";
  let parameters = (ins
    ArrayRefParameter<"int64_t", "static shape">:$shape,
    EnumParameter<LLM_WeightFormat>:$format,
    DefaultValuedParameter<"WeightLayout", "WeightLayout::plain">:$layout
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getShape().size(); }
    int64_t getNumElements() const;
    /// Bytes the tensor occupies in its format (block formats: whole blocks).
    int64_t getStorageBytes() const;
  }];
}

// The paged KV cache: runtime-owned memory, read and written through ops with
// memory effects, never a tensor value.
def LLM_KVCacheType : LLM_Type<"KVCache", "kv_cache"> {
  let summary = "the runtime-owned paged key/value cache";
  let parameters = (ins
    "int64_t":$layers,
    "int64_t":$kvHeads,
    "int64_t":$headDim,
    "int64_t":$blockSize,
    "::mlir::Type":$elementType
  );
  let assemblyFormat = "`<` struct($layers, $kvHeads, $headDim, $blockSize) `,` $elementType `>`";
  let genVerifyDecl = 1;
}

#endif // LLMC_DIALECT_LLM_BASE
