//===- GPUPasses.td - the GPU targets' passes -----------------------------------===//

#ifndef LLMC_GPU_PASSES
#define LLMC_GPU_PASSES

include "mlir/Pass/PassBase.td"

def GPULowerKernels : Pass<"llmc-gpu-lower-kernels", "::mlir::ModuleOp"> {
  let summary = "Lowers each llm.kernel to a gpu.func behind the dispatch ABI";
  let description = [{
    Every function marked `llm.kernel` (llm ops on tensors) becomes a
    `gpu.module` holding one `gpu.func` kernel of the same name whose
    arguments are the dispatch's bindings (docs/gpu-abi.md): the step header,
    then one 1-d memref per tensor, weight and KV layer (keys, values). The
    inputs and matrices of linear layers are memrefs of vector<4xf32> or
    vector<4xi32> (16-byte loads); everything else is scalar. The module
    records `llm.grid`, `llm.num_bindings` and `llm.workgroup_size` on each
    gpu.module. Run on a module that holds only kernels.

    target=vulkan kernels assume no subgroup size (SPIR-V builtins) and use
    workgroup memory as address space 3 allocations; target=cuda kernels use
    32-lane shuffles and workgroup attributions.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"vulkan\"",
           "vulkan or cuda">,
    Option<"workgroupSize", "workgroup-size", "int64_t", "128",
           "threads per workgroup (attention takes at least head_dim)">,
    Option<"tiledPrefill", "tiled-prefill", "bool", "false",
           "Vulkan: linear kernels take 32-token tiles and compute prefill "
           "tiles from operands staged in workgroup memory (always on CUDA, "
           "where the staged operands feed tensor cores)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::spirv::SPIRVDialect",
    "::mlir::vector::VectorDialect"];
}

#endif // LLMC_GPU_PASSES
