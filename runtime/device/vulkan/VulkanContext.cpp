//===- VulkanContext.cpp - the Vulkan loader, instance, device and resources ----===//

#include "runtime/device/vulkan/VulkanContext.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>

namespace llmc::vulkan {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

const char *resultName(VkResult result) {
  switch (result) {
#define LLMC_VK_CASE(x) case x: return #x;
    LLMC_VK_CASE(VK_SUCCESS)
    LLMC_VK_CASE(VK_NOT_READY)
    LLMC_VK_CASE(VK_TIMEOUT)
    LLMC_VK_CASE(VK_INCOMPLETE)
    LLMC_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    LLMC_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    LLMC_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
    LLMC_VK_CASE(VK_ERROR_DEVICE_LOST)
    LLMC_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    LLMC_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    LLMC_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    LLMC_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    LLMC_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    LLMC_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    LLMC_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    LLMC_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
    LLMC_VK_CASE(VK_ERROR_UNKNOWN)
    LLMC_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    LLMC_VK_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    LLMC_VK_CASE(VK_ERROR_FRAGMENTATION)
    LLMC_VK_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    LLMC_VK_CASE(VK_PIPELINE_COMPILE_REQUIRED)
    LLMC_VK_CASE(VK_ERROR_INVALID_SHADER_NV)
#undef LLMC_VK_CASE
  default:
    return "VK_ERROR (unknown code)";
  }
}

Status vkFailure(const std::string &what, VkResult result) {
  return Status::error(what + ": " + resultName(result) + " (" +
                       std::to_string(static_cast<int>(result)) + ")");
}

namespace {
std::string versionString(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." +
         std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

/// The loader stays loaded for the life of the process: drivers may keep
/// threads or exit handlers that must not outlive their code.
Result<void *> openLoader(const std::string &path) {
  static std::mutex mutex;
  static std::map<std::string, void *> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(path);
  if (it != handles.end())
    return it->second;
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = ::dlerror();
    return Status::error(
        "Vulkan is not available: cannot load the Vulkan loader (" +
        std::string(why ? why : path) +
        "); install libvulkan1 and a Vulkan driver (e.g. mesa-vulkan-drivers "
        "for lavapipe)");
  }
  handles[path] = handle;
  return handle;
}

const char *deviceTypeName(VkPhysicalDeviceType type) {
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
  default: return "other";
  }
}

} // namespace

std::string defaultLoaderPath() {
  const char *env = std::getenv("LLMC_VULKAN_LOADER");
  return env && *env ? std::string(env) : std::string("libvulkan.so.1");
}

//===----------------------------------------------------------------------===//
// SPIR-V entry points
//===----------------------------------------------------------------------===//

Result<std::vector<SpirvEntryPoint>> spirvEntryPoints(const uint32_t *words,
                                                      size_t count) {
  if (count < 5 || words[0] != 0x07230203u)
    return Status::error("not a SPIR-V module (no SPIR-V header)");
  std::vector<SpirvEntryPoint> entries;
  std::vector<uint32_t> ids;
  struct Mode { uint32_t id, x, y, z; };
  std::vector<Mode> modes;
  for (size_t i = 5; i < count;) {
    uint32_t length = words[i] >> 16, opcode = words[i] & 0xffffu;
    if (length == 0 || length > count - i)
      return Status::error("malformed SPIR-V module (an instruction at word " +
                           std::to_string(i) + " runs past the end)");
    if (opcode == 15 && length >= 4) { // OpEntryPoint model id "name" ...
      SpirvEntryPoint e;
      e.executionModel = words[i + 1];
      const char *chars = reinterpret_cast<const char *>(words + i + 3);
      size_t maxChars = (length - 3) * 4;
      size_t n = strnlen(chars, maxChars);
      if (n == maxChars)
        return Status::error("malformed SPIR-V module (an entry point name "
                             "is not terminated)");
      e.name.assign(chars, n);
      ids.push_back(words[i + 2]);
      entries.push_back(std::move(e));
    } else if (opcode == 16 && length >= 6 && words[i + 2] == 17) {
      // OpExecutionMode id LocalSize x y z
      modes.push_back({words[i + 1], words[i + 3], words[i + 4], words[i + 5]});
    } else if (opcode == 54) { // OpFunction: the preamble has ended
      break;
    }
    i += length;
  }
  for (const Mode &m : modes)
    for (size_t e = 0; e < entries.size(); ++e)
      if (ids[e] == m.id) {
        entries[e].localSize[0] = m.x;
        entries[e].localSize[1] = m.y;
        entries[e].localSize[2] = m.z;
      }
  return entries;
}

//===----------------------------------------------------------------------===//
// Instance
//===----------------------------------------------------------------------===//

namespace {
/// Fills `d` from `handle` (properties, features, limits, memory, queues).
void describe(const Functions &fn, uint32_t instanceApi, VkPhysicalDevice handle,
              PhysicalDevice &d) {
  d.handle = handle;
  fn.vkGetPhysicalDeviceProperties(handle, &d.properties);
  fn.vkGetPhysicalDeviceMemoryProperties(handle, &d.memory);
  const VkPhysicalDeviceProperties &p = d.properties;
  const VkPhysicalDeviceLimits &limits = p.limits;
  d.typeName = deviceTypeName(p.deviceType);
  VulkanCaps &caps = d.caps;
  caps.name = p.deviceName;
  uint32_t api = std::min(p.apiVersion, instanceApi);
  caps.apiMajor = VK_API_VERSION_MAJOR(api);
  caps.apiMinor = VK_API_VERSION_MINOR(api);
  caps.apiPatch = VK_API_VERSION_PATCH(p.apiVersion);
  caps.maxStorageBufferRange = limits.maxStorageBufferRange;
  caps.maxComputeSharedMemorySize = limits.maxComputeSharedMemorySize;
  caps.maxComputeWorkGroupInvocations = limits.maxComputeWorkGroupInvocations;
  d.minStorageBufferOffsetAlignment = limits.minStorageBufferOffsetAlignment;
  for (int i = 0; i < 3; ++i) {
    d.maxWorkGroupCount[i] = limits.maxComputeWorkGroupCount[i];
    d.maxWorkGroupSize[i] = limits.maxComputeWorkGroupSize[i];
  }
  for (uint32_t h = 0; h < d.memory.memoryHeapCount; ++h)
    if (d.memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.deviceLocalBytes += d.memory.memoryHeaps[h].size;

  uint32_t families = 0;
  fn.vkGetPhysicalDeviceQueueFamilyProperties(handle, &families, nullptr);
  std::vector<VkQueueFamilyProperties> queues(families);
  fn.vkGetPhysicalDeviceQueueFamilyProperties(handle, &families, queues.data());
  for (uint32_t q = 0; q < families; ++q)
    if (queues[q].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      d.computeQueueFamily = q;
      break;
    }

  if (api < VK_API_VERSION_1_1) {
    d.unusable = "a Vulkan " + versionString(api) + " device; llmc needs 1.1";
    caps.subgroupSize = caps.minSubgroupSize = caps.maxSubgroupSize = 0;
    return;
  }
  if (d.computeQueueFamily == UINT32_MAX)
    d.unusable = "it has no compute queue";

  uint32_t extCount = 0;
  std::vector<VkExtensionProperties> exts;
  if (fn.vkEnumerateDeviceExtensionProperties(handle, nullptr, &extCount,
                                              nullptr) == VK_SUCCESS) {
    exts.resize(extCount);
    if (fn.vkEnumerateDeviceExtensionProperties(handle, nullptr, &extCount,
                                                exts.data()) != VK_SUCCESS)
      extCount = 0;
    exts.resize(extCount);
  }
  auto hasExt = [&](const char *name) {
    for (const VkExtensionProperties &e : exts)
      if (std::strcmp(e.extensionName, name) == 0)
        return true;
    return false;
  };
  bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
  bool has8bit = v12 || hasExt("VK_KHR_8bit_storage");
  bool hasF16I8 = v12 || hasExt("VK_KHR_shader_float16_int8");
  bool hasSizeControl = v13 || hasExt("VK_EXT_subgroup_size_control");
  bool hasDriver = v12 || hasExt("VK_KHR_driver_properties");
  bool hasMaint4 = v13 || hasExt("VK_KHR_maintenance4");

  // Properties.
  VkPhysicalDeviceSubgroupProperties subgroup{};
  subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  VkPhysicalDeviceMaintenance3Properties maint3{};
  maint3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
  VkPhysicalDeviceSubgroupSizeControlProperties sizeProps{};
  sizeProps.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES;
  VkPhysicalDeviceDriverProperties driver{};
  driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
  VkPhysicalDeviceMaintenance4Properties maint4{};
  maint4.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES;
  VkPhysicalDeviceProperties2 props2{};
  props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  void **next = &props2.pNext;
  auto chain = [&](auto &s) {
    *next = &s;
    next = &s.pNext;
  };
  chain(subgroup);
  chain(maint3);
  if (hasSizeControl)
    chain(sizeProps);
  if (hasDriver)
    chain(driver);
  if (hasMaint4)
    chain(maint4);
  fn.vkGetPhysicalDeviceProperties2(handle, &props2);

  // Features.
  VkPhysicalDevice16BitStorageFeatures s16{};
  s16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  VkPhysicalDevice8BitStorageFeatures s8{};
  s8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
  VkPhysicalDeviceShaderFloat16Int8Features f16i8{};
  f16i8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
  VkPhysicalDeviceSubgroupSizeControlFeatures sizeFeatures{};
  sizeFeatures.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES;
  VkPhysicalDeviceFeatures2 features2{};
  features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  next = &features2.pNext;
  chain(s16);
  if (has8bit)
    chain(s8);
  if (hasF16I8)
    chain(f16i8);
  if (hasSizeControl)
    chain(sizeFeatures);
  fn.vkGetPhysicalDeviceFeatures2(handle, &features2);

  if (hasDriver) {
    d.driverName = driver.driverName;
    d.driverInfo = driver.driverInfo;
  }
  d.maxMemoryAllocationSize = maint3.maxMemoryAllocationSize;
  d.maxBufferSize = hasMaint4 ? maint4.maxBufferSize : UINT64_MAX;

  caps.subgroupSize = subgroup.subgroupSize;
  caps.minSubgroupSize = caps.maxSubgroupSize = subgroup.subgroupSize;
  if (hasSizeControl && sizeProps.minSubgroupSize && sizeProps.maxSubgroupSize) {
    caps.minSubgroupSize = sizeProps.minSubgroupSize;
    caps.maxSubgroupSize = sizeProps.maxSubgroupSize;
    caps.subgroupSizeControl =
        sizeFeatures.subgroupSizeControl &&
        (sizeProps.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
    d.computeFullSubgroups = sizeFeatures.computeFullSubgroups;
  }
  if (!caps.subgroupSizeControl)
    d.computeFullSubgroups = false;

  d.f16 = hasF16I8 && f16i8.shaderFloat16;
  d.int8 = hasF16I8 && f16i8.shaderInt8;
  d.f64 = features2.features.shaderFloat64;
  d.int16 = features2.features.shaderInt16;
  d.int64 = features2.features.shaderInt64;
  d.storage8 = has8bit && s8.storageBuffer8BitAccess;
  d.storage16 = s16.storageBuffer16BitAccess;

  auto add = [&](bool present, const char *flag) {
    if (present)
      caps.features.push_back(flag);
  };
  add(d.f16, "f16");
  add(d.f64, "f64");
  add(d.int8, "int8");
  add(d.int16, "int16");
  add(d.int64, "int64");
  add(d.storage8, "storage8");
  add(d.storage16, "storage16");
  if (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) {
    VkSubgroupFeatureFlags ops = subgroup.supportedOperations;
    add(ops & VK_SUBGROUP_FEATURE_BASIC_BIT, "subgroup-basic");
    add(ops & VK_SUBGROUP_FEATURE_VOTE_BIT, "subgroup-vote");
    add(ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "subgroup-arithmetic");
    add(ops & VK_SUBGROUP_FEATURE_BALLOT_BIT, "subgroup-ballot");
    add(ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "subgroup-shuffle");
    add(ops & VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "subgroup-shuffle-relative");
    add(ops & VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "subgroup-clustered");
    add(ops & VK_SUBGROUP_FEATURE_QUAD_BIT, "subgroup-quad");
  }

  if (!v12 && d.storage8)
    d.extensions.push_back("VK_KHR_8bit_storage");
  if (!v12 && (d.f16 || d.int8))
    d.extensions.push_back("VK_KHR_shader_float16_int8");
  if (!v13 && caps.subgroupSizeControl)
    d.extensions.push_back("VK_EXT_subgroup_size_control");
  if (hasExt("VK_KHR_portability_subset"))
    d.extensions.push_back("VK_KHR_portability_subset");
}
} // namespace

Result<std::shared_ptr<Instance>> Instance::create(const std::string &loaderPath) {
  std::string path = loaderPath.empty() ? defaultLoaderPath() : loaderPath;
  LLMC_ASSIGN_OR_RETURN(void *loader, openLoader(path));
  std::shared_ptr<Instance> self(new Instance());
  Functions &fn = self->fn_;
  fn.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(
      ::dlsym(loader, "vkGetInstanceProcAddr"));
  if (!fn.vkGetInstanceProcAddr)
    return Status::error("Vulkan is not available: " + path +
                         " is not a Vulkan loader (no vkGetInstanceProcAddr)");
  fn.vkEnumerateInstanceVersion = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(
      fn.vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
  fn.vkCreateInstance = reinterpret_cast<PFN_vkCreateInstance>(
      fn.vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkCreateInstance"));
  if (!fn.vkCreateInstance)
    return Status::error("Vulkan is not available: " + path +
                         " has no vkCreateInstance");
  uint32_t loaderApi = VK_API_VERSION_1_0;
  if (fn.vkEnumerateInstanceVersion)
    fn.vkEnumerateInstanceVersion(&loaderApi);
  if (loaderApi < VK_API_VERSION_1_1)
    return Status::error("Vulkan is not available: the loader " + path +
                         " supports only Vulkan " + versionString(loaderApi) +
                         "; llmc needs 1.1");
  self->apiVersion_ = std::min<uint32_t>(loaderApi, VK_API_VERSION_1_3);

  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "llmc";
  app.pEngineName = "llmc";
  app.apiVersion = self->apiVersion_;
  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;
  VkResult r = fn.vkCreateInstance(&info, nullptr, &self->instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    return Status::error("no Vulkan driver found (vkCreateInstance: "
                         "VK_ERROR_INCOMPATIBLE_DRIVER); install one, e.g. "
                         "mesa-vulkan-drivers for lavapipe");
  if (r != VK_SUCCESS) {
    self->instance_ = VK_NULL_HANDLE;
    return vkFailure("Vulkan is not available: vkCreateInstance", r);
  }
#define LLMC_VK_LOAD(fname)                                                     \
  fn.fname = reinterpret_cast<PFN_##fname>(                                    \
      fn.vkGetInstanceProcAddr(self->instance_, #fname));                      \
  if (!fn.fname)                                                               \
    return Status::error("the Vulkan loader lacks " #fname);
  LLMC_VK_INSTANCE_FUNCTIONS(LLMC_VK_LOAD)
#undef LLMC_VK_LOAD

  uint32_t count = 0;
  r = fn.vkEnumeratePhysicalDevices(self->instance_, &count, nullptr);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE)
    return vkFailure("vkEnumeratePhysicalDevices", r);
  std::vector<VkPhysicalDevice> handles(count);
  r = fn.vkEnumeratePhysicalDevices(self->instance_, &count, handles.data());
  if (r != VK_SUCCESS && r != VK_INCOMPLETE)
    return vkFailure("vkEnumeratePhysicalDevices", r);
  handles.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    PhysicalDevice d;
    d.index = static_cast<int>(i);
    describe(fn, self->apiVersion_, handles[i], d);
    self->devices_.push_back(std::move(d));
  }
  return self;
}

Result<std::shared_ptr<Instance>> Instance::shared(const std::string &loaderPath) {
  static std::mutex mutex;
  // Never destroyed: instances outlive static destructors and stay reachable.
  static auto *instances = new std::map<std::string, std::shared_ptr<Instance>>();
  std::string path = loaderPath.empty() ? defaultLoaderPath() : loaderPath;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = instances->find(path);
  if (it != instances->end())
    return it->second;
  LLMC_ASSIGN_OR_RETURN(std::shared_ptr<Instance> instance, create(path));
  (*instances)[path] = instance;
  return instance;
}

Instance::~Instance() {
  if (instance_ && fn_.vkDestroyInstance)
    fn_.vkDestroyInstance(instance_, nullptr);
}

Result<const PhysicalDevice *> Instance::select(int index) const {
  if (devices_.empty())
    return Status::error("no Vulkan device found: the loader found no driver "
                         "with a device; install one, e.g. "
                         "mesa-vulkan-drivers for lavapipe");
  if (index < 0 || static_cast<size_t>(index) >= devices_.size()) {
    std::string list;
    for (const PhysicalDevice &d : devices_)
      list += (list.empty() ? "" : ", ") + std::string("vulkan:") +
              std::to_string(d.index) + " " + d.caps.name;
    return Status::error("no Vulkan device " + std::to_string(index) +
                         " (there are " + std::to_string(devices_.size()) +
                         ": " + list + ")");
  }
  const PhysicalDevice &d = devices_[index];
  if (!d.unusable.empty())
    return Status::error("Vulkan device " + std::to_string(index) + " (" +
                         d.caps.name + ") cannot run llmc: " + d.unusable);
  return &d;
}

//===----------------------------------------------------------------------===//
// RAII handles
//===----------------------------------------------------------------------===//

Buffer &Buffer::operator=(Buffer &&o) noexcept {
  if (this != &o) {
    reset();
    std::swap(context_, o.context_);
    std::swap(buffer_, o.buffer_);
    std::swap(memory_, o.memory_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
  }
  return *this;
}

void Buffer::reset() {
  if (context_) {
    const Functions &fn = context_->fn_;
    if (buffer_)
      fn.vkDestroyBuffer(context_->device_, buffer_, nullptr);
    if (memory_) {
      if (mapped_)
        fn.vkUnmapMemory(context_->device_, memory_);
      fn.vkFreeMemory(context_->device_, memory_, nullptr);
    }
  }
  context_ = nullptr;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
  size_ = 0;
  mapped_ = nullptr;
}

Pipeline &Pipeline::operator=(Pipeline &&o) noexcept {
  if (this != &o) {
    reset();
    std::swap(context_, o.context_);
    std::swap(setLayout_, o.setLayout_);
    std::swap(layout_, o.layout_);
    std::swap(pipeline_, o.pipeline_);
    std::swap(numBindings_, o.numBindings_);
  }
  return *this;
}

void Pipeline::reset() {
  if (context_) {
    const Functions &fn = context_->fn_;
    if (pipeline_)
      fn.vkDestroyPipeline(context_->device_, pipeline_, nullptr);
    if (layout_)
      fn.vkDestroyPipelineLayout(context_->device_, layout_, nullptr);
    if (setLayout_)
      fn.vkDestroyDescriptorSetLayout(context_->device_, setLayout_, nullptr);
  }
  context_ = nullptr;
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  setLayout_ = VK_NULL_HANDLE;
  numBindings_ = 0;
}

ShaderModule &ShaderModule::operator=(ShaderModule &&o) noexcept {
  if (this != &o) {
    reset();
    std::swap(context_, o.context_);
    std::swap(module_, o.module_);
  }
  return *this;
}

void ShaderModule::reset() {
  if (context_ && module_)
    context_->fn_.vkDestroyShaderModule(context_->device_, module_, nullptr);
  context_ = nullptr;
  module_ = VK_NULL_HANDLE;
}

DescriptorPool &DescriptorPool::operator=(DescriptorPool &&o) noexcept {
  if (this != &o) {
    reset();
    std::swap(context_, o.context_);
    std::swap(pool_, o.pool_);
  }
  return *this;
}

void DescriptorPool::reset() {
  if (context_ && pool_)
    context_->fn_.vkDestroyDescriptorPool(context_->device_, pool_, nullptr);
  context_ = nullptr;
  pool_ = VK_NULL_HANDLE;
}

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

Result<std::unique_ptr<Context>> Context::create(int deviceIndex,
                                                 const ContextOptions &options) {
  LLMC_ASSIGN_OR_RETURN(std::shared_ptr<Instance> instance,
                        Instance::shared(options.loaderPath));
  return create(std::move(instance), deviceIndex, options);
}

Result<std::unique_ptr<Context>> Context::create(std::shared_ptr<Instance> instance,
                                                 int deviceIndex,
                                                 const ContextOptions &options) {
  LLMC_ASSIGN_OR_RETURN(const PhysicalDevice *physical,
                        instance->select(deviceIndex));
  std::unique_ptr<Context> self(new Context());
  self->instance_ = instance;
  self->physical_ = physical;
  self->options_ = options;
  if (const char *env = std::getenv("LLMC_VULKAN_FORCE_STAGING"))
    if (std::string(env) == "1")
      self->options_.forceStaging = true;
  if (const char *env = std::getenv("LLMC_VULKAN_TIMEOUT_S")) {
    long seconds = std::strtol(env, nullptr, 10);
    if (seconds > 0)
      self->timeoutNs_ = static_cast<uint64_t>(seconds) * 1000000000ull;
  }
  Functions &fn = self->fn_;
  fn = instance->fn();

  const PhysicalDevice &d = *physical;
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queueInfo{};
  queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queueInfo.queueFamilyIndex = d.computeQueueFamily;
  queueInfo.queueCount = 1;
  queueInfo.pQueuePriorities = &priority;

  // Enable every profile feature the device has: the device is created
  // before (and independently of) the artifact it will run.
  VkPhysicalDeviceFeatures2 features2{};
  features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  features2.features.shaderFloat64 = d.f64;
  features2.features.shaderInt16 = d.int16;
  features2.features.shaderInt64 = d.int64;
  VkPhysicalDevice16BitStorageFeatures s16{};
  s16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  s16.storageBuffer16BitAccess = d.storage16;
  VkPhysicalDevice8BitStorageFeatures s8{};
  s8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
  s8.storageBuffer8BitAccess = d.storage8;
  VkPhysicalDeviceShaderFloat16Int8Features f16i8{};
  f16i8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
  f16i8.shaderFloat16 = d.f16;
  f16i8.shaderInt8 = d.int8;
  VkPhysicalDeviceSubgroupSizeControlFeatures sizeFeatures{};
  sizeFeatures.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES;
  sizeFeatures.subgroupSizeControl = d.caps.subgroupSizeControl;
  sizeFeatures.computeFullSubgroups = d.computeFullSubgroups;
  void **next = &features2.pNext;
  auto chain = [&](auto &s) {
    *next = &s;
    next = &s.pNext;
  };
  chain(s16);
  if (d.storage8)
    chain(s8);
  if (d.f16 || d.int8)
    chain(f16i8);
  if (d.caps.subgroupSizeControl)
    chain(sizeFeatures);

  std::vector<const char *> extensions;
  for (const std::string &e : d.extensions)
    extensions.push_back(e.c_str());
  VkDeviceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  info.pNext = &features2;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queueInfo;
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkResult r = fn.vkCreateDevice(d.handle, &info, nullptr, &self->device_);
  if (r != VK_SUCCESS) {
    self->device_ = VK_NULL_HANDLE;
    return vkFailure("cannot create a Vulkan device on " + d.caps.name, r);
  }
#define LLMC_VK_LOAD(fname)                                                     \
  fn.fname = reinterpret_cast<PFN_##fname>(                                    \
      fn.vkGetDeviceProcAddr(self->device_, #fname));                          \
  if (!fn.fname)                                                               \
    return Status::error("the Vulkan driver of " + d.caps.name +               \
                         " lacks " #fname);
  LLMC_VK_DEVICE_FUNCTIONS(LLMC_VK_LOAD)
#undef LLMC_VK_LOAD
  fn.vkGetDeviceQueue(self->device_, d.computeQueueFamily, 0, &self->queue_);

  VkCommandPoolCreateInfo poolInfo{};
  poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  poolInfo.queueFamilyIndex = d.computeQueueFamily;
  r = fn.vkCreateCommandPool(self->device_, &poolInfo, nullptr, &self->commandPool_);
  if (r != VK_SUCCESS) {
    self->commandPool_ = VK_NULL_HANDLE;
    return vkFailure("vkCreateCommandPool", r);
  }
  VkFenceCreateInfo fenceInfo{};
  fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  r = fn.vkCreateFence(self->device_, &fenceInfo, nullptr, &self->fence_);
  if (r != VK_SUCCESS) {
    self->fence_ = VK_NULL_HANDLE;
    return vkFailure("vkCreateFence", r);
  }
  return self;
}

Context::~Context() {
  if (!device_)
    return;
  fn_.vkDeviceWaitIdle(device_);
  staging_.reset();
  if (fence_)
    fn_.vkDestroyFence(device_, fence_, nullptr);
  if (commandPool_)
    fn_.vkDestroyCommandPool(device_, commandPool_, nullptr);
  fn_.vkDestroyDevice(device_, nullptr);
}

Result<Buffer> Context::createBuffer(VkDeviceSize size, MemoryKind kind,
                                     const std::string &what) {
  const PhysicalDevice &d = *physical_;
  size = std::max<VkDeviceSize>(size, 4);
  auto tooLarge = [&](const char *limit, uint64_t value) {
    return Status::error("cannot allocate " + what + " (" +
                         std::to_string(size) + " bytes) on " + d.caps.name +
                         ": more than its " + limit + " of " +
                         std::to_string(value) + " bytes");
  };
  if (size > d.maxBufferSize)
    return tooLarge("maxBufferSize", d.maxBufferSize);
  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = size;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  Buffer buffer;
  buffer.context_ = this;
  buffer.size_ = size;
  VkResult r = fn_.vkCreateBuffer(device_, &info, nullptr, &buffer.buffer_);
  if (r != VK_SUCCESS) {
    buffer.buffer_ = VK_NULL_HANDLE;
    return vkFailure("cannot create " + what + " (" + std::to_string(size) +
                         " bytes)",
                     r);
  }
  VkMemoryRequirements req;
  fn_.vkGetBufferMemoryRequirements(device_, buffer.buffer_, &req);
  if (d.maxMemoryAllocationSize && req.size > d.maxMemoryAllocationSize)
    return tooLarge("maxMemoryAllocationSize", d.maxMemoryAllocationSize);

  // Candidate memory types, best first; the next is tried when one is full.
  const VkPhysicalDeviceMemoryProperties &mem = d.memory;
  const VkMemoryPropertyFlags hostBits =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  std::vector<uint32_t> candidates;
  auto collect = [&](VkMemoryPropertyFlags need, VkMemoryPropertyFlags avoid) {
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
      VkMemoryPropertyFlags flags = mem.memoryTypes[t].propertyFlags;
      if ((req.memoryTypeBits & (1u << t)) && (flags & need) == need &&
          !(flags & avoid) &&
          std::find(candidates.begin(), candidates.end(), t) == candidates.end())
        candidates.push_back(t);
    }
  };
  switch (kind) {
  case MemoryKind::Device:
    collect(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    collect(0, 0);
    break;
  case MemoryKind::Host:
    collect(hostBits | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    collect(hostBits, 0);
    break;
  case MemoryKind::Readback:
    collect(hostBits | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
    collect(hostBits, 0);
    break;
  }
  if (candidates.empty())
    return Status::error("cannot allocate " + what + " on " + d.caps.name +
                         ": no suitable memory type");
  VkMemoryAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  uint32_t chosen = 0;
  for (uint32_t t : candidates) {
    alloc.memoryTypeIndex = t;
    r = fn_.vkAllocateMemory(device_, &alloc, nullptr, &buffer.memory_);
    if (r == VK_SUCCESS) {
      chosen = t;
      break;
    }
    buffer.memory_ = VK_NULL_HANDLE;
  }
  if (r != VK_SUCCESS)
    return vkFailure("cannot allocate " + what + " (" + mib(req.size) + ", " +
                         std::to_string(req.size) + " bytes) on " + d.caps.name,
                     r);
  r = fn_.vkBindBufferMemory(device_, buffer.buffer_, buffer.memory_, 0);
  if (r != VK_SUCCESS)
    return vkFailure("vkBindBufferMemory for " + what, r);
  VkMemoryPropertyFlags flags = mem.memoryTypes[chosen].propertyFlags;
  bool mappable = (flags & hostBits) == hostBits &&
                  (kind != MemoryKind::Device || !options_.forceStaging);
  if (mappable) {
    void *ptr = nullptr;
    r = fn_.vkMapMemory(device_, buffer.memory_, 0, VK_WHOLE_SIZE, 0, &ptr);
    if (r != VK_SUCCESS) {
      if (kind != MemoryKind::Device)
        return vkFailure("cannot map " + what, r);
      ptr = nullptr; // device memory: use staging instead
    }
    buffer.mapped_ = static_cast<uint8_t *>(ptr);
  }
  return buffer;
}

Result<Buffer *> Context::staging(VkDeviceSize bytes) {
  const VkDeviceSize limit = 64ull << 20;
  bytes = std::min(bytes, limit);
  if (!staging_ || staging_.size() < bytes) {
    staging_.reset();
    VkDeviceSize size = std::max<VkDeviceSize>(bytes, std::min<VkDeviceSize>(limit, 1 << 20));
    LLMC_ASSIGN_OR_RETURN(staging_, createBuffer(size, MemoryKind::Readback,
                                                 "a staging buffer"));
  }
  return &staging_;
}

Status Context::upload(Buffer &dst, VkDeviceSize offset, const void *src,
                       VkDeviceSize bytes) {
  if (offset > dst.size() || bytes > dst.size() - offset)
    return Status::error("upload of " + std::to_string(bytes) + " bytes at " +
                         std::to_string(offset) + " past the end of a buffer of " +
                         std::to_string(dst.size()));
  if (bytes == 0)
    return Status::ok();
  if (dst.mapped()) {
    std::memcpy(dst.mapped() + offset, src, bytes);
    return Status::ok();
  }
  LLMC_ASSIGN_OR_RETURN(Buffer *stage, staging(bytes));
  const auto *from = static_cast<const uint8_t *>(src);
  for (VkDeviceSize done = 0; done < bytes;) {
    VkDeviceSize n = std::min(bytes - done, stage->size());
    std::memcpy(stage->mapped(), from + done, n);
    VkBufferCopy region{0, offset + done, n};
    LLMC_RETURN_IF_ERROR(runOnce([&](VkCommandBuffer cmd) {
      fn_.vkCmdCopyBuffer(cmd, stage->handle(), dst.handle(), 1, &region);
    }));
    done += n;
  }
  return Status::ok();
}

Status Context::uploadMany(const std::vector<Upload> &uploads) {
  struct Pending { VkBuffer dst; VkBufferCopy region; };
  std::vector<Pending> pending;
  Buffer *stage = nullptr;
  VkDeviceSize used = 0;
  auto flush = [&]() -> Status {
    if (pending.empty())
      return Status::ok();
    Status s = runOnce([&](VkCommandBuffer cmd) {
      for (const Pending &p : pending)
        fn_.vkCmdCopyBuffer(cmd, stage->handle(), p.dst, 1, &p.region);
    });
    pending.clear();
    used = 0;
    return s;
  };
  VkDeviceSize staged = 0;
  for (const Upload &u : uploads)
    if (!u.dst->mapped())
      staged += u.bytes;
  for (const Upload &u : uploads) {
    if (u.offset > u.dst->size() || u.bytes > u.dst->size() - u.offset)
      return Status::error("upload of " + std::to_string(u.bytes) +
                           " bytes at " + std::to_string(u.offset) +
                           " past the end of a buffer of " +
                           std::to_string(u.dst->size()));
    if (u.dst->mapped()) {
      if (u.bytes)
        std::memcpy(u.dst->mapped() + u.offset, u.src, u.bytes);
      continue;
    }
    if (!stage) {
      LLMC_ASSIGN_OR_RETURN(stage, staging(staged));
    }
    const auto *from = static_cast<const uint8_t *>(u.src);
    for (VkDeviceSize done = 0; done < u.bytes;) {
      if (used == stage->size())
        LLMC_RETURN_IF_ERROR(flush());
      VkDeviceSize n = std::min(u.bytes - done, stage->size() - used);
      std::memcpy(stage->mapped() + used, from + done, n);
      pending.push_back({u.dst->handle(), VkBufferCopy{used, u.offset + done, n}});
      used += n;
      done += n;
    }
  }
  return flush();
}

Status Context::download(const Buffer &src, VkDeviceSize offset, void *dst,
                         VkDeviceSize bytes) {
  if (offset > src.size() || bytes > src.size() - offset)
    return Status::error("download of " + std::to_string(bytes) + " bytes at " +
                         std::to_string(offset) + " past the end of a buffer of " +
                         std::to_string(src.size()));
  if (bytes == 0)
    return Status::ok();
  if (src.mapped()) {
    std::memcpy(dst, src.mapped() + offset, bytes);
    return Status::ok();
  }
  LLMC_ASSIGN_OR_RETURN(Buffer *stage, staging(bytes));
  auto *to = static_cast<uint8_t *>(dst);
  for (VkDeviceSize done = 0; done < bytes;) {
    VkDeviceSize n = std::min(bytes - done, stage->size());
    VkBufferCopy region{offset + done, 0, n};
    LLMC_RETURN_IF_ERROR(runOnce([&](VkCommandBuffer cmd) {
      fn_.vkCmdCopyBuffer(cmd, src.handle(), stage->handle(), 1, &region);
    }));
    std::memcpy(to + done, stage->mapped(), n);
    done += n;
  }
  return Status::ok();
}

Status Context::fill(Buffer &dst, VkDeviceSize offset, VkDeviceSize bytes,
                     uint32_t value) {
  if (offset % 4 || bytes % 4 || offset > dst.size() ||
      bytes > dst.size() - offset)
    return Status::error("fill of " + std::to_string(bytes) + " bytes at " +
                         std::to_string(offset) + " is unaligned or past the end");
  if (bytes == 0)
    return Status::ok();
  return runOnce([&](VkCommandBuffer cmd) {
    fn_.vkCmdFillBuffer(cmd, dst.handle(), offset, bytes, value);
  });
}

Result<ShaderModule> Context::createShaderModule(const uint32_t *words,
                                                 size_t count,
                                                 const std::string &what) {
  if (count < 5 || words[0] != 0x07230203u)
    return Status::error(what + ": not a SPIR-V module");
  VkShaderModuleCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  info.codeSize = count * 4;
  info.pCode = words;
  ShaderModule module;
  module.context_ = this;
  VkResult r = fn_.vkCreateShaderModule(device_, &info, nullptr, &module.module_);
  if (r != VK_SUCCESS) {
    module.module_ = VK_NULL_HANDLE;
    return vkFailure("cannot create the shader module " + what, r);
  }
  return module;
}

Result<Pipeline> Context::createPipeline(const ShaderModule &module,
                                         const std::string &entry,
                                         uint32_t numBindings,
                                         uint32_t subgroupSize) {
  Pipeline pipeline;
  pipeline.context_ = this;
  pipeline.numBindings_ = numBindings;
  std::vector<VkDescriptorSetLayoutBinding> bindings(numBindings);
  for (uint32_t i = 0; i < numBindings; ++i) {
    bindings[i] = {};
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo setInfo{};
  setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  setInfo.bindingCount = numBindings;
  setInfo.pBindings = bindings.data();
  VkResult r = fn_.vkCreateDescriptorSetLayout(device_, &setInfo, nullptr,
                                               &pipeline.setLayout_);
  if (r != VK_SUCCESS) {
    pipeline.setLayout_ = VK_NULL_HANDLE;
    return vkFailure("vkCreateDescriptorSetLayout for kernel '" + entry + "'", r);
  }
  VkPipelineLayoutCreateInfo layoutInfo{};
  layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layoutInfo.setLayoutCount = 1;
  layoutInfo.pSetLayouts = &pipeline.setLayout_;
  r = fn_.vkCreatePipelineLayout(device_, &layoutInfo, nullptr, &pipeline.layout_);
  if (r != VK_SUCCESS) {
    pipeline.layout_ = VK_NULL_HANDLE;
    return vkFailure("vkCreatePipelineLayout for kernel '" + entry + "'", r);
  }
  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo required{};
  required.sType =
      VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO;
  required.requiredSubgroupSize = subgroupSize;
  VkComputePipelineCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module.handle();
  info.stage.pName = entry.c_str();
  if (subgroupSize) {
    if (!caps().subgroupSizeControl)
      return Status::error("kernel '" + entry + "' needs subgroup size " +
                           std::to_string(subgroupSize) + ", which " +
                           caps().name + " cannot select");
    info.stage.pNext = &required;
  }
  info.layout = pipeline.layout_;
  r = fn_.vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &info, nullptr,
                                   &pipeline.pipeline_);
  if (r != VK_SUCCESS) {
    pipeline.pipeline_ = VK_NULL_HANDLE;
    return vkFailure("cannot create the compute pipeline of kernel '" + entry + "'",
                     r);
  }
  return pipeline;
}

Result<DescriptorPool> Context::createDescriptorPool(uint32_t sets,
                                                     uint32_t descriptors) {
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                            std::max<uint32_t>(descriptors, 1)};
  VkDescriptorPoolCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  info.maxSets = std::max<uint32_t>(sets, 1);
  info.poolSizeCount = 1;
  info.pPoolSizes = &size;
  DescriptorPool pool;
  pool.context_ = this;
  VkResult r = fn_.vkCreateDescriptorPool(device_, &info, nullptr, &pool.pool_);
  if (r != VK_SUCCESS) {
    pool.pool_ = VK_NULL_HANDLE;
    return vkFailure("cannot create a descriptor pool for " +
                         std::to_string(sets) + " sets",
                     r);
  }
  return pool;
}

Result<VkDescriptorSet> Context::createDescriptorSet(
    const DescriptorPool &pool, const Pipeline &pipeline,
    const std::vector<BufferRange> &ranges) {
  if (ranges.size() != pipeline.numBindings())
    return Status::error("a descriptor set needs " +
                         std::to_string(pipeline.numBindings()) +
                         " buffers, got " + std::to_string(ranges.size()));
  VkDescriptorSetLayout layout = pipeline.setLayout();
  VkDescriptorSetAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  alloc.descriptorPool = pool.handle();
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkResult r = fn_.vkAllocateDescriptorSets(device_, &alloc, &set);
  if (r != VK_SUCCESS)
    return vkFailure("vkAllocateDescriptorSets", r);
  std::vector<VkDescriptorBufferInfo> infos(ranges.size());
  std::vector<VkWriteDescriptorSet> writes(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    infos[i] = {ranges[i].buffer, ranges[i].offset, ranges[i].range};
    writes[i] = {};
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  if (!writes.empty())
    fn_.vkUpdateDescriptorSets(device_, static_cast<uint32_t>(writes.size()),
                               writes.data(), 0, nullptr);
  return set;
}

Result<VkCommandBuffer> Context::allocateCommandBuffer() {
  VkCommandBufferAllocateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  info.commandPool = commandPool_;
  info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  info.commandBufferCount = 1;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkResult r = fn_.vkAllocateCommandBuffers(device_, &info, &commands);
  if (r != VK_SUCCESS)
    return vkFailure("vkAllocateCommandBuffers", r);
  return commands;
}

void Context::freeCommandBuffer(VkCommandBuffer commands) {
  if (commands)
    fn_.vkFreeCommandBuffers(device_, commandPool_, 1, &commands);
}

Status Context::submitAndWait(VkCommandBuffer commands) {
  VkResult r = fn_.vkResetFences(device_, 1, &fence_);
  if (r != VK_SUCCESS)
    return vkFailure("vkResetFences", r);
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  r = fn_.vkQueueSubmit(queue_, 1, &submit, fence_);
  if (r != VK_SUCCESS)
    return vkFailure("vkQueueSubmit on " + caps().name, r);
  r = fn_.vkWaitForFences(device_, 1, &fence_, VK_TRUE, timeoutNs_);
  if (r == VK_TIMEOUT)
    return Status::error("the Vulkan device " + caps().name +
                         " did not finish within " +
                         std::to_string(timeoutNs_ / 1000000000ull) +
                         " s (LLMC_VULKAN_TIMEOUT_S)");
  if (r != VK_SUCCESS)
    return vkFailure("waiting for " + caps().name, r);
  return Status::ok();
}

Status Context::runOnce(const std::function<void(VkCommandBuffer)> &record) {
  LLMC_ASSIGN_OR_RETURN(VkCommandBuffer commands, allocateCommandBuffer());
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VkResult r = fn_.vkBeginCommandBuffer(commands, &begin);
  Status status;
  if (r != VK_SUCCESS) {
    status = vkFailure("vkBeginCommandBuffer", r);
  } else {
    barrier(commands);
    record(commands);
    barrier(commands, /*toHost=*/true);
    r = fn_.vkEndCommandBuffer(commands);
    status = r == VK_SUCCESS ? submitAndWait(commands)
                             : vkFailure("vkEndCommandBuffer", r);
  }
  freeCommandBuffer(commands);
  return status;
}

void Context::barrier(VkCommandBuffer commands, bool toHost) const {
  VkMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                    VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkPipelineStageFlags src = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                             VK_PIPELINE_STAGE_TRANSFER_BIT;
  VkPipelineStageFlags dst = src;
  if (toHost) {
    b.dstAccessMask |= VK_ACCESS_HOST_READ_BIT;
    dst |= VK_PIPELINE_STAGE_HOST_BIT;
  }
  fn_.vkCmdPipelineBarrier(commands, src, dst, 0, 1, &b, 0, nullptr, 0, nullptr);
}

} // namespace llmc::vulkan
