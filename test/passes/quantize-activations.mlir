// RUN: llmc-opt %s --llmc-symbolic-shapes --llmc-quantize-activations --mlir-print-local-scope | FileCheck %s

// Linears on Q8_0/Q4_0 weights read int8 activation blocks: the input is
// quantized once per value (q and k share it), rows of K values becoming
// K + K/4 bytes; f16 weights keep f32 inputs.

llm.weight @q : !llm.weight<64x64, q4_0, rows16> {sources = ["q"]}
llm.weight @k : !llm.weight<32x64, q8_0, rows16> {sources = ["k"]}
llm.weight @f : !llm.weight<64x64, f16> {sources = ["f"]}
llm.weight @emb : !llm.weight<16x64, f32> {sources = ["e"]}

// CHECK-LABEL: func.func @decode
func.func @decode(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 4>}) -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x64xf32>) attributes {llm.entry} {
  %t = llm.step_input "tokens" [%n] : tensor<?xi32>
  %e = llm.weight_ref @emb : !llm.weight<16x64, f32>
  // CHECK: %[[X:.*]] = llm.embedding
  %x = llm.embedding %t, %e : tensor<?xi32>, !llm.weight<16x64, f32> -> tensor<?x64xf32>
  // CHECK-NEXT: %[[Q8:.*]] = llm.quantize_act %[[X]] {llm.shape = affine_map<()[s0] -> (s0, 80)>} : tensor<?x64xf32> -> tensor<?x80xi8>
  // CHECK-NOT: llm.quantize_act
  %wq = llm.weight_ref @q : !llm.weight<64x64, q4_0, rows16>
  %wk = llm.weight_ref @k : !llm.weight<32x64, q8_0, rows16>
  %wf = llm.weight_ref @f : !llm.weight<64x64, f16>
  // CHECK: llm.linear %[[Q8]], %{{.*}} {{.*}}: tensor<?x80xi8>, !llm.weight<64x64, q4_0, rows16>
  %q = llm.linear %x, %wq : tensor<?x64xf32>, !llm.weight<64x64, q4_0, rows16> -> tensor<?x64xf32>
  // CHECK: llm.linear %[[Q8]], %{{.*}} {{.*}}: tensor<?x80xi8>, !llm.weight<32x64, q8_0, rows16>
  %k = llm.linear %x, %wk : tensor<?x64xf32>, !llm.weight<32x64, q8_0, rows16> -> tensor<?x32xf32>
  // CHECK: llm.linear %[[X]], %{{.*}} {{.*}}: tensor<?x64xf32>, !llm.weight<64x64, f16>
  %f = llm.linear %x, %wf : tensor<?x64xf32>, !llm.weight<64x64, f16> -> tensor<?x64xf32>
  return %q, %k, %f : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x64xf32>
}
