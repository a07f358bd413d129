// RUN: llmc-opt %s --llmc-form-dispatch-regions --llmc-fuse-sibling-linears | FileCheck %s --check-prefix=SIBLINGS
// RUN: llmc-opt %s --llmc-form-dispatch-regions --llmc-fuse-sibling-linears --llmc-fuse-epilogues | FileCheck %s
// RUN: llmc-opt %s --llmc-form-dispatch-regions --llmc-fuse-sibling-linears --llmc-fuse-epilogues --llmc-outline-kernels | FileCheck %s --check-prefix=COUNT

// One decoder layer of a q4 model (after --llmc-symbolic-shapes,
// --llmc-assign-weight-formats, --llmc-select-weight-layouts and
// --llmc-quantize-activations), as `llmc compile --compile-to formats` prints.

// Sibling linears: q, k and v read the same quantized activation, as do gate
// and up; each set becomes one region.
// SIBLINGS: llm.dispatch_region({{.*}}!llm.weight<64x64, q4_0, rows16>, !llm.weight<32x64, q4_0, rows16>, !llm.weight<32x64, q4_0, rows16>
// SIBLINGS-NEXT: ^bb0
// SIBLINGS-NEXT: llm.linear
// SIBLINGS-NEXT: llm.linear
// SIBLINGS-NEXT: llm.linear
// SIBLINGS: llm.dispatch_region({{.*}}!llm.weight<128x64, q4_0, rows16>, !llm.weight<128x64, q4_0, rows16>
// SIBLINGS-NEXT: ^bb0
// SIBLINGS-NEXT: llm.linear
// SIBLINGS-NEXT: llm.linear

// Epilogues, in the order of the layer:
// CHECK-LABEL: func.func @decode
// rms_norm + the quantization of its output;
// CHECK: llm.dispatch_region{{.*}} -> tensor<?x80xi8> {
// CHECK: llm.rms_norm
// CHECK-NEXT: llm.quantize_act
// CHECK-NEXT: llm.yield
// q, k, v + rope on q and k + the KV append of k and v (only q leaves);
// CHECK: llm.dispatch_region{{.*}} -> tensor<?x2x32xf32> {
// CHECK-COUNT-3: llm.linear
// CHECK: llm.rope
// CHECK: llm.rope
// CHECK: llm.kv_append
// CHECK-NEXT: llm.yield
// attention + the quantization of its output (head_dim 32 holds whole blocks);
// CHECK: llm.dispatch_region
// CHECK: llm.attention
// CHECK-NEXT: llm.reshape
// CHECK-NEXT: llm.quantize_act
// the output projection + the residual add;
// CHECK: llm.dispatch_region
// CHECK: llm.linear
// CHECK-NEXT: llm.add
// CHECK-NEXT: llm.yield
// CHECK: llm.rms_norm
// CHECK-NEXT: llm.quantize_act
// gate and up + SwiGLU + the quantization for down;
// CHECK: llm.dispatch_region
// CHECK: llm.linear
// CHECK-NEXT: llm.linear
// CHECK-NEXT: llm.silu
// CHECK-NEXT: llm.mul
// CHECK-NEXT: llm.quantize_act
// CHECK-NEXT: llm.yield
// down + the residual add.
// CHECK: llm.dispatch_region
// CHECK: llm.linear
// CHECK-NEXT: llm.add
// CHECK-NEXT: llm.yield

// Seven dispatches per decoder layer, plus embedding, select_rows, the final
// norm and the output matrix.
// COUNT-LABEL: func.func @decode
// COUNT-COUNT-11: llm.dispatch @
// COUNT-NOT: llm.dispatch @
// COUNT: return

#map = affine_map<()[s0, s1, s2] -> (s0)>
#map1 = affine_map<()[s0, s1, s2] -> (s2, 4)>
#map2 = affine_map<()[s0, s1, s2] -> (s1)>
#map3 = affine_map<()[s0, s1, s2] -> (s0, 64)>
#map4 = affine_map<()[s0, s1, s2] -> (s0, 80)>
#map5 = affine_map<()[s0, s1, s2] -> (s0, 2, 32)>
#map6 = affine_map<()[s0, s1, s2] -> (s0, 32)>
#map7 = affine_map<()[s0, s1, s2] -> (s0, 1, 32)>
#map8 = affine_map<()[s0, s1, s2] -> (s0, 128)>
#map9 = affine_map<()[s0, s1, s2] -> (s0, 160)>
#map10 = affine_map<()[s0, s1, s2] -> (s1, 64)>
#map11 = affine_map<()[s0, s1, s2] -> (s1, 80)>
#map12 = affine_map<()[s0, s1, s2] -> (s1, 320)>
module attributes {llm.model = {architecture = "llama", context_length = 64 : i64, ffn_size = 128 : i64, head_dim = 32 : i64, hidden_size = 64 : i64, kv_block_size = 16 : i64, num_heads = 2 : i64, num_kv_heads = 1 : i64, num_layers = 1 : i64, rms_norm_eps = 1.000000e-05 : f64, rope_theta = 1.000000e+04 : f64, source = "hf", tied_embeddings = false, vocab_size = 320 : i64}, llm.symbols = ["n_tokens", "n_outputs", "n_seqs"]} {
  llm.weight @token_embd : !llm.weight<320x64, q8_0> {sources = ["model.embed_tokens.weight"]}
  llm.weight @blk.0.attn_norm : !llm.weight<64, f32> {sources = ["model.layers.0.input_layernorm.weight"]}
  llm.weight @blk.0.attn_q : !llm.weight<64x64, q4_0, rows16> {sources = ["model.layers.0.self_attn.q_proj.weight"]}
  llm.weight @blk.0.attn_k : !llm.weight<32x64, q4_0, rows16> {sources = ["model.layers.0.self_attn.k_proj.weight"]}
  llm.weight @blk.0.attn_v : !llm.weight<32x64, q4_0, rows16> {sources = ["model.layers.0.self_attn.v_proj.weight"]}
  llm.weight @blk.0.attn_output : !llm.weight<64x64, q4_0, rows16> {sources = ["model.layers.0.self_attn.o_proj.weight"]}
  llm.weight @blk.0.ffn_norm : !llm.weight<64, f32> {sources = ["model.layers.0.post_attention_layernorm.weight"]}
  llm.weight @blk.0.ffn_gate : !llm.weight<128x64, q4_0, rows16> {sources = ["model.layers.0.mlp.gate_proj.weight"]}
  llm.weight @blk.0.ffn_up : !llm.weight<128x64, q4_0, rows16> {sources = ["model.layers.0.mlp.up_proj.weight"]}
  llm.weight @blk.0.ffn_down : !llm.weight<64x128, q4_0, rows16> {sources = ["model.layers.0.mlp.down_proj.weight"]}
  llm.weight @output_norm : !llm.weight<64, f32> {sources = ["model.norm.weight"]}
  llm.weight @output : !llm.weight<320x64, q8_0, rows16> {sources = ["lm_head.weight"]}
  func.func @decode(%arg0: index {llm.symbol = #llm.symbol<"n_tokens", max = 1>}, %arg1: index {llm.symbol = #llm.symbol<"n_outputs", max = 1>}, %arg2: index {llm.symbol = #llm.symbol<"n_seqs", max = 1>}, %arg3: !llm.kv_cache<layers = 1, kvHeads = 1, headDim = 32, blockSize = 16, f32>) -> tensor<?x320xf32> attributes {llm.entry} {
    %0 = llm.step_input "tokens" [%arg0] {llm.shape = #map} : tensor<?xi32>
    %1 = llm.step_input "positions" [%arg0] {llm.shape = #map} : tensor<?xi32>
    %2 = llm.step_input "seq_ids" [%arg0] {llm.shape = #map} : tensor<?xi32>
    %3 = llm.step_input "slots" [%arg0] {llm.shape = #map} : tensor<?xi32>
    %4 = llm.step_input "block_tables" [%arg2] {llm.shape = #map1} : tensor<?x4xi32>
    %5 = llm.step_input "out_rows" [%arg1] {llm.shape = #map2} : tensor<?xi32>
    %6 = llm.weight_ref @token_embd : !llm.weight<320x64, q8_0>
    %7 = llm.embedding %0, %6 {llm.shape = #map3} : tensor<?xi32>, !llm.weight<320x64, q8_0> -> tensor<?x64xf32>
    %8 = llm.weight_ref @blk.0.attn_norm : !llm.weight<64, f32>
    %9 = llm.rms_norm %7, %8 {eps = 9.99999974E-6 : f32, llm.shape = #map3} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
    %10 = llm.quantize_act %9 {llm.shape = #map4} : tensor<?x64xf32> -> tensor<?x80xi8>
    %11 = llm.weight_ref @blk.0.attn_q : !llm.weight<64x64, q4_0, rows16>
    %12 = llm.linear %10, %11 {llm.shape = #map3} : tensor<?x80xi8>, !llm.weight<64x64, q4_0, rows16> -> tensor<?x64xf32>
    %13 = llm.reshape %12 {llm.shape = #map5} : tensor<?x64xf32> -> tensor<?x2x32xf32>
    %14 = llm.weight_ref @blk.0.attn_k : !llm.weight<32x64, q4_0, rows16>
    %15 = llm.linear %10, %14 {llm.shape = #map6} : tensor<?x80xi8>, !llm.weight<32x64, q4_0, rows16> -> tensor<?x32xf32>
    %16 = llm.reshape %15 {llm.shape = #map7} : tensor<?x32xf32> -> tensor<?x1x32xf32>
    %17 = llm.weight_ref @blk.0.attn_v : !llm.weight<32x64, q4_0, rows16>
    %18 = llm.linear %10, %17 {llm.shape = #map6} : tensor<?x80xi8>, !llm.weight<32x64, q4_0, rows16> -> tensor<?x32xf32>
    %19 = llm.reshape %18 {llm.shape = #map7} : tensor<?x32xf32> -> tensor<?x1x32xf32>
    %20 = llm.rope %13, %1 {llm.shape = #map5, scaling = #llm.rope_scaling<none>, style = #llm.rope_style<half>, theta = 1.000000e+04 : f64} : tensor<?x2x32xf32>, tensor<?xi32> -> tensor<?x2x32xf32>
    %21 = llm.rope %16, %1 {llm.shape = #map7, scaling = #llm.rope_scaling<none>, style = #llm.rope_style<half>, theta = 1.000000e+04 : f64} : tensor<?x1x32xf32>, tensor<?xi32> -> tensor<?x1x32xf32>
    llm.kv_append %21, %19 into %arg3[0] at %3 : tensor<?x1x32xf32>, tensor<?x1x32xf32>, !llm.kv_cache<layers = 1, kvHeads = 1, headDim = 32, blockSize = 16, f32>, tensor<?xi32>
    %22 = llm.attention %20, %arg3[0], %1, %2, %4 {llm.shape = #map5, scale = 0.176776692 : f32} : tensor<?x2x32xf32>, !llm.kv_cache<layers = 1, kvHeads = 1, headDim = 32, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x2x32xf32>
    %23 = llm.reshape %22 {llm.shape = #map3} : tensor<?x2x32xf32> -> tensor<?x64xf32>
    %24 = llm.quantize_act %23 {llm.shape = #map4} : tensor<?x64xf32> -> tensor<?x80xi8>
    %25 = llm.weight_ref @blk.0.attn_output : !llm.weight<64x64, q4_0, rows16>
    %26 = llm.linear %24, %25 {llm.shape = #map3} : tensor<?x80xi8>, !llm.weight<64x64, q4_0, rows16> -> tensor<?x64xf32>
    %27 = llm.add %7, %26 {llm.shape = #map3} : tensor<?x64xf32>
    %28 = llm.weight_ref @blk.0.ffn_norm : !llm.weight<64, f32>
    %29 = llm.rms_norm %27, %28 {eps = 9.99999974E-6 : f32, llm.shape = #map3} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
    %30 = llm.quantize_act %29 {llm.shape = #map4} : tensor<?x64xf32> -> tensor<?x80xi8>
    %31 = llm.weight_ref @blk.0.ffn_gate : !llm.weight<128x64, q4_0, rows16>
    %32 = llm.linear %30, %31 {llm.shape = #map8} : tensor<?x80xi8>, !llm.weight<128x64, q4_0, rows16> -> tensor<?x128xf32>
    %33 = llm.weight_ref @blk.0.ffn_up : !llm.weight<128x64, q4_0, rows16>
    %34 = llm.linear %30, %33 {llm.shape = #map8} : tensor<?x80xi8>, !llm.weight<128x64, q4_0, rows16> -> tensor<?x128xf32>
    %35 = llm.silu %32 {llm.shape = #map8} : tensor<?x128xf32>
    %36 = llm.mul %35, %34 {llm.shape = #map8} : tensor<?x128xf32>
    %37 = llm.quantize_act %36 {llm.shape = #map9} : tensor<?x128xf32> -> tensor<?x160xi8>
    %38 = llm.weight_ref @blk.0.ffn_down : !llm.weight<64x128, q4_0, rows16>
    %39 = llm.linear %37, %38 {llm.shape = #map3} : tensor<?x160xi8>, !llm.weight<64x128, q4_0, rows16> -> tensor<?x64xf32>
    %40 = llm.add %27, %39 {llm.shape = #map3} : tensor<?x64xf32>
    %41 = llm.select_rows %40[%5] {llm.shape = #map10} : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    %42 = llm.weight_ref @output_norm : !llm.weight<64, f32>
    %43 = llm.rms_norm %41, %42 {eps = 9.99999974E-6 : f32, llm.shape = #map10} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
    %44 = llm.quantize_act %43 {llm.shape = #map11} : tensor<?x64xf32> -> tensor<?x80xi8>
    %45 = llm.weight_ref @output : !llm.weight<320x64, q8_0, rows16>
    %46 = llm.linear %44, %45 {llm.shape = #map12} : tensor<?x80xi8>, !llm.weight<320x64, q8_0, rows16> -> tensor<?x320xf32>
    return %46 : tensor<?x320xf32>
  }
}

