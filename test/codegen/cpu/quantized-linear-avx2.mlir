// RUN: llmc-opt %s --llmc-cpu-lower-kernels="vector-width=8 vnni=0" --mlir-print-local-scope | FileCheck %s

// The AVX2 fallback on the rows8 layout (8 rows per 256-bit register): u8 x s8
// pairs to int16 with vpmaddubsw, pairs of int16 to int32 with vpmaddwd.
// Q8_0 quants stay signed here: |w| goes on the unsigned side and w's sign
// onto the activation (vpsignb), which keeps every pair sum within int16.
// CHECK-LABEL: func.func @k_q8
// CHECK: vector.load {{.*}} : memref<8704xi8>, vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.psign.b"({{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
// CHECK: math.absi {{.*}} : vector<32xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"({{.*}}) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"({{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_q8(%x: tensor<?x320xi8> {llm.shape = affine_map<()[s0] -> (s0, 320)>},
                  %w: !llm.weight<32x256, q8_0, rows8>)
      -> (tensor<?x32xf32> {llm.shape = affine_map<()[s0] -> (s0, 32)>}) attributes {llm.kernel} {
    %y = llm.linear %x, %w : tensor<?x320xi8>, !llm.weight<32x256, q8_0, rows8> -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}
