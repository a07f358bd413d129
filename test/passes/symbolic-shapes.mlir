// RUN: llmc-opt %s --split-input-file --llmc-symbolic-shapes --verify-diagnostics --mlir-print-local-scope | FileCheck %s

// Every tensor's sizes become affine expressions of the entry symbols; the
// symbols of all entries are listed once, in order, on the module.

// CHECK: module attributes {llm.symbols = ["n_tokens", "n_outputs"]}
llm.weight @emb : !llm.weight<128x64, f16> {sources = ["emb"]}
llm.weight @norm : !llm.weight<64, f32> {sources = ["norm"]}
// CHECK-LABEL: func.func @prefill
func.func @prefill(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 64>},
                   %m: index {llm.symbol = #llm.symbol<"n_outputs", max = 64>})
    -> tensor<?x128xf32> attributes {llm.entry} {
  // CHECK: llm.step_input "tokens" [%{{.*}}] {llm.shape = affine_map<()[s0, s1] -> (s0)>}
  %tokens = llm.step_input "tokens" [%n] : tensor<?xi32>
  // CHECK: llm.step_input "out_rows" [%{{.*}}] {llm.shape = affine_map<()[s0, s1] -> (s1)>}
  %rows = llm.step_input "out_rows" [%m] : tensor<?xi32>
  %w = llm.weight_ref @emb : !llm.weight<128x64, f16>
  // CHECK: llm.embedding {{.*}} {llm.shape = affine_map<()[s0, s1] -> (s0, 64)>}
  %x = llm.embedding %tokens, %w : tensor<?xi32>, !llm.weight<128x64, f16> -> tensor<?x64xf32>
  %g = llm.weight_ref @norm : !llm.weight<64, f32>
  // CHECK: llm.rms_norm {{.*}} llm.shape = affine_map<()[s0, s1] -> (s0, 64)>
  %h = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  // CHECK: llm.reshape {{.*}} {llm.shape = affine_map<()[s0, s1] -> (s0, 4, 16)>}
  %r = llm.reshape %h : tensor<?x64xf32> -> tensor<?x4x16xf32>
  // CHECK: llm.transpose {{.*}} {llm.shape = affine_map<()[s0, s1] -> (4, s0, 16)>}
  %t = llm.transpose %r [1, 0, 2] : tensor<?x4x16xf32> -> tensor<4x?x16xf32>
  // CHECK: llm.select_rows {{.*}} {llm.shape = affine_map<()[s0, s1] -> (s1, 64)>}
  %last = llm.select_rows %h[%rows] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: llm.linear {{.*}} {llm.shape = affine_map<()[s0, s1] -> (s1, 128)>}
  %logits = llm.linear %last, %w : tensor<?x64xf32>, !llm.weight<128x64, f16> -> tensor<?x128xf32>
  return %logits : tensor<?x128xf32>
}

// -----

// Rows of different symbols cannot be added.
func.func @prefill(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 64>},
                   %m: index {llm.symbol = #llm.symbol<"n_outputs", max = 64>}) attributes {llm.entry} {
  %a = llm.step_input "tokens" [%n] : tensor<?xi32>
  %b = llm.step_input "out_rows" [%m] : tensor<?xi32>
  %w = llm.weight_ref @emb : !llm.weight<128x64, f16>
  %x = llm.embedding %a, %w : tensor<?xi32>, !llm.weight<128x64, f16> -> tensor<?x64xf32>
  %y = llm.embedding %b, %w : tensor<?xi32>, !llm.weight<128x64, f16> -> tensor<?x64xf32>
  // expected-error @+1 {{'llm.add' op lhs has sizes [n_tokens, 64] but rhs has sizes [n_outputs, 64]}}
  %z = llm.add %x, %y : tensor<?x64xf32>
  return
}
llm.weight @emb : !llm.weight<128x64, f16> {sources = ["emb"]}

// -----

// A dynamic size must come from a symbol argument.
func.func @decode(%n: index) attributes {llm.entry} {
  // expected-error @+1 {{'llm.step_input' op has a dynamic size that is not an llm.symbol entry argument}}
  %a = llm.step_input "tokens" [%n] : tensor<?xi32>
  return
}

// -----

// Per-step tensors are not entry arguments.
// expected-error @+1 {{entry argument #0 is a tensor; per-step tensors must come from llm.step_input}}
func.func @decode(%t: tensor<?xi32>) attributes {llm.entry} {
  return
}
