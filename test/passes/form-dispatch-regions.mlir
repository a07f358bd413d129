// RUN: llmc-opt %s --llmc-symbolic-shapes --llmc-form-dispatch-regions | FileCheck %s

// Every compute op starts a region; silu joins mul's region because mul is its
// only user (one kernel for the SwiGLU product). Step inputs, weight
// references and reshapes stay outside: they are views, not work.

llm.weight @norm : !llm.weight<64, f32> {sources = ["n"]}
llm.weight @gate : !llm.weight<128x64, f16> {sources = ["g"]}
llm.weight @up : !llm.weight<128x64, f16> {sources = ["u"]}
llm.weight @emb : !llm.weight<256x64, f16> {sources = ["e"]}

// CHECK-LABEL: func.func @decode
func.func @decode(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 4>}) -> tensor<?x4x32xf32> attributes {llm.entry} {
  // CHECK: %[[TOK:.*]] = llm.step_input "tokens"
  %tok = llm.step_input "tokens" [%n] : tensor<?xi32>
  %e = llm.weight_ref @emb : !llm.weight<256x64, f16>
  // CHECK: %[[X:.*]] = llm.dispatch_region(%[[TOK]], %{{.*}}) {{.*}}: (tensor<?xi32>, !llm.weight<256x64, f16>) -> tensor<?x64xf32> {
  // CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<?xi32>, %[[B:.*]]: !llm.weight<256x64, f16>):
  // CHECK-NEXT: %[[E:.*]] = llm.embedding %[[A]], %[[B]]
  // CHECK-NEXT: llm.yield %[[E]] : tensor<?x64xf32>
  %x = llm.embedding %tok, %e : tensor<?xi32>, !llm.weight<256x64, f16> -> tensor<?x64xf32>
  %g = llm.weight_ref @norm : !llm.weight<64, f32>
  // CHECK: llm.dispatch_region
  // CHECK: llm.rms_norm
  %h = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  %wg = llm.weight_ref @gate : !llm.weight<128x64, f16>
  %wu = llm.weight_ref @up : !llm.weight<128x64, f16>
  // CHECK: llm.dispatch_region
  // CHECK: llm.linear
  %a = llm.linear %h, %wg : tensor<?x64xf32>, !llm.weight<128x64, f16> -> tensor<?x128xf32>
  // CHECK: llm.dispatch_region
  // CHECK: llm.linear
  %b = llm.linear %h, %wu : tensor<?x64xf32>, !llm.weight<128x64, f16> -> tensor<?x128xf32>
  // CHECK: %[[SW:.*]] = llm.dispatch_region(%{{.*}}, %{{.*}}) {{.*}}: (tensor<?x128xf32>, tensor<?x128xf32>) -> tensor<?x128xf32> {
  // CHECK: llm.silu
  // CHECK-NEXT: llm.mul
  // CHECK-NEXT: llm.yield
  %s = llm.silu %a : tensor<?x128xf32>
  %m = llm.mul %s, %b : tensor<?x128xf32>
  // CHECK: llm.reshape %[[SW]]
  %r = llm.reshape %m : tensor<?x128xf32> -> tensor<?x4x32xf32>
  return %r : tensor<?x4x32xf32>
}
