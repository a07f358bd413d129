//===- VulkanContext.h - the Vulkan loader, instance, device and resources ------===//
//
// Vulkan is loaded at run time: libvulkan.so.1 is dlopen'ed (the path can be
// overridden with LLMC_VULKAN_LOADER) and every function comes through
// vkGetInstanceProcAddr / vkGetDeviceProcAddr, so programs that never use
// Vulkan do not need it installed. Without a loader or a driver, creating an
// Instance gives one clear error line.
//
//   Instance    the loader, a VkInstance and every physical device described
//               (properties, features, limits, subgroups, memory) in llmc's
//               terms (VulkanCaps).
//   Context     one logical device with one compute queue, and the resources
//               a device needs: buffers in device or host-visible memory,
//               uploads/downloads (mapped or through staging buffers),
//               shader modules, compute pipelines, descriptor pools, command
//               buffers and a fence.
//
// Everything returns Status; nothing throws or aborts. RAII objects release
// their Vulkan handles; they must not outlive the Context that made them.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_VULKAN_VULKANCONTEXT_H
#define LLMC_RUNTIME_DEVICE_VULKAN_VULKANCONTEXT_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan_core.h>

#include "runtime/device/vulkan/VulkanProfile.h"
#include "runtime/support/Status.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llmc::vulkan {

// clang-format off
#define LLMC_VK_INSTANCE_FUNCTIONS(X)                                          \
  X(vkDestroyInstance) X(vkEnumeratePhysicalDevices)                           \
  X(vkGetPhysicalDeviceProperties) X(vkGetPhysicalDeviceProperties2)           \
  X(vkGetPhysicalDeviceFeatures) X(vkGetPhysicalDeviceFeatures2)               \
  X(vkGetPhysicalDeviceMemoryProperties)                                       \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                  \
  X(vkEnumerateDeviceExtensionProperties) X(vkCreateDevice)                    \
  X(vkGetDeviceProcAddr)

#define LLMC_VK_DEVICE_FUNCTIONS(X)                                            \
  X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkDeviceWaitIdle)                   \
  X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements)        \
  X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory)                    \
  X(vkMapMemory) X(vkUnmapMemory)                                              \
  X(vkCreateShaderModule) X(vkDestroyShaderModule)                             \
  X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout)               \
  X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout)                         \
  X(vkCreateComputePipelines) X(vkDestroyPipeline)                             \
  X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool)                         \
  X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)                        \
  X(vkCreateCommandPool) X(vkDestroyCommandPool)                               \
  X(vkAllocateCommandBuffers) X(vkFreeCommandBuffers)                          \
  X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkResetCommandBuffer)        \
  X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) X(vkCmdDispatch)             \
  X(vkCmdPipelineBarrier) X(vkCmdFillBuffer) X(vkCmdCopyBuffer)                \
  X(vkQueueSubmit) X(vkCreateFence) X(vkDestroyFence) X(vkResetFences)         \
  X(vkWaitForFences)
// clang-format on

/// Every Vulkan entry point llmc uses, resolved at run time.
struct Functions {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion = nullptr;
  PFN_vkCreateInstance vkCreateInstance = nullptr;
#define LLMC_VK_DECLARE(name) PFN_##name name = nullptr;
  LLMC_VK_INSTANCE_FUNCTIONS(LLMC_VK_DECLARE)
  LLMC_VK_DEVICE_FUNCTIONS(LLMC_VK_DECLARE)
#undef LLMC_VK_DECLARE
};

/// "VK_ERROR_OUT_OF_DEVICE_MEMORY", ...
const char *resultName(VkResult result);
/// "<what>: VK_ERROR_..." as a Status.
Status vkFailure(const std::string &what, VkResult result);

/// An OpEntryPoint of a SPIR-V module, with its LocalSize execution mode.
struct SpirvEntryPoint {
  std::string name;
  uint32_t executionModel = 0; // 5 = GLCompute
  uint32_t localSize[3] = {0, 0, 0}; // 0s when not given as literals
};
/// The entry points of a SPIR-V module (walks the instruction stream, checking
/// every length): so a missing entry point is an error, not a driver crash.
Result<std::vector<SpirvEntryPoint>> spirvEntryPoints(const uint32_t *words,
                                                      size_t count);

/// The loader library Instance::create opens by default: $LLMC_VULKAN_LOADER
/// if set, else libvulkan.so.1.
std::string defaultLoaderPath();

/// One physical device, described once when the instance is created.
struct PhysicalDevice {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  int index = 0;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  VulkanCaps caps;
  std::string typeName;   // "discrete-gpu", "integrated-gpu", "virtual-gpu", "cpu", "other"
  std::string driverName; // from VkPhysicalDeviceDriverProperties when known
  std::string driverInfo;
  uint64_t deviceLocalBytes = 0; // sum of the device-local heaps
  uint64_t minStorageBufferOffsetAlignment = 0;
  uint64_t maxMemoryAllocationSize = 0;
  uint64_t maxBufferSize = 0;
  uint32_t maxWorkGroupCount[3] = {0, 0, 0};
  uint32_t maxWorkGroupSize[3] = {0, 0, 0};
  uint32_t computeQueueFamily = UINT32_MAX;
  // Features llmc enables when present (the profile's flags).
  bool f16 = false, f64 = false, int8 = false, int16 = false, int64 = false;
  bool storage8 = false, storage16 = false;
  bool computeFullSubgroups = false;
  // Extensions needed below Vulkan 1.2 / 1.3 for the features above.
  std::vector<std::string> extensions;
  /// Why llmc cannot use it ("" when it can).
  std::string unusable;
};

/// The loader and a VkInstance with every physical device described.
class Instance {
public:
  /// Loads the loader (`loaderPath`, or defaultLoaderPath()), creates an
  /// instance and enumerates the devices. Errors: no loader, no driver.
  static Result<std::shared_ptr<Instance>> create(const std::string &loaderPath = "");
  /// The process-wide instance for `loaderPath` (same default), created on
  /// first use and kept until exit: creating one per call is slow, and some
  /// drivers (lavapipe 22.3) leak on vkDestroyInstance and are unloaded with
  /// it. Errors are not cached.
  static Result<std::shared_ptr<Instance>> shared(const std::string &loaderPath = "");
  ~Instance();
  Instance(const Instance &) = delete;
  Instance &operator=(const Instance &) = delete;

  const Functions &fn() const { return fn_; }
  VkInstance handle() const { return instance_; }
  uint32_t apiVersion() const { return apiVersion_; }
  const std::vector<PhysicalDevice> &devices() const { return devices_; }
  /// Device `index` (as --device vulkan:N counts), or an error naming the
  /// devices there are, or why it cannot be used.
  Result<const PhysicalDevice *> select(int index) const;

private:
  Instance() = default;
  Functions fn_;
  VkInstance instance_ = VK_NULL_HANDLE;
  uint32_t apiVersion_ = 0;
  std::vector<PhysicalDevice> devices_;
};

class Context;

/// Where a buffer lives.
enum class MemoryKind {
  Device,   // device-local (mapped as well when that memory is host-visible)
  Host,     // host-visible and coherent, device-local when possible (step buffer)
  Readback, // host-visible and coherent, cached when possible (downloads)
};

/// A VkBuffer with its own memory; `mapped` when host-visible and coherent.
class Buffer {
public:
  Buffer() = default;
  Buffer(Buffer &&other) noexcept { *this = std::move(other); }
  Buffer &operator=(Buffer &&other) noexcept;
  ~Buffer() { reset(); }
  void reset();

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  /// Host address of the buffer's first byte, or null when not mappable.
  uint8_t *mapped() const { return mapped_; }
  explicit operator bool() const { return buffer_ != VK_NULL_HANDLE; }

private:
  friend class Context;
  const Context *context_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  uint8_t *mapped_ = nullptr;
};

/// A compute pipeline with its descriptor set layout (`numBindings` storage
/// buffers, binding i = descriptor i of set 0) and pipeline layout.
class Pipeline {
public:
  Pipeline() = default;
  Pipeline(Pipeline &&other) noexcept { *this = std::move(other); }
  Pipeline &operator=(Pipeline &&other) noexcept;
  ~Pipeline() { reset(); }
  void reset();

  VkPipeline handle() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout setLayout() const { return setLayout_; }
  uint32_t numBindings() const { return numBindings_; }

private:
  friend class Context;
  const Context *context_ = nullptr;
  VkDescriptorSetLayout setLayout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  uint32_t numBindings_ = 0;
};

/// A SPIR-V shader module.
class ShaderModule {
public:
  ShaderModule() = default;
  ShaderModule(ShaderModule &&other) noexcept { *this = std::move(other); }
  ShaderModule &operator=(ShaderModule &&other) noexcept;
  ~ShaderModule() { reset(); }
  void reset();
  VkShaderModule handle() const { return module_; }

private:
  friend class Context;
  const Context *context_ = nullptr;
  VkShaderModule module_ = VK_NULL_HANDLE;
};

/// A descriptor pool for storage-buffer descriptor sets (freed with it).
class DescriptorPool {
public:
  DescriptorPool() = default;
  DescriptorPool(DescriptorPool &&other) noexcept { *this = std::move(other); }
  DescriptorPool &operator=(DescriptorPool &&other) noexcept;
  ~DescriptorPool() { reset(); }
  void reset();
  VkDescriptorPool handle() const { return pool_; }

private:
  friend class Context;
  const Context *context_ = nullptr;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
};

/// One descriptor: a buffer range.
struct BufferRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize range = VK_WHOLE_SIZE;
};

struct ContextOptions {
  std::string loaderPath;    // "" = defaultLoaderPath()
  /// Never map device-local memory: uploads and downloads go through staging
  /// buffers, as on a discrete GPU (tests this path on lavapipe, where all
  /// memory is host-visible). Also set by LLMC_VULKAN_FORCE_STAGING=1.
  bool forceStaging = false;
};

/// A logical device on one physical device, with one compute queue.
class Context {
public:
  static Result<std::unique_ptr<Context>> create(int deviceIndex,
                                                 const ContextOptions &options = {});
  /// On an instance already created (listing and selection share it).
  static Result<std::unique_ptr<Context>> create(std::shared_ptr<Instance> instance,
                                                 int deviceIndex,
                                                 const ContextOptions &options = {});
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  const Functions &fn() const { return fn_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  const PhysicalDevice &physical() const { return *physical_; }
  const VulkanCaps &caps() const { return physical_->caps; }
  bool forceStaging() const { return options_.forceStaging; }

  /// A buffer usable as a storage buffer and as a transfer source and
  /// destination. `what` names it in errors ("the arena", "weight 'x'").
  Result<Buffer> createBuffer(VkDeviceSize size, MemoryKind kind,
                              const std::string &what);
  /// Host -> buffer: a memcpy when mapped, else through a staging buffer.
  Status upload(Buffer &dst, VkDeviceSize offset, const void *src,
                VkDeviceSize bytes);
  /// Many uploads, batched through the staging buffer (one submission per
  /// 64 MiB) when the destinations are not mapped.
  struct Upload {
    Buffer *dst = nullptr;
    VkDeviceSize offset = 0;
    const void *src = nullptr;
    VkDeviceSize bytes = 0;
  };
  Status uploadMany(const std::vector<Upload> &uploads);
  /// Buffer -> host.
  Status download(const Buffer &src, VkDeviceSize offset, void *dst,
                  VkDeviceSize bytes);
  /// Fills [offset, offset + bytes) with a 32-bit pattern (bytes and offset
  /// multiples of 4).
  Status fill(Buffer &dst, VkDeviceSize offset, VkDeviceSize bytes,
              uint32_t value);

  /// A module from SPIR-V words (checks size and magic first).
  Result<ShaderModule> createShaderModule(const uint32_t *words, size_t count,
                                          const std::string &what);
  /// A compute pipeline for `entry` of `module`; `subgroupSize` != 0 requires
  /// that subgroup size (VK_EXT_subgroup_size_control / Vulkan 1.3).
  Result<Pipeline> createPipeline(const ShaderModule &module,
                                  const std::string &entry,
                                  uint32_t numBindings, uint32_t subgroupSize = 0);
  /// A pool for `sets` sets of `descriptors` storage buffers in all.
  Result<DescriptorPool> createDescriptorPool(uint32_t sets, uint32_t descriptors);
  /// A set of `layout` from `pool`, written with `ranges` (binding i = ranges[i]).
  Result<VkDescriptorSet> createDescriptorSet(const DescriptorPool &pool,
                                              const Pipeline &pipeline,
                                              const std::vector<BufferRange> &ranges);

  /// A primary command buffer from the context's pool (resettable).
  Result<VkCommandBuffer> allocateCommandBuffer();
  void freeCommandBuffer(VkCommandBuffer commands);
  /// Submits `commands` and waits for them (timeout: LLMC_VULKAN_TIMEOUT_S,
  /// default 600 s).
  Status submitAndWait(VkCommandBuffer commands);
  /// Records with `record` into a one-time command buffer, submits, waits.
  Status runOnce(const std::function<void(VkCommandBuffer)> &record);

  /// A global memory barrier between compute/transfer work (and to the host
  /// when `toHost`).
  void barrier(VkCommandBuffer commands, bool toHost = false) const;

private:
  Context() = default;
  Result<Buffer *> staging(VkDeviceSize bytes);

  friend class Buffer;
  friend class Pipeline;
  friend class ShaderModule;
  friend class DescriptorPool;

  std::shared_ptr<Instance> instance_;
  const PhysicalDevice *physical_ = nullptr;
  ContextOptions options_;
  Functions fn_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool commandPool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  Buffer staging_; // reused by upload/download, at most 64 MiB
  uint64_t timeoutNs_ = 600ull * 1000000000ull;
};

} // namespace llmc::vulkan

#endif // LLMC_RUNTIME_DEVICE_VULKAN_VULKANCONTEXT_H
