// RUN: llmc-opt %s --llmc-symbolic-shapes --llmc-form-dispatch-regions --llmc-outline-kernels --llmc-bufferize-entries | FileCheck %s

// Dispatch results become buffers sized by their symbolic shapes, dispatches
// become launches that write them, step inputs become views of the step
// buffer and reshapes become collapse/expand views (no copy). The entry now
// returns a buffer.

llm.weight @emb : !llm.weight<256x64, f16> {sources = ["e"]}
llm.weight @norm : !llm.weight<64, f32> {sources = ["n"]}

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: (%[[N:.*]]: index {{.*}}, %[[M:.*]]: index {{.*}}) -> memref<?x64xf32>
func.func @prefill(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 64>},
                   %m: index {llm.symbol = #llm.symbol<"n_outputs", max = 64>})
    -> tensor<?x64xf32> attributes {llm.entry} {
  // CHECK: %[[TOK:.*]] = llm.step_buffer "tokens" [%[[N]]] {{.*}}: memref<?xi32>
  // CHECK: %[[ROWS:.*]] = llm.step_buffer "out_rows" [%[[M]]] {{.*}}: memref<?xi32>
  %tok = llm.step_input "tokens" [%n] : tensor<?xi32>
  %rows = llm.step_input "out_rows" [%m] : tensor<?xi32>
  %e = llm.weight_ref @emb : !llm.weight<256x64, f16>
  // CHECK: %[[X:.*]] = memref.alloc(%[[N]]) : memref<?x64xf32>
  // CHECK: llm.launch @k0_embedding ins(%[[TOK]], %{{.*}} : memref<?xi32>, !llm.weight<256x64, f16>) outs(%[[X]] : memref<?x64xf32>)
  %x = llm.embedding %tok, %e : tensor<?xi32>, !llm.weight<256x64, f16> -> tensor<?x64xf32>
  // CHECK: %[[R:.*]] = memref.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 16] : memref<?x64xf32> into memref<?x4x16xf32>
  %r = llm.reshape %x : tensor<?x64xf32> -> tensor<?x4x16xf32>
  // CHECK: %[[F:.*]] = memref.collapse_shape %[[R]] {{\[}}[0], [1, 2]] : memref<?x4x16xf32> into memref<?x64xf32>
  %f = llm.reshape %r : tensor<?x4x16xf32> -> tensor<?x64xf32>
  // CHECK: %[[S:.*]] = memref.alloc(%[[M]]) : memref<?x64xf32>
  // CHECK: llm.launch @k1_select_rows ins(%[[F]], %[[ROWS]] : memref<?x64xf32>, memref<?xi32>) outs(%[[S]] : memref<?x64xf32>)
  %s = llm.select_rows %f[%rows] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %g = llm.weight_ref @norm : !llm.weight<64, f32>
  // CHECK: %[[Y:.*]] = memref.alloc(%[[M]]) : memref<?x64xf32>
  // CHECK: llm.launch @k2_rms_norm ins(%[[S]], %{{.*}} : memref<?x64xf32>, !llm.weight<64, f32>) outs(%[[Y]] : memref<?x64xf32>)
  %y = llm.rms_norm %s, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  // CHECK: return %[[Y]] : memref<?x64xf32>
  return %y : tensor<?x64xf32>
}
