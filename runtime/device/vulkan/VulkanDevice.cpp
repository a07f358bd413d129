//===- VulkanDevice.cpp - running programs on a Vulkan device -------------------===//

#include "runtime/device/vulkan/VulkanDevice.h"

#include <algorithm>
#include <cstring>

namespace llmc {

using vulkan::Buffer;
using vulkan::BufferRange;
using vulkan::MemoryKind;

namespace {
std::string str(const flatbuffers::String *s) { return s ? s->str() : std::string(); }

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/// Slack after the step buffer and the arena, so a binding at their very end
/// still has a non-empty range.
constexpr uint64_t kSlack = 256;
} // namespace

Result<std::unique_ptr<VulkanDevice>>
VulkanDevice::create(int index, const VulkanDeviceOptions &options) {
  vulkan::ContextOptions contextOptions;
  contextOptions.loaderPath = options.loaderPath;
  contextOptions.forceStaging = options.forceStaging;
  LLMC_ASSIGN_OR_RETURN(std::unique_ptr<vulkan::Context> ctx,
                        vulkan::Context::create(index, contextOptions));
  std::unique_ptr<VulkanDevice> device(new VulkanDevice());
  device->ctx_ = std::move(ctx);
  device->index_ = index;
  device->vkOptions_ = options;
  device->vkOptions_.commandCacheSize = std::max<size_t>(1, options.commandCacheSize);
  return device;
}

VulkanDevice::~VulkanDevice() {
  if (ctx_) {
    ctx_->fn().vkDeviceWaitIdle(ctx_->device());
    releaseRecorded();
  }
}

void VulkanDevice::releaseRecorded() {
  for (Recorded &r : recorded_)
    ctx_->freeCommandBuffer(r.commands);
  recorded_.clear();
}

std::string VulkanDevice::description() const {
  const vulkan::PhysicalDevice &d = ctx_->physical();
  const VkPhysicalDeviceProperties &p = d.properties;
  return "vulkan:" + std::to_string(index_) + " (" + d.caps.name + ", Vulkan " +
         std::to_string(VK_API_VERSION_MAJOR(p.apiVersion)) + "." +
         std::to_string(VK_API_VERSION_MINOR(p.apiVersion)) + "." +
         std::to_string(VK_API_VERSION_PATCH(p.apiVersion)) + ", subgroup " +
         std::to_string(subgroupSize_ ? subgroupSize_ : d.caps.subgroupSize) +
         ")";
}

Status VulkanDevice::load(std::shared_ptr<const Artifact> artifact,
                          const DeviceOptions &options) {
  const fb::Program &p = artifact->program();
  const fb::Target &target = *p.target();
  const std::string dir = artifact->dir();
  const vulkan::PhysicalDevice &phys = ctx_->physical();
  const VulkanCaps &caps = phys.caps;
  const std::string deviceName =
      "vulkan:" + std::to_string(index_) + " (" + caps.name + ")";
  std::string kind = str(target.kind());
  if (kind != "vulkan")
    return Status::error(dir + ": the artifact was compiled for " + kind +
                         ", not for Vulkan");
  if (!artifact->weights())
    return Status::error("the artifact was opened without its weights");

  // The profile: what the kernels need, against what the device has.
  std::string profileText = str(target.profile());
  auto parsed = parseVulkanProfile(profileText);
  if (!parsed.ok())
    return parsed.status().withContext(dir);
  VulkanProfile profile = parsed.take();
  if (uint32_t s = target.subgroup_size()) {
    if (profile.subgroupSize && profile.subgroupSize != s)
      return Status::error(dir + ": the program's subgroup size " +
                           std::to_string(s) + " disagrees with its profile '" +
                           profileText + "'");
    profile.subgroupSize = s;
  }
  std::string missing = missingFromVulkanProfile(profile, caps);
  if (!missing.empty())
    return Status::error(dir + ": compiled for Vulkan profile '" + profileText +
                         "'; " + deviceName + " lacks " + missing +
                         "; recompile the model for this device");
  subgroupSize_ = requiredSubgroupSize(profile, caps);

  const uint64_t maxRange = caps.maxStorageBufferRange;
  const uint64_t align = std::max<uint64_t>(256, phys.minStorageBufferOffsetAlignment);
  for (size_t i = 0; i < artifact->weightEntries().size(); ++i) {
    const WeightsEntry &w = *artifact->weightEntries()[i];
    if (w.bytes > maxRange)
      return Status::error(dir + ": weight '" + w.name + "' is " +
                           std::to_string(w.bytes) + " bytes, more than " +
                           deviceName + " can bind in one buffer "
                           "(maxStorageBufferRange " + std::to_string(maxRange) +
                           " bytes); weights are not split across bindings yet, so "
                           "this model does not fit this device");
  }

  loaded_ = false;
  artifact_ = std::move(artifact);
  options_ = options;
  releaseRecorded();
  lastEntry_ = SIZE_MAX;

  // Step buffer and arena: sized for the largest entry (never run at once).
  stepBytes_ = arenaBytes_ = 0;
  uint64_t outputBytes = 0;
  for (const fb::Entry *e : *p.entries()) {
    stepBytes_ = std::max<uint64_t>(stepBytes_, e->step_bytes());
    arenaBytes_ = std::max<uint64_t>(arenaBytes_, e->arena_bytes());
    outputBytes = std::max<uint64_t>(outputBytes, e->output()->bytes());
  }
  LLMC_ASSIGN_OR_RETURN(step_, ctx_->createBuffer(stepBytes_ + kSlack,
                                                  MemoryKind::Host,
                                                  "the step buffer"));
  LLMC_ASSIGN_OR_RETURN(arena_, ctx_->createBuffer(alignUp(arenaBytes_ + kSlack, 4),
                                                   MemoryKind::Device,
                                                   "the arena"));
  LLMC_RETURN_IF_ERROR(ctx_->fill(arena_, 0, arena_.size(), 0));
  readback_.reset();
  if (!arena_.mapped()) {
    LLMC_ASSIGN_OR_RETURN(readback_, ctx_->createBuffer(outputBytes,
                                                        MemoryKind::Readback,
                                                        "the logits readback buffer"));
  }

  // KV cache: keys and values per layer, zero-filled.
  const fb::KVCache &kv = *p.kv();
  layerBytes_ = static_cast<uint64_t>(options.kvBlocks) * kv.block_size() *
                kv.kv_heads() * kv.head_dim() * kv.element_bytes();
  if (layerBytes_ > maxRange)
    return Status::error(
        "a KV cache layer of " + std::to_string(options.kvBlocks) +
        " blocks is " + std::to_string(layerBytes_) + " bytes, more than " +
        deviceName + " can bind (maxStorageBufferRange " +
        std::to_string(maxRange) + " bytes); use a smaller context or KV budget");
  keys_.clear();
  values_.clear();
  uint64_t layerAlloc = alignUp(std::max<uint64_t>(layerBytes_, 4), 4);
  for (uint32_t l = 0; l < kv.layers(); ++l) {
    std::string layer = std::to_string(l);
    LLMC_ASSIGN_OR_RETURN(Buffer keys, ctx_->createBuffer(
                                           layerAlloc, MemoryKind::Device,
                                           "the key cache of layer " + layer));
    LLMC_ASSIGN_OR_RETURN(Buffer values, ctx_->createBuffer(
                                             layerAlloc, MemoryKind::Device,
                                             "the value cache of layer " + layer));
    LLMC_RETURN_IF_ERROR(ctx_->fill(keys, 0, layerAlloc, 0));
    LLMC_RETURN_IF_ERROR(ctx_->fill(values, 0, layerAlloc, 0));
    keys_.push_back(std::move(keys));
    values_.push_back(std::move(values));
  }

  // Weights: packed into chunks of at most 1 GiB (or the allocation limit),
  // each weight at an aligned offset, uploaded from the mapped weights.bin.
  uint64_t chunkCap = std::min<uint64_t>(1ull << 30, phys.maxBufferSize);
  if (phys.maxMemoryAllocationSize)
    chunkCap = std::min<uint64_t>(chunkCap, phys.maxMemoryAllocationSize);
  const auto &entries = artifact_->weightEntries();
  weights_.assign(entries.size(), WeightPlace());
  std::vector<uint64_t> chunkSizes;
  for (size_t i = 0; i < entries.size(); ++i) {
    uint64_t bytes = entries[i]->bytes;
    uint64_t footprint = alignUp(std::max<uint64_t>(bytes, 4), align);
    if (chunkSizes.empty() || chunkSizes.back() + footprint > chunkCap)
      chunkSizes.push_back(0);
    weights_[i] = {static_cast<uint32_t>(chunkSizes.size() - 1),
                   chunkSizes.back(), bytes};
    chunkSizes.back() += footprint;
  }
  weightChunks_.clear();
  stats_.weightBytes = 0;
  for (size_t c = 0; c < chunkSizes.size(); ++c) {
    LLMC_ASSIGN_OR_RETURN(Buffer chunk,
                          ctx_->createBuffer(chunkSizes[c], MemoryKind::Device,
                                             "weights (" +
                                                 std::to_string(chunkSizes[c]) +
                                                 " bytes in buffer " +
                                                 std::to_string(c) + ")"));
    weightChunks_.push_back(std::move(chunk));
    stats_.weightBytes += chunkSizes[c];
  }
  stats_.weightBuffers = weightChunks_.size();
  std::vector<vulkan::Context::Upload> uploads;
  for (size_t i = 0; i < entries.size(); ++i)
    uploads.push_back({&weightChunks_[weights_[i].chunk], weights_[i].offset,
                       artifact_->weights()->data(*entries[i]), entries[i]->bytes});
  LLMC_RETURN_IF_ERROR(ctx_->uploadMany(uploads).withContext(
      dir + "/weights.bin: uploading to " + deviceName));

  // Pipelines: one per kernel, from its binary's entry point of that name.
  pipelines_.clear();
  size_t numBinaries = p.binaries() ? p.binaries()->size() : 0;
  std::vector<vulkan::ShaderModule> modules(numBinaries);
  std::vector<std::vector<vulkan::SpirvEntryPoint>> entryPoints(numBinaries);
  for (const fb::Kernel *k : *p.kernels()) {
    std::string name = str(k->name());
    auto fail = [&](const std::string &m) {
      return Status::error(dir + ": kernel '" + name + "': " + m);
    };
    uint32_t b = k->binary();
    if (b >= numBinaries || !p.binaries()->Get(b)->data())
      return fail("binary " + std::to_string(b) + " is missing");
    if (!modules[b].handle()) {
      const auto *data = p.binaries()->Get(b)->data();
      if (data->size() % 4 || data->size() < 20)
        return fail("binary " + std::to_string(b) +
                    " is not a SPIR-V module (size " +
                    std::to_string(data->size()) + " bytes)");
      std::vector<uint32_t> words(data->size() / 4);
      std::memcpy(words.data(), data->data(), data->size());
      auto eps = vulkan::spirvEntryPoints(words.data(), words.size());
      if (!eps.ok())
        return fail(eps.message());
      entryPoints[b] = eps.take();
      LLMC_ASSIGN_OR_RETURN(modules[b], ctx_->createShaderModule(
                                            words.data(), words.size(),
                                            "binary " + std::to_string(b)));
    }
    const vulkan::SpirvEntryPoint *ep = nullptr;
    for (const vulkan::SpirvEntryPoint &e : entryPoints[b])
      if (e.name == name && e.executionModel == 5 /* GLCompute */)
        ep = &e;
    if (!ep)
      return fail("its SPIR-V module has no GLCompute entry point of that name");
    uint32_t wg[3] = {1, 1, 1};
    if (k->workgroup_size())
      for (uint32_t i = 0; i < 3 && i < k->workgroup_size()->size(); ++i)
        wg[i] = k->workgroup_size()->Get(i);
    if (ep->localSize[0] &&
        (ep->localSize[0] != wg[0] || ep->localSize[1] != wg[1] ||
         ep->localSize[2] != wg[2]))
      return fail("its SPIR-V local size " + std::to_string(ep->localSize[0]) +
                  "x" + std::to_string(ep->localSize[1]) + "x" +
                  std::to_string(ep->localSize[2]) +
                  " differs from the program's workgroup size");
    uint64_t invocations = uint64_t(wg[0]) * wg[1] * wg[2];
    if (wg[0] > phys.maxWorkGroupSize[0] || wg[1] > phys.maxWorkGroupSize[1] ||
        wg[2] > phys.maxWorkGroupSize[2] ||
        invocations > caps.maxComputeWorkGroupInvocations)
      return fail("a workgroup of " + std::to_string(wg[0]) + "x" +
                  std::to_string(wg[1]) + "x" + std::to_string(wg[2]) +
                  " is more than " + deviceName + " allows");
    LLMC_ASSIGN_OR_RETURN(vulkan::Pipeline pipeline,
                          ctx_->createPipeline(modules[b], name,
                                               k->num_bindings(), subgroupSize_));
    pipelines_.push_back(std::move(pipeline));
  }
  modules.clear(); // pipelines keep what they need

  // Descriptor sets: one per dispatch, written once (bindings are static).
  uint32_t numSets = 0, numDescriptors = 0;
  for (const fb::Entry *e : *p.entries())
    for (const fb::Dispatch *d : *e->dispatches()) {
      ++numSets;
      numDescriptors += d->bindings()->size();
    }
  sets_.clear();
  pool_.reset();
  LLMC_ASSIGN_OR_RETURN(pool_, ctx_->createDescriptorPool(numSets, numDescriptors));
  for (const fb::Entry *e : *p.entries()) {
    sets_.emplace_back();
    size_t index = 0;
    for (const fb::Dispatch *d : *e->dispatches()) {
      std::vector<BufferRange> ranges;
      size_t b = 0;
      for (const fb::Binding *binding : *d->bindings()) {
        std::string where = "entry '" + str(e->name()) + "', dispatch " +
                            std::to_string(index) + " (kernel '" +
                            str(p.kernels()->Get(d->kernel())->name()) +
                            "'), binding " + std::to_string(b++);
        auto range = resolve(*binding, where);
        if (!range.ok())
          return range.status().withContext(dir);
        ranges.push_back(*range);
      }
      LLMC_ASSIGN_OR_RETURN(VkDescriptorSet set,
                            ctx_->createDescriptorSet(pool_,
                                                      pipelines_[d->kernel()],
                                                      ranges));
      sets_.back().push_back(set);
      ++index;
    }
  }
  stats_.recordings = stats_.replays = 0;
  loaded_ = true;
  return Status::ok();
}

Result<BufferRange> VulkanDevice::resolve(const fb::Binding &b,
                                          const std::string &where) const {
  const vulkan::PhysicalDevice &phys = ctx_->physical();
  BufferRange r;
  uint64_t size = 0; // bytes the binding's buffer holds from its base
  uint64_t base = 0; // where the binding's buffer starts in the VkBuffer
  switch (b.kind()) {
  case fb::BindingKind::Step:
    r.buffer = step_.handle();
    size = stepBytes_ + kSlack;
    break;
  case fb::BindingKind::Arena:
    r.buffer = arena_.handle();
    size = arenaBytes_ + kSlack;
    break;
  case fb::BindingKind::Weight: {
    const WeightPlace &w = weights_[b.index()];
    r.buffer = weightChunks_[w.chunk].handle();
    base = w.offset;
    size = std::max<uint64_t>(w.bytes, 4);
    break;
  }
  case fb::BindingKind::KVKeys:
  case fb::BindingKind::KVValues:
    r.buffer = (b.kind() == fb::BindingKind::KVKeys ? keys_ : values_)[b.index()]
                   .handle();
    size = std::max<uint64_t>(layerBytes_, 4);
    break;
  }
  if (b.offset() > size || b.bytes() > size - b.offset())
    return Status::error(where + ": " + std::to_string(b.bytes()) +
                         " bytes at offset " + std::to_string(b.offset()) +
                         " lie outside its buffer of " + std::to_string(size) +
                         " bytes");
  r.offset = base + b.offset();
  r.range = b.bytes() ? b.bytes() : size - b.offset();
  if (r.range == 0)
    r.range = 4;
  if (r.offset % phys.minStorageBufferOffsetAlignment)
    return Status::error(where + ": offset " + std::to_string(b.offset()) +
                         " is not a multiple of the device's "
                         "minStorageBufferOffsetAlignment (" +
                         std::to_string(phys.minStorageBufferOffsetAlignment) +
                         ")");
  if (r.range > phys.caps.maxStorageBufferRange)
    return Status::error(where + ": binds " + std::to_string(r.range) +
                         " bytes, more than the device's maxStorageBufferRange (" +
                         std::to_string(phys.caps.maxStorageBufferRange) + ")");
  return r;
}

Result<VkCommandBuffer> VulkanDevice::record(size_t entryIndex,
                                             const int64_t *symbols,
                                             int64_t &outputRows) {
  const fb::Program &p = artifact_->program();
  const fb::Entry &entry = *p.entries()->Get(entryIndex);
  const vulkan::Functions &fn = ctx_->fn();
  const vulkan::PhysicalDevice &phys = ctx_->physical();
  LLMC_ASSIGN_OR_RETURN(VkCommandBuffer cmd, ctx_->allocateCommandBuffer());
  auto failed = [&](Status s) -> Result<VkCommandBuffer> {
    ctx_->freeCommandBuffer(cmd);
    return s;
  };
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  VkResult vr = fn.vkBeginCommandBuffer(cmd, &begin);
  if (vr != VK_SUCCESS)
    return failed(vulkan::vkFailure("vkBeginCommandBuffer", vr));
  // Earlier submissions (uploads, the previous step's KV writes) first.
  ctx_->barrier(cmd);
  VkPipeline bound = VK_NULL_HANDLE;
  size_t index = 0;
  for (const fb::Dispatch *d : *entry.dispatches()) {
    int64_t grid[3];
    for (int i = 0; i < 3; ++i)
      grid[i] = evaluateExpr(*d->grid()->Get(i), symbols);
    if (grid[0] > 0 && grid[1] > 0 && grid[2] > 0) {
      if (grid[0] > phys.maxWorkGroupCount[0] ||
          grid[1] > phys.maxWorkGroupCount[1] ||
          grid[2] > phys.maxWorkGroupCount[2])
        return failed(Status::error(
            "entry '" + str(entry.name()) + "', dispatch " +
            std::to_string(index) + " (kernel '" +
            str(p.kernels()->Get(d->kernel())->name()) + "'): a grid of " +
            std::to_string(grid[0]) + "x" + std::to_string(grid[1]) + "x" +
            std::to_string(grid[2]) + " exceeds the device's "
            "maxComputeWorkGroupCount (" +
            std::to_string(phys.maxWorkGroupCount[0]) + "x" +
            std::to_string(phys.maxWorkGroupCount[1]) + "x" +
            std::to_string(phys.maxWorkGroupCount[2]) + ")"));
      const vulkan::Pipeline &pipeline = pipelines_[d->kernel()];
      if (pipeline.handle() != bound) {
        fn.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
        bound = pipeline.handle();
      }
      VkDescriptorSet set = sets_[entryIndex][index];
      fn.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                 pipeline.layout(), 0, 1, &set, 0, nullptr);
      fn.vkCmdDispatch(cmd, static_cast<uint32_t>(grid[0]),
                       static_cast<uint32_t>(grid[1]),
                       static_cast<uint32_t>(grid[2]));
      ctx_->barrier(cmd);
    }
    if (options_.poisonOnFree && d->frees() && d->frees()->size()) {
      // 0xFF bytes (NaN as f32); vkCmdFillBuffer needs 4-byte granules, so
      // an unaligned range keeps its partial words at the edges.
      for (const fb::Range *r : *d->frees()) {
        uint64_t from = alignUp(r->offset(), 4);
        uint64_t to = (r->offset() + r->bytes()) / 4 * 4;
        if (to > from)
          fn.vkCmdFillBuffer(cmd, arena_.handle(), from, to - from, 0xFFFFFFFFu);
      }
      ctx_->barrier(cmd);
    }
    ++index;
  }
  outputRows = std::max<int64_t>(0, symbols[entry.output_rows_symbol()]);
  if (!arena_.mapped()) {
    uint64_t bytes = std::min<uint64_t>(
        static_cast<uint64_t>(outputRows) * entry.output_cols() * 4,
        entry.output()->bytes());
    outputRows = static_cast<int64_t>(bytes / (entry.output_cols() * 4));
    if (bytes) {
      VkBufferCopy region{entry.output()->offset(), 0, bytes};
      fn.vkCmdCopyBuffer(cmd, arena_.handle(), readback_.handle(), 1, &region);
    }
  }
  ctx_->barrier(cmd, /*toHost=*/true);
  vr = fn.vkEndCommandBuffer(cmd);
  if (vr != VK_SUCCESS)
    return failed(vulkan::vkFailure("vkEndCommandBuffer", vr));
  ++stats_.recordings;
  return cmd;
}

Status VulkanDevice::run(const fb::Entry &entry, const int64_t *symbols,
                         const uint8_t *step, size_t stepBytes) {
  if (!loaded_)
    return Status::error("the Vulkan device has no artifact loaded");
  const fb::Program &p = artifact_->program();
  size_t entryIndex = SIZE_MAX;
  for (size_t i = 0; i < p.entries()->size(); ++i)
    if (p.entries()->Get(i) == &entry)
      entryIndex = i;
  if (entryIndex == SIZE_MAX)
    return Status::error("the entry is not one of the loaded artifact's");
  if (stepBytes > stepBytes_)
    return Status::error("step buffer larger than the device's");
  // The previous run has finished (run waits), so the step buffer is free.
  std::memcpy(step_.mapped(), step, stepBytes);

  size_t numSymbols = p.symbols()->size();
  std::vector<int64_t> key(symbols, symbols + numSymbols);
  auto it = recorded_.begin();
  for (; it != recorded_.end(); ++it)
    if (it->entry == entryIndex && it->symbols == key)
      break;
  if (it != recorded_.end()) {
    recorded_.splice(recorded_.begin(), recorded_, it); // most recent first
    ++stats_.replays;
  } else {
    Recorded r;
    r.entry = entryIndex;
    r.symbols = key;
    LLMC_ASSIGN_OR_RETURN(r.commands, record(entryIndex, symbols, r.outputRows));
    recorded_.push_front(std::move(r));
    while (recorded_.size() > vkOptions_.commandCacheSize) {
      ctx_->freeCommandBuffer(recorded_.back().commands);
      recorded_.pop_back();
    }
  }
  lastEntry_ = SIZE_MAX;
  LLMC_RETURN_IF_ERROR(ctx_->submitAndWait(recorded_.front().commands));
  lastEntry_ = entryIndex;
  lastOutputRows_ = recorded_.front().outputRows;
  return Status::ok();
}

Status VulkanDevice::readOutput(const fb::Entry &entry, int64_t rows, float *dst) {
  if (!loaded_)
    return Status::error("the Vulkan device has no artifact loaded");
  const fb::Program &p = artifact_->program();
  if (lastEntry_ >= p.entries()->size() || p.entries()->Get(lastEntry_) != &entry)
    return Status::error("readOutput of an entry that did not run last");
  const fb::Binding &out = *entry.output();
  LLMC_ASSIGN_OR_RETURN(uint64_t bytes, outputBytes(entry, rows));
  if (arena_.mapped()) {
    std::memcpy(dst, arena_.mapped() + out.offset(), bytes);
    return Status::ok();
  }
  if (rows > lastOutputRows_)
    return Status::error("more output rows requested (" + std::to_string(rows) +
                         ") than the step produced (" +
                         std::to_string(lastOutputRows_) + ")");
  std::memcpy(dst, readback_.mapped(), bytes);
  return Status::ok();
}

} // namespace llmc
