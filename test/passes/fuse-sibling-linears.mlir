// RUN: llmc-opt %s --llmc-form-dispatch-regions --llmc-fuse-sibling-linears | FileCheck %s

// Linear layers that read the same input share one region (one kernel reads
// and quantizes the input once); a linear on another input stays apart. The
// reshape of the first result, between the siblings, moves below them.

llm.weight @q : !llm.weight<64x64, f16> {sources = ["q"]}
llm.weight @k : !llm.weight<32x64, f16> {sources = ["k"]}
llm.weight @o : !llm.weight<64x64, f16> {sources = ["o"]}

// CHECK-LABEL: func.func @decode
func.func @decode(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>)
    -> (tensor<4x2x32xf32>, tensor<4x32xf32>, tensor<4x64xf32>) attributes {llm.entry} {
  %wq = llm.weight_ref @q : !llm.weight<64x64, f16>
  %wk = llm.weight_ref @k : !llm.weight<32x64, f16>
  %wo = llm.weight_ref @o : !llm.weight<64x64, f16>
  // CHECK: %[[QK:.*]]:2 = llm.dispatch_region(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<4x64xf32>, !llm.weight<64x64, f16>, !llm.weight<32x64, f16>) -> (tensor<4x64xf32>, tensor<4x32xf32>)
  // CHECK-NEXT: ^bb0
  // CHECK-NEXT: llm.linear
  // CHECK-NEXT: llm.linear
  // CHECK-NEXT: llm.yield
  // CHECK: llm.reshape %[[QK]]#0
  %q = llm.linear %x, %wq : tensor<4x64xf32>, !llm.weight<64x64, f16> -> tensor<4x64xf32>
  %q3 = llm.reshape %q : tensor<4x64xf32> -> tensor<4x2x32xf32>
  %k = llm.linear %x, %wk : tensor<4x64xf32>, !llm.weight<32x64, f16> -> tensor<4x32xf32>
  // CHECK: llm.dispatch_region(%{{.*}}, %{{.*}}) : (tensor<4x64xf32>, !llm.weight<64x64, f16>) -> tensor<4x64xf32>
  %o = llm.linear %y, %wo : tensor<4x64xf32>, !llm.weight<64x64, f16> -> tensor<4x64xf32>
  return %q3, %k, %o : tensor<4x2x32xf32>, tensor<4x32xf32>, tensor<4x64xf32>
}
