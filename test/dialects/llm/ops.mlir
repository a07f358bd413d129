// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt %s --mlir-print-op-generic | llmc-opt | FileCheck %s

// Every llm op, type and attribute survives a print/parse round trip.

// CHECK: llm.weight @tok_embeddings : !llm.weight<128x64, f16> {sources = ["model.embed_tokens.weight"]}
llm.weight @tok_embeddings : !llm.weight<128x64, f16> {sources = ["model.embed_tokens.weight"]}
// CHECK: llm.weight @attn_norm : !llm.weight<64, f32>
llm.weight @attn_norm : !llm.weight<64, f32> {sources = ["model.layers.0.input_layernorm.weight"]}
// CHECK: llm.weight @wq : !llm.weight<64x64, q4_0, rows16>
llm.weight @wq : !llm.weight<64x64, q4_0, rows16> {sources = ["model.layers.0.self_attn.q_proj.weight"]}
// CHECK: llm.weight @wk : !llm.weight<32x64, q8_0>
llm.weight @wk : !llm.weight<32x64, q8_0> {sources = ["model.layers.0.self_attn.k_proj.weight"]}
// CHECK: llm.weight @bk : !llm.weight<32, f32>
llm.weight @bk : !llm.weight<32, f32> {sources = ["model.layers.0.self_attn.k_proj.bias"]}
// CHECK: llm.weight @wk6 : !llm.weight<32x256, q6_k>
llm.weight @wk6 : !llm.weight<32x256, q6_k> {sources = ["a"]}
// CHECK: llm.weight @wk4 : !llm.weight<32x256, q4_0, split>
llm.weight @wk4 : !llm.weight<32x256, q4_0, split> {sources = ["b"]}
// CHECK: llm.weight @wb : !llm.weight<32x256, bf16>
llm.weight @wb : !llm.weight<32x256, bf16> {sources = ["c"]}

// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%[[N:.*]]: index {llm.symbol = #llm.symbol<"n_tokens", max = 8>}
// CHECK-SAME: %[[KV:.*]]: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>
// CHECK-SAME: attributes {llm.entry}
func.func @decode(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 8>},
                  %kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>)
    -> tensor<?x128xf32> attributes {llm.entry} {
  // CHECK: %[[TOK:.*]] = llm.step_input "tokens" [%[[N]]] : tensor<?xi32>
  %tokens = llm.step_input "tokens" [%n] : tensor<?xi32>
  %pos = llm.step_input "positions" [%n] : tensor<?xi32>
  %seq = llm.step_input "seq_ids" [%n] : tensor<?xi32>
  %slots = llm.step_input "slots" [%n] : tensor<?xi32>
  // CHECK: llm.step_input "block_tables" [%[[N]]] : tensor<?x4xi32>
  %tables = llm.step_input "block_tables" [%n] : tensor<?x4xi32>
  %rows = llm.step_input "out_rows" [%n] : tensor<?xi32>
  // CHECK: %[[E:.*]] = llm.weight_ref @tok_embeddings : !llm.weight<128x64, f16>
  %emb_w = llm.weight_ref @tok_embeddings : !llm.weight<128x64, f16>
  // CHECK: %[[X:.*]] = llm.embedding %[[TOK]], %[[E]] : tensor<?xi32>, !llm.weight<128x64, f16> -> tensor<?x64xf32>
  %x = llm.embedding %tokens, %emb_w : tensor<?xi32>, !llm.weight<128x64, f16> -> tensor<?x64xf32>
  %g = llm.weight_ref @attn_norm : !llm.weight<64, f32>
  // CHECK: llm.rms_norm %[[X]], %{{.*}} {eps = 9.99999974E-6 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  %h = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  %wq = llm.weight_ref @wq : !llm.weight<64x64, q4_0, rows16>
  %wk = llm.weight_ref @wk : !llm.weight<32x64, q8_0>
  %bk = llm.weight_ref @bk : !llm.weight<32, f32>
  // CHECK: llm.linear %{{.*}}, %{{.*}} : tensor<?x64xf32>, !llm.weight<64x64, q4_0, rows16> -> tensor<?x64xf32>
  %q = llm.linear %h, %wq : tensor<?x64xf32>, !llm.weight<64x64, q4_0, rows16> -> tensor<?x64xf32>
  // CHECK: llm.linear %{{.*}}, %{{.*}} bias %{{.*}} : tensor<?x64xf32>, !llm.weight<32x64, q8_0>, !llm.weight<32, f32> -> tensor<?x32xf32>
  %k = llm.linear %h, %wk bias %bk : tensor<?x64xf32>, !llm.weight<32x64, q8_0>, !llm.weight<32, f32> -> tensor<?x32xf32>
  // CHECK: llm.reshape %{{.*}} : tensor<?x64xf32> -> tensor<?x4x16xf32>
  %q3 = llm.reshape %q : tensor<?x64xf32> -> tensor<?x4x16xf32>
  %k3 = llm.reshape %k : tensor<?x32xf32> -> tensor<?x2x16xf32>
  // CHECK: llm.rope %{{.*}}, %{{.*}} {scaling = #llm.rope_scaling<none>, style = #llm.rope_style<half>, theta = 1.000000e+04 : f64}
  %qr = llm.rope %q3, %pos {theta = 10000.0 : f64, style = #llm.rope_style<half>, scaling = #llm.rope_scaling<none>} : tensor<?x4x16xf32>, tensor<?xi32> -> tensor<?x4x16xf32>
  // CHECK: #llm.rope_scaling<llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_position = 8192>
  %kr = llm.rope %k3, %pos {theta = 500000.0 : f64, style = #llm.rope_style<adjacent>, scaling = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192>} : tensor<?x2x16xf32>, tensor<?xi32> -> tensor<?x2x16xf32>
  // CHECK: #llm.rope_scaling<linear, factor = 2.000000e+00>
  %kl = llm.rope %k3, %pos {theta = 10000.0 : f64, style = #llm.rope_style<adjacent>, scaling = #llm.rope_scaling<linear, factor = 2.0>} : tensor<?x2x16xf32>, tensor<?xi32> -> tensor<?x2x16xf32>
  // CHECK: llm.kv_append %{{.*}}, %{{.*}} into %[[KV]][1] at %{{.*}} : tensor<?x2x16xf32>, tensor<?x2x16xf32>, !llm.kv_cache<{{.*}}>, tensor<?xi32>
  llm.kv_append %kr, %kl into %kv[1] at %slots : tensor<?x2x16xf32>, tensor<?x2x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>
  // CHECK: llm.attention %{{.*}}, %[[KV]][1], %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32}
  %att = llm.attention %qr, %kv[1], %pos, %seq, %tables {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x4xi32> -> tensor<?x4x16xf32>
  // CHECK: llm.transpose %{{.*}} [1, 0, 2] : tensor<?x4x16xf32> -> tensor<4x?x16xf32>
  %t = llm.transpose %att [1, 0, 2] : tensor<?x4x16xf32> -> tensor<4x?x16xf32>
  %o = llm.reshape %att : tensor<?x4x16xf32> -> tensor<?x64xf32>
  // CHECK: llm.silu %{{.*}} : tensor<?x64xf32>
  %s = llm.silu %o : tensor<?x64xf32>
  // CHECK: llm.gelu %{{.*}} : tensor<?x64xf32>
  %ge = llm.gelu %s : tensor<?x64xf32>
  // CHECK: llm.mul %{{.*}}, %{{.*}} : tensor<?x64xf32>
  %m = llm.mul %ge, %h : tensor<?x64xf32>
  // CHECK: llm.add %{{.*}}, %{{.*}} : tensor<?x64xf32>
  %a = llm.add %m, %x : tensor<?x64xf32>
  // CHECK: llm.select_rows %{{.*}}[%{{.*}}] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %last = llm.select_rows %a[%rows] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %out_w = llm.weight_ref @tok_embeddings : !llm.weight<128x64, f16>
  %logits = llm.linear %last, %out_w : tensor<?x64xf32>, !llm.weight<128x64, f16> -> tensor<?x128xf32>
  // CHECK: llm.softmax %{{.*}} : tensor<?x128xf32>
  %p = llm.softmax %logits : tensor<?x128xf32>
  // CHECK: llm.argmax %{{.*}} : tensor<?x128xf32> -> tensor<?xi32>
  %best = llm.argmax %p : tensor<?x128xf32> -> tensor<?xi32>
  return %logits : tensor<?x128xf32>
}
