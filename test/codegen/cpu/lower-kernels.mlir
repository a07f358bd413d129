// RUN: llmc-opt %s --split-input-file --verify-diagnostics --llmc-cpu-lower-kernels --mlir-print-local-scope | FileCheck %s

// Every kernel gets the dispatch ABI (bindings pointer, workgroup x, y, z),
// reads the symbols from the step header (binding 0), rebuilds memref views of
// its bindings and records its grid.

// A linear on f16 weights: 32 output rows x 4 tokens per workgroup; the f16
// weight vector is widened once and multiplied into one accumulator per token.
// CHECK-LABEL: func.func @k_linear(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-SAME: llm.grid = affine_map<()[s0] -> (2, s0 ceildiv 4, 1)>
// CHECK-SAME: llm.num_bindings = 4 : i64
// CHECK: llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: memref.load {{.*}} : memref<1xi32>
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<64x64xf16>, vector<16xf16>
// CHECK: arith.extf {{.*}} : vector<16xf16> to vector<16xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: vector.reduction <add>, {{.*}} fastmath<reassoc>
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_linear(%x: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
                      %w: !llm.weight<64x64, f16>)
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<64x64, f16> -> tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}

// -----

// Attention: one workgroup per (token, head); keys and values are read through
// the block table, with an online softmax (running max, rescaled sum).
// CHECK-LABEL: func.func @k_attention
// CHECK-SAME: llm.grid = affine_map<()[s0, s1] -> (s0, 4, 1)>
// CHECK-SAME: llm.num_bindings = 8 : i64
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, vector<16xf32>)
// CHECK: memref.load {{.*}} : memref<?x32xi32>
// CHECK: vector.load {{.*}} : memref<?x16x2x16xf32>, vector<16xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: vector.fma
module attributes {llm.symbols = ["n_tokens", "n_seqs"]} {
  func.func @k_attention(%q: tensor<?x4x16xf32> {llm.shape = affine_map<()[s0, s1] -> (s0, 4, 16)>},
                         %kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>,
                         %pos: tensor<?xi32> {llm.shape = affine_map<()[s0, s1] -> (s0)>},
                         %seq: tensor<?xi32> {llm.shape = affine_map<()[s0, s1] -> (s0)>},
                         %tables: tensor<?x32xi32> {llm.shape = affine_map<()[s0, s1] -> (s1, 32)>})
      -> (tensor<?x4x16xf32> {llm.shape = affine_map<()[s0, s1] -> (s0, 4, 16)>}) attributes {llm.kernel} {
    %o = llm.attention %q, %kv[0], %pos, %seq, %tables {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x32xi32> -> tensor<?x4x16xf32>
    return %o : tensor<?x4x16xf32>
  }
}

// -----

// An elementwise chain (SwiGLU's silu(gate) * up) is one pass over each row.
// CHECK-LABEL: func.func @k_swiglu
// CHECK-SAME: llm.grid = affine_map<()[s0] -> (s0, 1, 1)>
// CHECK: scf.for
// CHECK: math.exp {{.*}} : vector<16xf32>
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: vector.store
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_swiglu(%g: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
                      %u: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>})
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    %s = llm.silu %g : tensor<?x64xf32>
    %m = llm.mul %s, %u : tensor<?x64xf32>
    return %m : tensor<?x64xf32>
  }
}

// -----

// A kernel the CPU target cannot lower yet is an error, not a crash.
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_bad(%x: tensor<?x256xf32> {llm.shape = affine_map<()[s0] -> (s0, 256)>},
                   %w: !llm.weight<64x256, q4_k>)
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    // expected-error @+1 {{'llm.linear' op CPU linear on q4_k weights is not supported (they are converted to q8_0 unless the target computes with them)}}
    %y = llm.linear %x, %w : tensor<?x256xf32>, !llm.weight<64x256, q4_k> -> tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}
