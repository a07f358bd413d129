//===- LLMOps.td - llm dialect operations ---------------------------------===//

#ifndef LLMC_DIALECT_LLM_OPS
#define LLMC_DIALECT_LLM_OPS

include "dialects/llm/IR/LLMBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

// The KV cache is memory the runtime owns; ops that touch it say so.
def LLM_KVCacheResource : Resource<"::llmc::llm::KVCacheResource">;

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

def LLM_F32Tensor : RankedTensorOf<[F32]>;
def LLM_I32Tensor : RankedTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// The weight table
//===----------------------------------------------------------------------===//

def LLM_WeightOp : LLM_Op<"weight", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "declares a tensor of the weight table";
  let description = [{
    A module-level entry of the weight table. `sources` names the tensors of the
    model file the data comes from (several are concatenated along rows, e.g.
    when q, k and v projections share one matrix). Its type gives the shape, the
    format and the layout the packer must write.

    ```mlir
    llm.weight @blk.0.attn_q : !llm.weight<2048x2048, f16> {sources = ["model.layers.0.self_attn.q_proj.weight"]}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<LLM_WeightType>:$type,
                       StrArrayAttr:$sources);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    WeightType getWeightType() { return ::mlir::cast<WeightType>(getType()); }
  }];
}

def LLM_WeightRefOp : LLM_Op<"weight_ref",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "refers to a tensor of the weight table";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs LLM_WeightType:$result);
  let assemblyFormat = "$name attr-dict `:` qualified(type($result))";
}

//===----------------------------------------------------------------------===//
// Per-step inputs
//===----------------------------------------------------------------------===//

def LLM_StepInputOp : LLM_Op<"step_input", [Pure]> {
  let summary = "a per-step input the runtime writes into the step buffer";
  let description = [{
    Token ids, positions, KV slots, sequence ids, block tables and the rows
    whose logits are wanted. Dynamic sizes are entry symbols.

    ```mlir
    %tokens = llm.step_input "tokens" [%n_tokens] : tensor<?xi32>
    ```
  }];
  let arguments = (ins StrAttr:$field, Variadic<Index>:$dynamic_sizes);
  let results = (outs LLM_I32Tensor:$result);
  let assemblyFormat = "$field (` ` `[` $dynamic_sizes^ `]`)? attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The step-buffer fields the runtime knows how to fill, with their rank.
    static ::llvm::ArrayRef<std::pair<::llvm::StringRef, int64_t>> knownFields();
  }];
}

//===----------------------------------------------------------------------===//
// Model ops
//===----------------------------------------------------------------------===//

def LLM_EmbeddingOp : LLM_Op<"embedding", [Pure]> {
  let summary = "gathers rows of an embedding table";
  let arguments = (ins LLM_I32Tensor:$tokens, LLM_WeightType:$table);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$tokens `,` $table attr-dict `:` qualified(type($tokens)) `,` qualified(type($table)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_RMSNormOp : LLM_Op<"rms_norm", [Pure]> {
  let summary = "x / sqrt(mean(x^2) + eps) * gamma over the last dimension";
  let arguments = (ins LLM_F32Tensor:$input, LLM_WeightType:$gamma, F32Attr:$eps);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input `,` $gamma attr-dict `:` qualified(type($input)) `,` qualified(type($gamma)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_QuantizeActOp : LLM_Op<"quantize_act", [Pure]> {
  let summary = "rows of f32 activations as int8 blocks for integer matmuls";
  let description = [{
    Each row of K values becomes K/32 blocks of 32 int8 values with a scale
    (amax / 127) and the sum of the block's int8 values, stored per row as
    [K int8][K/32 f32 scales][K/32 i32 sums]: K + K/4 bytes. Linear layers
    on block-quantized weights read this instead of f32.
  }];
  let arguments = (ins LLM_F32Tensor:$input);
  let results = (outs RankedTensorOf<[I8]>:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Bytes of one quantized row of `k` values.
    static int64_t rowBytes(int64_t k) { return k + k / 4; }
  }];
}

def LLM_LinearOp : LLM_Op<"linear", [Pure]> {
  let summary = "y = x W^T (+ bias), W from the weight table";
  let description = [{
    `x` is [..., K] in f32, or its rows quantized by `llm.quantize_act`
    ([..., K + K/4] int8) when the weight is block-quantized; the weight is
    [N, K] in any format; the optional bias is [N]. The result is [..., N] in
    f32.
  }];
  let arguments = (ins RankedTensorOf<[F32, I8]>:$input, LLM_WeightType:$weight,
                       Optional<LLM_WeightType>:$bias);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` qualified(type($input)) `,` qualified(type($weight))
    (`,` qualified(type($bias))^)? `->` qualified(type($result))
  }];
  let hasVerifier = 1;
}

def LLM_RopeOp : LLM_Op<"rope", [Pure]> {
  let summary = "rotary position embedding of [tokens, heads, head_dim]";
  let arguments = (ins LLM_F32Tensor:$input, LLM_I32Tensor:$positions,
                       F64Attr:$theta, LLM_RopeStyleAttr:$style,
                       LLM_RopeScalingAttr:$scaling);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` qualified(type($input)) `,` qualified(type($positions)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_KVAppendOp : LLM_Op<"kv_append"> {
  let summary = "writes keys and values into the paged KV cache at given slots";
  let description = [{
    Slot `s` of the cache is token `s % block_size` of block `s / block_size`;
    the runtime fills `slots` from each sequence's block table.
  }];
  let arguments = (ins
    Arg<LLM_KVCacheType, "the cache", [MemWrite<LLM_KVCacheResource>]>:$cache,
    I64Attr:$layer, LLM_F32Tensor:$keys, LLM_F32Tensor:$values,
    LLM_I32Tensor:$slots);
  let assemblyFormat = [{
    $keys `,` $values `into` $cache `[` $layer `]` `at` $slots attr-dict `:`
    qualified(type($keys)) `,` qualified(type($values)) `,` qualified(type($cache)) `,` qualified(type($slots))
  }];
  let hasVerifier = 1;
}

def LLM_AttentionOp : LLM_Op<"attention"> {
  let summary = "causal grouped-query attention over the paged KV cache";
  let description = [{
    Token `t` (query heads [H, D]) attends to positions 0..positions[t] of
    sequence seq_ids[t], whose keys and values are read through that sequence's
    row of `block_tables`. KV heads are shared by H / H_kv query heads.
  }];
  let arguments = (ins
    LLM_F32Tensor:$query,
    Arg<LLM_KVCacheType, "the cache", [MemRead<LLM_KVCacheResource>]>:$cache,
    I64Attr:$layer, LLM_I32Tensor:$positions, LLM_I32Tensor:$seq_ids,
    LLM_I32Tensor:$block_tables, F32Attr:$scale);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $cache `[` $layer `]` `,` $positions `,` $seq_ids `,` $block_tables attr-dict `:`
    qualified(type($query)) `,` qualified(type($cache)) `,` qualified(type($positions)) `,` qualified(type($seq_ids)) `,` qualified(type($block_tables))
    `->` qualified(type($result))
  }];
  let hasVerifier = 1;
}

class LLM_UnaryOp<string mnemonic, string summaryText>
    : LLM_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType]> {
  let summary = summaryText;
  let arguments = (ins LLM_F32Tensor:$input);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($result))";
}

class LLM_BinaryOp<string mnemonic, string summaryText>
    : LLM_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType, Commutative]> {
  let summary = summaryText;
  let arguments = (ins LLM_F32Tensor:$lhs, LLM_F32Tensor:$rhs);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` qualified(type($result))";
}

def LLM_SiluOp : LLM_UnaryOp<"silu", "x * sigmoid(x)">;
def LLM_GeluOp : LLM_UnaryOp<"gelu", "gelu (tanh approximation)">;
def LLM_AddOp : LLM_BinaryOp<"add", "elementwise sum">;
def LLM_MulOp : LLM_BinaryOp<"mul", "elementwise product">;

def LLM_SoftmaxOp : LLM_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax over the last dimension";
  let arguments = (ins LLM_F32Tensor:$input);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($result))";
}

def LLM_ArgmaxOp : LLM_Op<"argmax", [Pure]> {
  let summary = "index of the largest element of the last dimension";
  let arguments = (ins LLM_F32Tensor:$input);
  let results = (outs LLM_I32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_ReshapeOp : LLM_Op<"reshape", [Pure]> {
  let summary = "reshapes the static trailing dimensions";
  let description = [{
    The leading dimension may be dynamic and is kept; the trailing dimensions
    are regrouped with the same element count, e.g. [n, 2048] <-> [n, 32, 64].
  }];
  let arguments = (ins LLM_F32Tensor:$input);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_TransposeOp : LLM_Op<"transpose", [Pure]> {
  let summary = "permutes dimensions";
  let arguments = (ins LLM_F32Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def LLM_SelectRowsOp : LLM_Op<"select_rows", [Pure]> {
  let summary = "keeps the rows whose logits are wanted";
  let arguments = (ins LLM_F32Tensor:$input, LLM_I32Tensor:$rows);
  let results = (outs LLM_F32Tensor:$result);
  let assemblyFormat = "$input `[` $rows `]` attr-dict `:` qualified(type($input)) `,` qualified(type($rows)) `->` qualified(type($result))";
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// Dispatch regions, kernels and the program (later phases)
//===----------------------------------------------------------------------===//

def LLM_DispatchRegionOp : LLM_Op<"dispatch_region",
    [IsolatedFromAbove, SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a group of ops that becomes one kernel";
  let description = [{
    Formed by the dispatch-region passes. Everything the body uses comes in
    as an input (tensors, weights, the KV cache); the body's block arguments
    mirror the inputs. Each region becomes one kernel with one launch.

    ```mlir
    %y = llm.dispatch_region (%x, %g) : (tensor<?x64xf32>, !llm.weight<64, f32>) -> tensor<?x64xf32> {
    ^bb0(%a: tensor<?x64xf32>, %b: !llm.weight<64, f32>):
      %n = llm.rms_norm %a, %b {eps = 1.0e-5 : f32} : ...
      llm.yield %n : tensor<?x64xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, results) $body
  }];
  let hasVerifier = 1;
}

def LLM_YieldOp : LLM_Op<"yield", [Pure, Terminator, ReturnLike,
                                   HasParent<"DispatchRegionOp">]> {
  let summary = "the results of a dispatch region";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, std::nullopt); }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

def LLM_DispatchOp : LLM_Op<"dispatch",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "runs an outlined kernel on tensors";
  let description = [{
    The kernel is a function marked `llm.kernel`. Kernels that differ only in
    which layer's KV cache they touch are shared: `kv_layer` says which.
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel, Variadic<AnyType>:$inputs,
                       OptionalAttr<I64Attr>:$kv_layer);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` attr-dict `:` functional-type($inputs, results)
  }];
}

def LLM_LaunchOp : LLM_Op<"launch",
    [AttrSizedOperandSegments, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "runs a kernel on buffers: one step of the program";
  let description = [{
    After bufferization: the kernel reads `inputs` and writes `outputs`. The
    kernel's binding list is [step header, inputs..., outputs...], each binding
    a buffer plus a byte offset; a KV cache input binds that layer's keys and
    values.
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel, Variadic<AnyType>:$inputs,
                       Variadic<AnyMemRef>:$outputs,
                       OptionalAttr<I64Attr>:$kv_layer);
  let assemblyFormat = [{
    $kernel `ins` `(` $inputs `:` type($inputs) `)` `outs` `(` $outputs `:` type($outputs) `)` attr-dict
  }];
}

def LLM_StepBufferOp : LLM_Op<"step_buffer", [Pure]> {
  let summary = "a per-step input as a view of the step buffer";
  let arguments = (ins StrAttr:$field, Variadic<Index>:$dynamic_sizes);
  let results = (outs AnyMemRef:$result);
  let assemblyFormat = "$field (` ` `[` $dynamic_sizes^ `]`)? attr-dict `:` qualified(type($result))";
}

def LLM_ArenaOp : LLM_Op<"arena", [Pure]> {
  let summary = "the arena that holds every intermediate buffer of an entry";
  let description = [{
    Created by memory planning, sized for the symbols' maxima; buffers are
    `memref.view`s of it at planned byte offsets.
  }];
  let results = (outs MemRefRankOf<[I8], [1]>:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
}

#endif // LLMC_DIALECT_LLM_OPS
