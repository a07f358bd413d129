// RUN: llmc-opt %s --llmc-symbolic-shapes --llmc-form-dispatch-regions --llmc-outline-kernels --mlir-print-local-scope | FileCheck %s

// Each region becomes a kernel function and a dispatch. The two layers' norms
// differ only in their weight operand and share one kernel; the two layers'
// KV appends share one kernel whose layer moves to the dispatch (kv_layer).

llm.weight @n0 : !llm.weight<64, f32> {sources = ["n0"]}
llm.weight @n1 : !llm.weight<64, f32> {sources = ["n1"]}
llm.weight @emb : !llm.weight<8x64, f32> {sources = ["e"]}

// CHECK-LABEL: func.func @decode
func.func @decode(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 4>},
                  %kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 32, blockSize = 16, f32>)
    -> tensor<?x64xf32> attributes {llm.entry} {
  %slots = llm.step_input "slots" [%n] : tensor<?xi32>
  %tok = llm.step_input "tokens" [%n] : tensor<?xi32>
  %w0 = llm.weight_ref @n0 : !llm.weight<64, f32>
  %w1 = llm.weight_ref @n1 : !llm.weight<64, f32>
  %wm = llm.weight_ref @emb : !llm.weight<8x64, f32>
  %x = llm.embedding %tok, %wm : tensor<?xi32>, !llm.weight<8x64, f32> -> tensor<?x64xf32>
  // CHECK: %[[A:.*]] = llm.dispatch @[[NORM:k[0-9]+_rms_norm]](%{{.*}}, %{{.*}}) {llm.shape = affine_map<()[s0] -> (s0, 64)>}
  %a = llm.rms_norm %x, %w0 {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  // CHECK: llm.dispatch @[[NORM]](%[[A]], %{{.*}})
  %b = llm.rms_norm %a, %w1 {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  %k = llm.reshape %b : tensor<?x64xf32> -> tensor<?x2x32xf32>
  // CHECK: llm.dispatch @[[APPEND:k[0-9]+_kv_append]]({{.*}}) {kv_layer = 0 : i64}
  llm.kv_append %k, %k into %kv[0] at %slots : tensor<?x2x32xf32>, tensor<?x2x32xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 32, blockSize = 16, f32>, tensor<?xi32>
  // CHECK: llm.dispatch @[[APPEND]]({{.*}}) {kv_layer = 1 : i64}
  llm.kv_append %k, %k into %kv[1] at %slots : tensor<?x2x32xf32>, tensor<?x2x32xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 32, blockSize = 16, f32>, tensor<?xi32>
  return %b : tensor<?x64xf32>
}

// The kernels: arguments carry their symbolic sizes; the cache layer is 0.
// CHECK: func.func private @[[NORM]](%{{.*}}: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}, %{{.*}}: !llm.weight<64, f32>) -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel}
// CHECK: func.func private @[[APPEND]]
// CHECK: llm.kv_append {{.*}}[0]
// CHECK-NOT: func.func private
