//===- VulkanProfile.cpp - what Vulkan kernels need, and what a device has ------===//

#include "runtime/device/vulkan/VulkanProfile.h"

#include "runtime/device/vulkan/VulkanContext.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace llmc {

namespace {
bool has(const std::vector<std::string> &list, const std::string &item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool parseNumber(const std::string &text, uint64_t &out) {
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno)
    return false;
  out = v;
  return true;
}

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
} // namespace

const std::vector<std::string> &vulkanProfileFlags() {
  static const std::vector<std::string> flags = {
      "f16",          "f64",
      "int8",         "int16",
      "int64",        "storage8",
      "storage16",    "subgroup-basic",
      "subgroup-vote", "subgroup-arithmetic",
      "subgroup-ballot", "subgroup-shuffle",
      "subgroup-shuffle-relative", "subgroup-clustered",
      "subgroup-quad",
  };
  return flags;
}

Result<VulkanProfile> parseVulkanProfile(const std::string &text) {
  VulkanProfile profile;
  bool sawVersion = false;
  std::vector<std::string> flags;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t comma = text.find(',', begin);
    if (comma == std::string::npos)
      comma = text.size();
    std::string item = trim(text.substr(begin, comma - begin));
    begin = comma + 1;
    if (item.empty())
      continue;
    auto bad = [&](const std::string &why) {
      return Status::error("Vulkan profile '" + text + "': " + why);
    };
    size_t eq = item.find('=');
    if (item.compare(0, 6, "vulkan") == 0 && eq == std::string::npos) {
      std::string v = item.substr(6);
      size_t dot = v.find('.');
      uint64_t major = 0, minor = 0;
      if (dot == std::string::npos || !parseNumber(v.substr(0, dot), major) ||
          !parseNumber(v.substr(dot + 1), minor) || major != 1 || minor > 9)
        return bad("'" + item + "' is not a Vulkan version (vulkan1.1 .. vulkan1.3)");
      if (sawVersion)
        return bad("the Vulkan version is given twice");
      sawVersion = true;
      profile.major = static_cast<uint32_t>(major);
      profile.minor = static_cast<uint32_t>(minor);
      continue;
    }
    if (eq != std::string::npos) {
      std::string key = item.substr(0, eq);
      uint64_t value = 0;
      if (!parseNumber(item.substr(eq + 1), value) || value == 0)
        return bad("'" + item + "' needs a positive number");
      if (key == "subgroup") {
        if (value > 1024 || (value & (value - 1)))
          return bad("'" + item + "' is not a power of two up to 1024");
        profile.subgroupSize = static_cast<uint32_t>(value);
      } else if (key == "max-binding") {
        profile.maxBinding = value;
      } else if (key == "shared") {
        profile.sharedMemory = value;
      } else if (key == "workgroup") {
        profile.workgroupInvocations = value;
      } else {
        return bad("unknown item '" + item +
                   "' (this runtime knows vulkanX.Y, subgroup=, max-binding=, "
                   "shared=, workgroup= and the flags in docs/vulkan.md)");
      }
      continue;
    }
    if (!has(vulkanProfileFlags(), item))
      return bad("unknown item '" + item +
                 "' (this runtime knows vulkanX.Y, subgroup=, max-binding=, "
                 "shared=, workgroup= and the flags in docs/vulkan.md)");
    if (!has(flags, item))
      flags.push_back(item);
  }
  for (const std::string &f : vulkanProfileFlags())
    if (has(flags, f))
      profile.features.push_back(f);
  return profile;
}

std::string formatVulkanProfile(const VulkanProfile &profile) {
  std::string out = "vulkan" + std::to_string(profile.major) + "." +
                    std::to_string(profile.minor);
  if (profile.subgroupSize)
    out += ",subgroup=" + std::to_string(profile.subgroupSize);
  for (const std::string &f : vulkanProfileFlags())
    if (has(profile.features, f))
      out += "," + f;
  if (profile.maxBinding)
    out += ",max-binding=" + std::to_string(profile.maxBinding);
  if (profile.sharedMemory)
    out += ",shared=" + std::to_string(profile.sharedMemory);
  if (profile.workgroupInvocations)
    out += ",workgroup=" + std::to_string(profile.workgroupInvocations);
  return out;
}

VulkanProfile vulkanProfileOf(const VulkanCaps &caps) {
  VulkanProfile p;
  p.major = caps.apiMajor;
  p.minor = caps.apiMinor;
  p.subgroupSize = caps.subgroupSize;
  for (const std::string &f : vulkanProfileFlags())
    if (has(caps.features, f))
      p.features.push_back(f);
  p.maxBinding = caps.maxStorageBufferRange;
  p.sharedMemory = caps.maxComputeSharedMemorySize;
  p.workgroupInvocations = caps.maxComputeWorkGroupInvocations;
  return p;
}

uint32_t requiredSubgroupSize(const VulkanProfile &profile,
                              const VulkanCaps &caps) {
  uint32_t s = profile.subgroupSize;
  if (!s)
    return 0;
  bool fixed = caps.minSubgroupSize == caps.maxSubgroupSize ||
               caps.minSubgroupSize == 0;
  if (s == caps.subgroupSize && fixed)
    return 0;
  if (caps.subgroupSizeControl && caps.minSubgroupSize <= s &&
      s <= caps.maxSubgroupSize)
    return s;
  return 0;
}

std::string missingFromVulkanProfile(const VulkanProfile &profile,
                                     const VulkanCaps &caps) {
  std::vector<std::string> missing;
  if (caps.apiMajor < profile.major ||
      (caps.apiMajor == profile.major && caps.apiMinor < profile.minor))
    missing.push_back("vulkan" + std::to_string(profile.major) + "." +
                      std::to_string(profile.minor) + " (the device has " +
                      std::to_string(caps.apiMajor) + "." +
                      std::to_string(caps.apiMinor) + ")");
  if (uint32_t s = profile.subgroupSize) {
    bool fixed = caps.minSubgroupSize == caps.maxSubgroupSize ||
                 caps.minSubgroupSize == 0;
    bool ok = (s == caps.subgroupSize && fixed) ||
              (caps.subgroupSizeControl && caps.minSubgroupSize <= s &&
               s <= caps.maxSubgroupSize);
    if (!ok) {
      std::string has = fixed ? std::to_string(caps.subgroupSize)
                              : std::to_string(caps.minSubgroupSize) + " to " +
                                    std::to_string(caps.maxSubgroupSize) +
                                    ", not selectable";
      missing.push_back("subgroup=" + std::to_string(s) +
                        " (the device's is " + has + ")");
    }
  }
  for (const std::string &f : profile.features)
    if (!has(caps.features, f))
      missing.push_back(f);
  auto limit = [&](const char *key, uint64_t need, uint64_t have) {
    if (need > have)
      missing.push_back(std::string(key) + "=" + std::to_string(need) +
                        " (the device has " + std::to_string(have) + ")");
  };
  limit("max-binding", profile.maxBinding, caps.maxStorageBufferRange);
  limit("shared", profile.sharedMemory, caps.maxComputeSharedMemorySize);
  limit("workgroup", profile.workgroupInvocations,
        caps.maxComputeWorkGroupInvocations);
  std::string out;
  for (const std::string &m : missing)
    out += (out.empty() ? "" : ", ") + m;
  return out;
}

Result<VulkanCaps> queryVulkanCaps(int device) {
  LLMC_ASSIGN_OR_RETURN(std::shared_ptr<vulkan::Instance> instance,
                        vulkan::Instance::shared());
  LLMC_ASSIGN_OR_RETURN(const vulkan::PhysicalDevice *physical,
                        instance->select(device));
  return physical->caps;
}

Result<std::string> describeVulkanProfile(int device) {
  LLMC_ASSIGN_OR_RETURN(VulkanCaps caps, queryVulkanCaps(device));
  return formatVulkanProfile(vulkanProfileOf(caps));
}

} // namespace llmc
