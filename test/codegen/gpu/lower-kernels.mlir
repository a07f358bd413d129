// RUN: llmc-opt %s --split-input-file --llmc-gpu-lower-kernels=target=vulkan --canonicalize --mlir-print-local-scope | FileCheck %s --check-prefixes=CHECK,VK
// RUN: llmc-opt %s --split-input-file --llmc-gpu-lower-kernels=target=cuda --canonicalize --mlir-print-local-scope | FileCheck %s --check-prefixes=CHECK,CU
// RUN: not llmc-opt %s --split-input-file --llmc-gpu-lower-kernels=target=metal 2>&1 | FileCheck %s --check-prefix=BAD

// Every kernel becomes a gpu.func in its own gpu.module whose arguments are
// the dispatch's bindings (step header first); the module records the grid,
// the binding count and the workgroup size for the program. Vulkan kernels
// read the subgroup size from the device and reduce with subgroup_reduce
// (SPIR-V GroupNonUniform); CUDA kernels use 32-lane xor shuffles.

// A Q4_0 linear: its input and matrix are read as 16-byte vectors (a Q4_0
// block per lane per step), one subgroup reduction per row and token, the
// tile in workgroup memory, a barrier, then the epilogue stores. Vulkan
// workgroups take 4 tokens; CUDA ones 32, the tiles of more than 4 (prefill)
// on tensor cores: f16 operands staged in workgroup memory, WMMA.
// CHECK-LABEL: gpu.module @k_linear_module
// VK-SAME: llm.grid = affine_map<()[s0] -> (4, s0 ceildiv 4, 1)>
// CU-SAME: llm.grid = affine_map<()[s0] -> (4, s0 ceildiv 32, 1)>
// CHECK-SAME: llm.kernel_name = "k_linear"
// CHECK-SAME: llm.num_bindings = 4 : i64
// CHECK-SAME: llm.workgroup_size = array<i64: 128, 1, 1>
// CHECK: gpu.func @k_linear(%{{.*}}: memref<?xi32>, %{{.*}}: memref<?xvector<4xf32>>, %{{.*}}: memref<?xvector<4xi32>>, %{{.*}}: memref<?xf32>)
// CU-SAME: workgroup(%{{.*}} : memref<512xf32, #gpu.address_space<workgroup>> {llvm.align = 32 : i64}, %{{.*}} : memref<32x40xf16, #gpu.address_space<workgroup>> {llvm.align = 32 : i64}, %{{.*}} : memref<32x24xf16, #gpu.address_space<workgroup>> {llvm.align = 32 : i64})
// CHECK-SAME: kernel
// VK-SAME: spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [128, 1, 1]>
// VK: memref.alloc() : memref<64xf32, 3>
// VK: gpu.subgroup_size : index
// CHECK: scf.for
// CHECK: memref.load {{.*}} : memref<?xvector<4xi32>>
// CHECK: memref.load {{.*}} : memref<?xvector<4xf32>>
// CHECK: arith.andi {{.*}} : i32
// CHECK: math.fma
// VK: gpu.subgroup_reduce add
// CU: gpu.shuffle  xor {{.*}}, %c16_i32, %c32_i32 : f32
// CU: gpu.shuffle  xor {{.*}}, %c1_i32, %c32_i32 : f32
// CU: arith.truncf {{.*}} : f32 to f16
// CU: gpu.subgroup_mma_load_matrix {{.*}} {leadDimension = 40 : index} : memref<32x40xf16, #gpu.address_space<workgroup>> -> !gpu.mma_matrix<16x16xf16, "AOp">
// CU: gpu.subgroup_mma_load_matrix {{.*}} {leadDimension = 24 : index} : memref<32x24xf16, #gpu.address_space<workgroup>> -> !gpu.mma_matrix<16x16xf16, "BOp">
// CU: gpu.subgroup_mma_compute
// CU: gpu.subgroup_mma_store_matrix
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}} : memref<?xf32>
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_linear(%x: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
                      %w: !llm.weight<64x64, q4_0, split>)
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    %y = llm.linear %x, %w : tensor<?x64xf32>, !llm.weight<64x64, q4_0, split> -> tensor<?x64xf32>
    return %y : tensor<?x64xf32>
  }
}

// -----

// Attention: one workgroup per (token, head), keys in tiles of 32 scored by
// subgroups, the running maximum and sum carried across tiles.
// CHECK-LABEL: gpu.module @k_attention_module
// CHECK-SAME: llm.grid = affine_map<()[s0, s1] -> (s0, 4, 1)>
// CHECK-SAME: llm.num_bindings = 8 : i64
// CHECK: gpu.func @k_attention(%{{.*}}: memref<?xi32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xf32>)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32)
// VK: gpu.subgroup_reduce add
// CU: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: math.exp
// CHECK: gpu.barrier
module attributes {llm.symbols = ["n_tokens", "n_seqs"]} {
  func.func @k_attention(%q: tensor<?x4x16xf32> {llm.shape = affine_map<()[s0, s1] -> (s0, 4, 16)>},
                         %kv: !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>,
                         %pos: tensor<?xi32> {llm.shape = affine_map<()[s0, s1] -> (s0)>},
                         %seq: tensor<?xi32> {llm.shape = affine_map<()[s0, s1] -> (s0)>},
                         %tables: tensor<?x32xi32> {llm.shape = affine_map<()[s0, s1] -> (s1, 32)>})
      -> (tensor<?x4x16xf32> {llm.shape = affine_map<()[s0, s1] -> (s0, 4, 16)>}) attributes {llm.kernel} {
    %o = llm.attention %q, %kv[0], %pos, %seq, %tables {scale = 0.25 : f32} : tensor<?x4x16xf32>, !llm.kv_cache<layers = 2, kvHeads = 2, headDim = 16, blockSize = 16, f32>, tensor<?xi32>, tensor<?xi32>, tensor<?x32xi32> -> tensor<?x4x16xf32>
    return %o : tensor<?x4x16xf32>
  }
}

// -----

// rms_norm with a fused residual add: a workgroup per row, the sum of squares
// reduced across the workgroup through workgroup memory.
// CHECK-LABEL: gpu.module @k_norm_module
// CHECK-SAME: llm.grid = affine_map<()[s0] -> (s0, 1, 1)>
// CHECK: gpu.func @k_norm
// VK: memref.alloc() : memref<128xf32, 3>
// CU-SAME: workgroup(%{{.*}} : memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 32 : i64})
// CHECK: scf.for
// CHECK: arith.addf
// VK: gpu.subgroup_reduce add
// CU: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: math.rsqrt
module attributes {llm.symbols = ["n_tokens"]} {
  func.func @k_norm(%a: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
                    %b: tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
                    %g: !llm.weight<64, f32>)
      -> (tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>},
          tensor<?x64xf32> {llm.shape = affine_map<()[s0] -> (s0, 64)>}) attributes {llm.kernel} {
    %s = llm.add %a, %b : tensor<?x64xf32>
    %n = llm.rms_norm %s, %g {eps = 1.0e-5 : f32} : tensor<?x64xf32>, !llm.weight<64, f32> -> tensor<?x64xf32>
    return %s, %n : tensor<?x64xf32>, tensor<?x64xf32>
  }
}

// BAD: unknown GPU target 'metal' (expected vulkan or cuda)
