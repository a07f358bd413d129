//===- VulkanProfile.h - what Vulkan kernels need, and what a device has --------===//
//
// A Vulkan artifact records in `Target.profile` what its kernels need, as a
// comma-separated list (docs/vulkan.md has the vocabulary):
//
//   vulkan1.1,subgroup=8,f16,int8,storage16,subgroup-arithmetic,max-binding=134217728
//
// The runtime checks it against the selected device at load and refuses a
// mismatch with one line. `describeVulkanProfile(N)` gives the profile of
// everything device N offers, so the compiler can compile "for the device
// present". This header needs no Vulkan headers (the compiler links it).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_VULKAN_VULKANPROFILE_H
#define LLMC_RUNTIME_DEVICE_VULKAN_VULKANPROFILE_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// What a Vulkan device offers, in the profile's terms.
struct VulkanCaps {
  std::string name;                 // deviceName
  uint32_t apiMajor = 0, apiMinor = 0, apiPatch = 0;
  uint32_t subgroupSize = 0;        // the default subgroup size
  uint32_t minSubgroupSize = 0;     // VK_EXT_subgroup_size_control / 1.3
  uint32_t maxSubgroupSize = 0;     //   (both = subgroupSize without it)
  bool subgroupSizeControl = false; // compute pipelines can require a size
  std::vector<std::string> features; // the flag items it has (vocabulary order)
  uint64_t maxStorageBufferRange = 0;
  uint64_t maxComputeSharedMemorySize = 0;
  uint64_t maxComputeWorkGroupInvocations = 0;
};

/// A parsed profile: every item is a minimum the device must meet.
struct VulkanProfile {
  uint32_t major = 1, minor = 1;     // vulkanX.Y (default 1.1)
  uint32_t subgroupSize = 0;         // subgroup=N (0: none assumed)
  std::vector<std::string> features; // flag items, vocabulary order
  uint64_t maxBinding = 0;           // max-binding=N (bytes)
  uint64_t sharedMemory = 0;         // shared=N (bytes)
  uint64_t workgroupInvocations = 0; // workgroup=N
};

/// The flag items, in canonical order: f16 f64 int8 int16 int64 storage8
/// storage16 subgroup-basic subgroup-vote subgroup-arithmetic subgroup-ballot
/// subgroup-shuffle subgroup-shuffle-relative subgroup-clustered subgroup-quad.
const std::vector<std::string> &vulkanProfileFlags();

/// Parses a profile; unknown or malformed items are errors (a newer compiler's
/// requirement this runtime cannot check is refused, not ignored).
Result<VulkanProfile> parseVulkanProfile(const std::string &text);
/// The canonical text: version, subgroup, flags in vocabulary order, limits.
std::string formatVulkanProfile(const VulkanProfile &profile);
/// The profile of everything a device offers.
VulkanProfile vulkanProfileOf(const VulkanCaps &caps);
/// What `caps` lacks of `profile`, e.g. "f64, subgroup=32 (the device's is 8)";
/// "" when the device meets it.
std::string missingFromVulkanProfile(const VulkanProfile &profile,
                                     const VulkanCaps &caps);
/// The subgroup size pipelines must request for `profile` on `caps` (0: none,
/// the device's default is the one the kernels assume or they assume none).
uint32_t requiredSubgroupSize(const VulkanProfile &profile,
                              const VulkanCaps &caps);

/// The capabilities of Vulkan device `device` (as `--device vulkan:N` counts).
Result<VulkanCaps> queryVulkanCaps(int device = 0);
/// formatVulkanProfile(vulkanProfileOf(queryVulkanCaps(device))).
Result<std::string> describeVulkanProfile(int device = 0);

} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_VULKAN_VULKANPROFILE_H
