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
