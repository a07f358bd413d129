//===- SPIRVTarget.cpp - gpu kernels to validated SPIR-V for Vulkan ---------------===//

#include "codegen/spirv/SPIRVTarget.h"

#include "runtime/device/vulkan/VulkanProfile.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <spirv-tools/libspirv.hpp>

using namespace mlir;

namespace llmc::spirv_target {

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// What every llmc Vulkan kernel uses: subgroup builtins and reductions.
const char *kBaselineProfile = "vulkan1.1,subgroup-basic,subgroup-arithmetic";

bool hasFlag(const VulkanProfile &p, const char *flag) {
  return llvm::is_contained(p.features, std::string(flag));
}

/// The SPIR-V capabilities and extensions a profile's items stand for.
spirv::VerCapExtAttr vceFor(const VulkanProfile &profile, MLIRContext *ctx) {
  using C = spirv::Capability;
  using E = spirv::Extension;
  SmallVector<C> caps = {C::Shader};
  SmallVector<E> exts = {E::SPV_KHR_storage_buffer_storage_class};
  struct Item { const char *flag; C cap; };
  const Item items[] = {
      {"f16", C::Float16},
      {"f64", C::Float64},
      {"int8", C::Int8},
      {"int16", C::Int16},
      {"int64", C::Int64},
      {"storage8", C::StorageBuffer8BitAccess},
      {"storage16", C::StorageBuffer16BitAccess},
      {"subgroup-basic", C::GroupNonUniform},
      {"subgroup-vote", C::GroupNonUniformVote},
      {"subgroup-arithmetic", C::GroupNonUniformArithmetic},
      {"subgroup-ballot", C::GroupNonUniformBallot},
      {"subgroup-shuffle", C::GroupNonUniformShuffle},
      {"subgroup-shuffle-relative", C::GroupNonUniformShuffleRelative},
      {"subgroup-clustered", C::GroupNonUniformClustered},
      {"subgroup-quad", C::GroupNonUniformQuad},
  };
  for (const Item &item : items)
    if (hasFlag(profile, item.flag))
      caps.push_back(item.cap);
  if (hasFlag(profile, "storage8"))
    exts.push_back(E::SPV_KHR_8bit_storage);
  if (hasFlag(profile, "storage16"))
    exts.push_back(E::SPV_KHR_16bit_storage);
  // SPIR-V 1.3 (Vulkan 1.1) has everything the kernels use, so the binaries
  // run on any Vulkan 1.1 device that has the capabilities.
  return spirv::VerCapExtAttr::get(spirv::Version::V_1_3, caps, exts, ctx);
}

/// spirv-update-vce infers capabilities from ops, not from the builtins a
/// kernel reads: a kernel that reads SubgroupSize without any subgroup op
/// still needs GroupNonUniform.
void requireSubgroupCapability(spirv::ModuleOp module) {
  bool usesSubgroupBuiltins = false;
  module.walk([&](spirv::GlobalVariableOp var) {
    // The conversion attaches builtins as a discardable "built_in" attribute.
    auto builtin = var->getAttrOfType<StringAttr>("built_in");
    if (builtin)
      usesSubgroupBuiltins |= builtin.getValue().starts_with("Subgroup") ||
                              builtin.getValue() == "NumSubgroups";
  });
  auto vce = module.getVceTripleAttr();
  if (!usesSubgroupBuiltins || !vce)
    return;
  SmallVector<spirv::Capability> caps(vce.getCapabilities());
  if (llvm::is_contained(caps, spirv::Capability::GroupNonUniform))
    return;
  caps.push_back(spirv::Capability::GroupNonUniform);
  SmallVector<spirv::Extension> exts(vce.getExtensions());
  // GroupNonUniform exists from SPIR-V 1.3 on.
  spirv::Version version = std::max(vce.getVersion(), spirv::Version::V_1_3);
  module.setVceTripleAttr(
      spirv::VerCapExtAttr::get(version, caps, exts, module.getContext()));
}

int64_t workgroupBytes(mlir::gpu::GPUModuleOp module) {
  int64_t bytes = 0;
  module.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    if (type.hasStaticShape())
      bytes += type.getNumElements() * type.getElementTypeBitWidth() / 8;
  });
  return bytes;
}
} // namespace

llvm::Expected<std::string> resolveProfile(const std::string &requested,
                                           std::string *note) {
  if (!requested.empty()) {
    auto parsed = parseVulkanProfile(requested);
    if (!parsed.ok())
      return fail(parsed.message());
    if (note)
      *note = "the profile given (--vulkan-profile)";
    return formatVulkanProfile(*parsed);
  }
  auto device = describeVulkanProfile(0);
  if (device.ok()) {
    if (note)
      *note = "the profile of Vulkan device 0";
    return *device;
  }
  if (note)
    *note = "a baseline profile (no Vulkan device here: " + device.message() + ")";
  return std::string(kBaselineProfile);
}

std::string spirvLoweringPipeline() {
  return "gpu.module(arith-expand,convert-math-to-spirv),convert-gpu-to-spirv,"
         "spirv.module(spirv-lower-abi-attrs,spirv-update-vce)";
}

std::string validate(const std::vector<uint32_t> &words, uint32_t vulkanMinor) {
  spv_target_env env = vulkanMinor >= 3   ? SPV_ENV_VULKAN_1_3
                       : vulkanMinor == 2 ? SPV_ENV_VULKAN_1_2
                                          : SPV_ENV_VULKAN_1_1;
  spvtools::SpirvTools tools(env);
  std::string messages;
  tools.SetMessageConsumer([&](spv_message_level_t, const char *,
                               const spv_position_t &position,
                               const char *message) {
    if (!messages.empty())
      messages += "; ";
    messages += "word " + std::to_string(position.index) + ": " + message;
  });
  if (tools.Validate(words))
    return "";
  return messages.empty() ? "invalid SPIR-V" : messages;
}

llvm::Expected<SPIRVKernels> compileKernels(ModuleOp kernels,
                                            const std::string &profileText,
                                            uint64_t maxBindingBytes) {
  MLIRContext *ctx = kernels.getContext();
  auto parsed = parseVulkanProfile(profileText);
  if (!parsed.ok())
    return fail(parsed.message());
  VulkanProfile profile = *parsed;
  if (profile.major != 1 || profile.minor < 1)
    return fail("the Vulkan target needs Vulkan 1.1 or newer; the profile is '" +
                profileText + "'");
  for (const char *flag : {"subgroup-basic", "subgroup-arithmetic"})
    if (!hasFlag(profile, flag))
      return fail(llvm::Twine("llmc's Vulkan kernels need ") + flag +
                  " (subgroup operations in compute shaders); the profile '" +
                  profileText + "' lacks it");
  if (profile.maxBinding && maxBindingBytes > profile.maxBinding)
    return fail("a binding of " + llvm::Twine(maxBindingBytes) +
                " bytes exceeds the profile's max-binding=" +
                llvm::Twine(profile.maxBinding) +
                " (maxStorageBufferRange); the model is too large for this "
                "device");

  // What the kernels need, checked against the profile.
  int64_t sharedBytes = 0, threads = 0;
  SmallVector<mlir::gpu::GPUModuleOp> modules(
      kernels.getOps<mlir::gpu::GPUModuleOp>());
  for (auto module : modules) {
    sharedBytes = std::max(sharedBytes, workgroupBytes(module));
    if (auto wg = module->getAttrOfType<DenseI64ArrayAttr>("llm.workgroup_size"))
      threads = std::max(threads, wg[0] * wg[1] * wg[2]);
  }
  if (profile.sharedMemory && static_cast<uint64_t>(sharedBytes) > profile.sharedMemory)
    return fail("the kernels need " + llvm::Twine(sharedBytes) +
                " bytes of workgroup memory; the profile allows " +
                llvm::Twine(profile.sharedMemory));
  if (profile.workgroupInvocations &&
      static_cast<uint64_t>(threads) > profile.workgroupInvocations)
    return fail("the kernels need workgroups of " + llvm::Twine(threads) +
                " threads; the profile allows " +
                llvm::Twine(profile.workgroupInvocations));

  kernels->setAttr(spirv::getTargetEnvAttrName(),
                   spirv::TargetEnvAttr::get(vceFor(profile, ctx),
                                             spirv::getDefaultResourceLimits(ctx),
                                             spirv::ClientAPI::Vulkan));
  PassManager pm(ctx);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(spirvLoweringPipeline(), pm, errorStream)))
    return fail("bad SPIR-V pipeline: " + errors);
  if (failed(pm.run(kernels)))
    return fail("lowering the kernels to SPIR-V failed");

  llvm::StringMap<std::string> kernelNames;
  for (auto module : modules)
    if (auto name = module->getAttrOfType<StringAttr>("llm.kernel_name"))
      kernelNames["__spv__" + module.getName().str()] = name.getValue().str();
  SPIRVKernels out;
  for (auto module : kernels.getOps<spirv::ModuleOp>()) {
    std::string symbol = module.getName() ? module.getName()->str() : "";
    auto it = kernelNames.find(symbol);
    if (it == kernelNames.end())
      return fail("SPIR-V module '" + symbol + "' has no kernel");
    requireSubgroupCapability(module);
    SmallVector<uint32_t, 0> words;
    if (failed(spirv::serialize(module, words)))
      return fail("cannot serialize the SPIR-V of kernel " + it->second);
    std::vector<uint32_t> binary(words.begin(), words.end());
    std::string invalid = validate(binary, profile.minor);
    if (!invalid.empty())
      return fail("SPIR-V of kernel " + it->second + " does not validate: " +
                  invalid);
    std::vector<uint8_t> bytes(binary.size() * 4);
    std::memcpy(bytes.data(), binary.data(), bytes.size());
    out.binaries.emplace_back(it->second, std::move(bytes));
  }
  if (out.binaries.size() != modules.size())
    return fail("expected " + llvm::Twine(modules.size()) +
                " SPIR-V modules, got " + llvm::Twine(out.binaries.size()));

  VulkanProfile required;
  required.major = 1;
  required.minor = 1;
  required.features = {"subgroup-basic", "subgroup-arithmetic"};
  required.maxBinding = maxBindingBytes;
  required.sharedMemory = static_cast<uint64_t>(sharedBytes);
  required.workgroupInvocations = static_cast<uint64_t>(threads);
  out.requiredProfile = formatVulkanProfile(required);
  return out;
}

} // namespace llmc::spirv_target
