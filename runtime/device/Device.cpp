//===- Device.cpp - choosing and listing devices -----------------------------------===//

#include "runtime/device/Device.h"

#include "runtime/device/cpu/CPUDevice.h"
#include "runtime/device/cuda/CUDADevice.h"
#include "runtime/device/vulkan/VulkanDevice.h"

#include <thread>
#include <unistd.h>

namespace llmc {

namespace {
/// "vulkan" -> 0, "vulkan:N" -> N; -1 when malformed.
int vulkanIndex(const std::string &spec) {
  if (spec == "vulkan")
    return 0;
  std::string n = spec.substr(7);
  if (n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoi(n);
}

bool startsWith(const std::string &s, const char *prefix) {
  return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}
} // namespace

Result<uint64_t> outputBytes(const fb::Entry &entry, int64_t rows) {
  if (rows < 0)
    return Status::error("a negative number of output rows");
  uint64_t bytes = static_cast<uint64_t>(rows) * entry.output_cols() * 4;
  if (bytes > entry.output()->bytes())
    return Status::error("more output rows requested than the entry has");
  return bytes;
}

Result<std::unique_ptr<Device>> createDevice(const std::string &spec) {
  if (spec.empty() || spec == "cpu")
    return createCPUDevice();
  if (spec == "vulkan" || startsWith(spec, "vulkan:")) {
    int index = vulkanIndex(spec);
    if (index < 0)
      return Status::error("unknown device '" + spec +
                           "' (vulkan devices are vulkan or vulkan:N)");
    LLMC_ASSIGN_OR_RETURN(std::unique_ptr<VulkanDevice> device,
                          VulkanDevice::create(index));
    return std::unique_ptr<Device>(std::move(device));
  }
  if (spec == "cuda" || startsWith(spec, "cuda:"))
    return createCUDADeviceFromSpec(spec);
  return Status::error("unknown device '" + spec +
                       "' (available: cpu, vulkan[:N], cuda[:N])");
}

std::vector<DeviceInfo> listDevices(std::vector<std::string> *notes) {
  std::vector<DeviceInfo> out;
  DeviceInfo cpu;
  cpu.spec = cpu.kind = cpu.type = "cpu";
  cpu.name = "host CPU";
  cpu.threads = static_cast<int>(std::thread::hardware_concurrency());
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0)
    cpu.memoryBytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
  cpu.features = hostCPUFeatures();
  out.push_back(std::move(cpu));

  std::string noCUDA;
  for (const CUDADeviceSummary &s : queryCUDADevices(&noCUDA)) {
    DeviceInfo info;
    info.spec = s.spec;
    info.kind = "cuda";
    info.type = "gpu";
    info.name = s.name;
    info.apiVersion = "compute capability " + s.capability;
    info.driver = "CUDA driver " + s.driverVersion;
    info.memoryBytes = s.memoryBytes;
    info.profile = s.arch;
    info.features = {s.arch, std::to_string(s.multiprocessors) + " SMs"};
    info.unusable = s.error;
    out.push_back(std::move(info));
  }
  if (!noCUDA.empty() && notes)
    notes->push_back(noCUDA);

  auto instance = vulkan::Instance::shared();
  if (!instance.ok()) {
    if (notes)
      notes->push_back("vulkan: " + instance.message());
    return out;
  }
  if ((*instance)->devices().empty() && notes)
    notes->push_back("vulkan: the loader found no device (install a driver, "
                     "e.g. mesa-vulkan-drivers for lavapipe)");
  for (const vulkan::PhysicalDevice &d : (*instance)->devices()) {
    DeviceInfo info;
    info.spec = "vulkan:" + std::to_string(d.index);
    info.kind = "vulkan";
    info.name = d.caps.name;
    info.type = d.typeName;
    uint32_t v = d.properties.apiVersion;
    info.apiVersion = std::to_string(VK_API_VERSION_MAJOR(v)) + "." +
                      std::to_string(VK_API_VERSION_MINOR(v)) + "." +
                      std::to_string(VK_API_VERSION_PATCH(v));
    info.driver = d.driverName;
    if (!d.driverInfo.empty())
      info.driver += (info.driver.empty() ? "" : " ") + ("(" + d.driverInfo + ")");
    info.subgroupSize = d.caps.subgroupSize;
    info.maxStorageBufferRange = d.caps.maxStorageBufferRange;
    info.memoryBytes = d.deviceLocalBytes;
    info.features = d.caps.features;
    info.unusable = d.unusable;
    if (d.unusable.empty())
      info.profile = formatVulkanProfile(vulkanProfileOf(d.caps));
    out.push_back(std::move(info));
  }
  return out;
}

} // namespace llmc
