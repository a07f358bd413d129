// RUN: llmc-opt %s --llmc-cpu-lower-kernels="vector-width=16 vnni=1" --mlir-print-local-scope | FileCheck %s

// A Q4_0 linear on the rows16 layout with int8 activations (AVX-512 VNNI):
// 64-byte loads hold 4 quants of each of 16 rows (one row per 32-bit lane),
// low and high nibbles are masked apart, 4 activation bytes are broadcast and
// vpdpbusd accumulates u8 x s8 products into the 16 row lanes, starting from
// -8 x the activation block's sum (the nibbles' offset). Even and odd words
// feed separate accumulators, and for a single token 4 row groups run side
// by side, so the dot products' latency does not serialize the stream.
// CHECK-LABEL: func.func @k_q4
// CHECK-SAME: llm.grid = affine_map<()[s0] -> (2, s0 ceildiv 4, 1)>
// CHECK: vector.load {{.*}} : memref<9216xi8>, vector<64xi8>
// CHECK: arith.andi {{.*}} : vector<16xi32>
// CHECK: arith.shrui
// CHECK: vector.broadcast {{.*}} : i32 to vector<16xi32>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"({{.*}}) : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>
// CHECK: arith.extf {{.*}} : vector<16xf16> to vector<16xf32>
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: vector.fma
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_q4(%x: tensor<?x320xi8> {llm.shape = affine_map<()[s0] -> (s0, 320)>},
                  %w: !llm.weight<64x256, q4_0, rows16>)
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    %y = llm.linear %x, %w : tensor<?x320xi8>, !llm.weight<64x256, q4_0, rows16> -> tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}
