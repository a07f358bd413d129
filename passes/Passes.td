//===- Passes.td - llmc's passes, in pipeline order -------------------------===//
//
// One pass per file: passes/<Name>.cpp is registered as --llmc-<name> and
// tested by test/passes/<name>.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PASSES
#define LLMC_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Graph analysis
//===----------------------------------------------------------------------===//

def SymbolicShapes : Pass<"llmc-symbolic-shapes", "::mlir::ModuleOp"> {
  let summary = "Expresses every dynamic dimension in terms of the entry symbols";
  let description = [{
    Collects the symbols of all entries into the module attribute `llm.symbols`
    (names in order; expressions use s0, s1, ... in that order) and annotates
    every tensor result inside an entry with `llm.shape`, an affine map with no
    dimensions whose results are the tensor's sizes, e.g.
    `affine_map<()[s0, s1] -> (s0, 2048)>`. Fails with a precise message when a
    dynamic size does not come from a symbol or when two operands that must
    agree have different sizes.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect"];
}


//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def AssignWeightFormats : Pass<"llmc-assign-weight-formats", "::mlir::ModuleOp"> {
  let summary = "Decides each weight's storage format from --quant";
  let description = [{
    Tensors that arrive as floats take the requested format: f32, f16, q8
    (Q8_0) or q4 (Q4_0); under q4 the output matrix and the embedding take
    `quant-output` (q8 by default), as llama.cpp keeps its output matrix in
    higher precision. Tensors that arrive quantized keep their format: Q8_0
    and Q4_0 always, Q4_K and Q6_K when the target computes with them,
    otherwise converted upward to Q8_0 (never down). Vectors (norms, biases)
    are f32. Rows that are not a multiple of 32 cannot be block-quantized and
    stay f16.
  }];
  let options = [
    Option<"quant", "quant", "std::string", "\"f16\"",
           "format of float weights: f32, f16, q8 or q4">,
    Option<"quantOutput", "quant-output", "std::string", "\"\"",
           "format of the output matrix and embedding (default: q8 under q4, else --quant)">,
    Option<"nativeKQuants", "native-k-quants", "bool", "false",
           "the target computes with Q4_K/Q6_K directly">,
  ];
}

def SelectWeightLayouts : Pass<"llmc-select-weight-layouts", "::mlir::ModuleOp"> {
  let summary = "Picks each weight's layout for the target's kernels";
  let description = [{
    Q8_0 and Q4_0 matrices used by linear layers get the interleaved layout the
    target's integer dot products read: `rows16` for 512-bit registers (one
    row per 32-bit lane of a zmm register), `rows8` for 256-bit ones. Tables
    only gathered by `llm.embedding` keep the plain layout, and so do float
    weights. With `split` (GPU targets) every Q8_0 and Q4_0 weight, tables
    included, takes the `split` layout instead: the quants of all blocks as
    aligned words, then the scales. The packer applies the layout.
  }];
  let options = [
    Option<"rowGroup", "row-group", "int64_t", "16",
           "rows interleaved per group: 16 (AVX-512), 8 (AVX2), 0 (plain)">,
    Option<"split", "split", "bool", "false",
           "GPU targets: the split layout for every q8_0/q4_0 weight">,
  ];
}

def QuantizeActivations : Pass<"llmc-quantize-activations", "::mlir::ModuleOp"> {
  let summary = "Feeds block-quantized linears int8 activations";
  let description = [{
    Before every linear layer whose weight is Q8_0 or Q4_0, the input rows are
    quantized to int8 blocks (`llm.quantize_act`), once per input value (q, k
    and v share one), so the matmul can use integer dot products. Fusion later
    moves the quantization into the kernel that produces the input.
  }];
}

//===----------------------------------------------------------------------===//
// Dispatch regions and kernels
//===----------------------------------------------------------------------===//

def FormDispatchRegions : Pass<"llmc-form-dispatch-regions", "::mlir::ModuleOp"> {
  let summary = "Groups the ops of each entry into dispatch regions";
  let description = [{
    Every compute op starts a region; an elementwise op joins the region of its
    elementwise producer when it is that producer's only user (silu and mul of
    a SwiGLU become one kernel). Reshapes stay outside regions: they are views.
  }];
}

def FuseSiblingLinears : Pass<"llmc-fuse-sibling-linears", "::mlir::ModuleOp"> {
  let summary = "Puts linear layers that read the same input into one region";
  let description = [{
    q, k and v (and gate and up) read the same activation: one kernel computes
    all of them, each workgroup taking rows of one weight, so the input is
    read (and quantized) once and there is one dispatch instead of three.
  }];
}

def FuseEpilogues : Pass<"llmc-fuse-epilogues", "::mlir::ModuleOp"> {
  let summary = "Fuses consumers into the kernel that produces their input";
  let description = [{
    Into linear layers: rope on q and k (through their reshapes) and the KV
    cache append of k and v; the residual add; SwiGLU's silu(gate) * up; the
    quantization of the result for the next linear. Into rms_norm and
    attention: the quantization of their output. A residual add that is not
    fused into a linear is fused into the rms_norm that reads it. A consumer
    joins only when every tensor it reads comes from the producer (or from
    outside both), so the result is one kernel the targets can emit.
  }];
}

def OutlineKernels : Pass<"llmc-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Turns each dispatch region into a kernel function and a dispatch";
  let description = [{
    Each region becomes a `func.func` marked `llm.kernel` whose arguments are
    the region's inputs (with their symbolic sizes as `llm.shape` argument
    attributes) and an `llm.dispatch` of it. Regions identical up to their
    operands share one kernel; the KV cache layer becomes the dispatch's
    `kv_layer`, so all layers share their attention kernels.
  }];
}

//===----------------------------------------------------------------------===//
// Buffers and memory
//===----------------------------------------------------------------------===//

def BufferizeEntries : Pass<"llmc-bufferize-entries", "::mlir::ModuleOp"> {
  let summary = "Turns the entries' tensors into buffers and dispatches into launches";
  let description = [{
    Each dispatch result gets a `memref.alloc` sized by its symbolic shape;
    each dispatch becomes an `llm.launch` that writes into those buffers; step
    inputs become views of the step buffer (`llm.step_buffer`); reshapes
    become `memref.collapse_shape`/`memref.expand_shape` views. Kernels keep
    their tensor form; their binding order is [inputs..., results...].
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect"];
}

def PlanMemory : Pass<"llmc-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Places every buffer of an entry in one arena by liveness";
  let description = [{
    Buffers are sized for the symbols' maxima and placed (largest first, at the
    lowest offset free for their whole lifetime) in one arena; each
    `memref.alloc` becomes a `memref.view` of `llm.arena`. The entry records
    `llm.arena_bytes` and `llm.unplanned_bytes` (the sum of all buffers), each
    launch lists in `llm.frees` the [offset, bytes] ranges whose lifetime ends
    there (the runtime's poison-on-free mode fills them with NaN), and each
    step-buffer field gets its byte offset in the step buffer.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "byte alignment of every buffer (the device's binding alignment)">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // LLMC_PASSES
