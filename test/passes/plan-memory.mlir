// RUN: llmc-opt %s --llmc-symbolic-shapes --llmc-form-dispatch-regions --llmc-outline-kernels --llmc-bufferize-entries --llmc-plan-memory=alignment=64 | FileCheck %s

// A chain of four [n_tokens, 64] f32 buffers (64 x 64 x 4 = 16384 bytes at the
// maximum of 64 tokens): each lives from its launch to its consumer, so two
// slots suffice and the arena is half the unplanned sum. Each launch lists the
// ranges that die with it (poison mode); the returned buffer never dies. The
// step buffer holds the symbols' values (padded to 64 bytes), then tokens.

llm.weight @emb : !llm.weight<256x64, f16> {sources = ["e"]}
llm.weight @norm : !llm.weight<64, f32> {sources = ["n"]}

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: attributes {llm.arena_bytes = 32768 : i64, llm.entry, llm.step_bytes = 320 : i64, llm.unplanned_bytes = 65536 : i64}
func.func @prefill(%n: index {llm.symbol = #llm.symbol<"n_tokens", max = 64>})
    -> tensor<?x64xf32> attributes {llm.entry} {
  // CHECK: %[[ARENA:.*]] = llm.arena : memref<32768xi8>
  // CHECK: llm.step_buffer "tokens" [%{{.*}}] {llm.bytes = 256 : i64, {{.*}}offset = 64 : i64}
  %tok = llm.step_input "tokens" [%n] : tensor<?xi32>
  %e = llm.weight_ref @emb : !llm.weight<256x64, f16>
  %g = llm.weight_ref @norm : !llm.weight<64, f32>
  // CHECK: %[[A:.*]] = memref.view %[[ARENA]][%c[[OA:[0-9]+]]][%{{.*}}] {llm.bytes = 16384 : i64}
  // CHECK: llm.launch @k0_embedding
  %x = llm.embedding %tok, %e : tensor<?xi32>, !llm.weight<256x64, f16> -> tensor<?x64xf32>
  // CHECK: %[[B:.*]] = memref.view %[[ARENA]][%c[[OB:[0-9]+]]]
  // CHECK: llm.launch @k1_rms_norm ins(%[[A]], {{.*}} outs(%[[B]] {{.*}} {llm.frees = [array<i64: [[OA]], 16384>]}
  %y = llm.rms_norm %x, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  // The third buffer reuses the first one's bytes.
  // CHECK: memref.view %[[ARENA]][%c[[OA]]{{(_[0-9]+)?}}]
  // CHECK: llm.launch @k1_rms_norm {{.*}} {llm.frees = [array<i64: [[OB]], 16384>]}
  %z = llm.rms_norm %y, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  // CHECK: memref.view %[[ARENA]][%c[[OB]]{{(_[0-9]+)?}}]
  %w = llm.rms_norm %z, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
  return %w : tensor<?x64xf32>
}
