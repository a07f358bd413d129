//===- VulkanDevice.h - running programs on a Vulkan device ---------------------===//
//
// The Vulkan side of docs/gpu-abi.md: one step buffer (host-visible), one
// arena (the largest entry's), weights packed into a few large buffers
// (each weight a descriptor range within them), two KV buffers per layer;
// a compute pipeline per kernel and a descriptor set per dispatch, all made
// at load (bindings are static). An entry's command buffer is recorded once
// per distinct symbol vector and replayed (an LRU of a few), since only the
// step buffer's contents change between steps. docs/vulkan.md has the rest.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_VULKAN_VULKANDEVICE_H
#define LLMC_RUNTIME_DEVICE_VULKAN_VULKANDEVICE_H

#include "runtime/device/Device.h"
#include "runtime/device/vulkan/VulkanContext.h"

#include <list>

namespace llmc {

struct VulkanDeviceOptions {
  std::string loaderPath;     // "" = $LLMC_VULKAN_LOADER or libvulkan.so.1
  bool forceStaging = false;  // never map device-local memory (see ContextOptions)
  size_t commandCacheSize = 8; // recorded command buffers kept (LRU)
};

class VulkanDevice final : public Device {
public:
  /// Opens Vulkan device `index` (errors: no loader, no driver, no device N).
  static Result<std::unique_ptr<VulkanDevice>>
  create(int index, const VulkanDeviceOptions &options = {});
  ~VulkanDevice() override;

  std::string description() const override;
  Status load(std::shared_ptr<const Artifact> artifact,
              const DeviceOptions &options) override;
  Status run(const fb::Entry &entry, const int64_t *symbols,
             const uint8_t *step, size_t stepBytes) override;
  Status readOutput(const fb::Entry &entry, int64_t rows, float *dst) override;

  struct Stats {
    uint64_t recordings = 0; // command buffers recorded
    uint64_t replays = 0;    // runs that reused a recorded one
    uint64_t weightBuffers = 0;
    uint64_t weightBytes = 0;
  };
  const Stats &stats() const { return stats_; }
  vulkan::Context &context() { return *ctx_; }

private:
  VulkanDevice() = default;
  struct Recorded {
    size_t entry = 0;
    std::vector<int64_t> symbols;
    VkCommandBuffer commands = VK_NULL_HANDLE;
    int64_t outputRows = 0;
  };
  Result<vulkan::BufferRange> resolve(const fb::Binding &binding,
                                      const std::string &where) const;
  Result<VkCommandBuffer> record(size_t entry, const int64_t *symbols,
                                 int64_t &outputRows);
  void releaseRecorded();

  // Declared first: destroyed last, after every resource made from it.
  std::unique_ptr<vulkan::Context> ctx_;
  int index_ = 0;
  VulkanDeviceOptions vkOptions_;
  std::shared_ptr<const Artifact> artifact_;
  DeviceOptions options_;
  uint32_t subgroupSize_ = 0; // required at pipeline creation (0: default)

  vulkan::Buffer step_, arena_, readback_;
  uint64_t stepBytes_ = 0, arenaBytes_ = 0, layerBytes_ = 0;
  std::vector<vulkan::Buffer> weightChunks_;
  struct WeightPlace {
    uint32_t chunk = 0;
    uint64_t offset = 0, bytes = 0;
  };
  std::vector<WeightPlace> weights_;
  std::vector<vulkan::Buffer> keys_, values_;
  std::vector<vulkan::Pipeline> pipelines_; // per kernel
  vulkan::DescriptorPool pool_;
  std::vector<std::vector<VkDescriptorSet>> sets_; // [entry][dispatch]
  std::list<Recorded> recorded_; // most recently used first
  bool loaded_ = false; // load() completed (a failed load leaves it false)
  size_t lastEntry_ = SIZE_MAX;
  int64_t lastOutputRows_ = 0;
  Stats stats_;
};

} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_VULKAN_VULKANDEVICE_H
