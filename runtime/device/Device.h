//===- Device.h - where a program runs: cpu, vulkan, cuda ---------------------------===//
//
// A device owns the buffers of a loaded artifact (weights, one arena per
// entry, the step buffer, the KV cache pages) and runs an entry: the engine
// writes the step buffer (symbol values, tokens, positions, slots, block
// tables...) and the device runs the entry's dispatches, each a kernel over a
// grid with bindings resolved to (buffer, byte offset).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_DEVICE_H
#define LLMC_RUNTIME_DEVICE_DEVICE_H

#include "runtime/artifact/Artifact.h"
#include "runtime/support/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

struct DeviceOptions {
  int threads = 0;            // cpu: worker threads (0 = all cores)
  bool poisonOnFree = false;  // fill each buffer with NaN when it dies
  int64_t kvBlocks = 0;       // KV cache pages (of block_size tokens) per layer
};

class Device {
public:
  virtual ~Device() = default;
  virtual std::string description() const = 0;
  /// Prepares the artifact: kernels, weights, arenas, step buffers, KV cache.
  virtual Status load(std::shared_ptr<const Artifact> artifact,
                      const DeviceOptions &options) = 0;
  /// Runs `entry`; `symbols` are the symbols' values (program order) and
  /// `step` the step buffer's bytes (the header holds the symbols as int32).
  virtual Status run(const fb::Entry &entry, const int64_t *symbols,
                     const uint8_t *step, size_t stepBytes) = 0;
  /// Copies `rows` rows of the entry's output (f32 logits) into `dst`.
  virtual Status readOutput(const fb::Entry &entry, int64_t rows,
                            float *dst) = 0;
};

/// The bytes of `rows` rows of the entry's output, checked against the
/// output binding (every device's readOutput).
Result<uint64_t> outputBytes(const fb::Entry &entry, int64_t rows);

/// "cpu" (the default), "vulkan" (the first Vulkan device) or "vulkan:N".
/// Errors name what is missing (no Vulkan loader, no driver, no device N).
Result<std::unique_ptr<Device>> createDevice(const std::string &spec);

/// A device llmc can run on, for `llmc devices`.
struct DeviceInfo {
  std::string spec;          // what --device takes: "cpu", "vulkan:0"
  std::string kind;          // "cpu", "vulkan"
  std::string name;          // "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;          // cpu; Vulkan: discrete-gpu, integrated-gpu, virtual-gpu, cpu, other
  std::string apiVersion;    // Vulkan: "1.3.230"
  std::string driver;        // Vulkan: driver name and info, when known
  int threads = 0;           // cpu: hardware threads
  uint32_t subgroupSize = 0; // Vulkan
  uint64_t maxStorageBufferRange = 0; // Vulkan: the largest binding, bytes
  uint64_t memoryBytes = 0;  // cpu: physical memory; Vulkan: device-local heaps
  std::vector<std::string> features; // cpu: ISA features; Vulkan: profile flags
  std::string profile;       // Vulkan: describeVulkanProfile()'s text
  std::string unusable;      // why llmc cannot run on it ("" = it can)
};

/// The CPU, then every Vulkan device. `notes` (optional) receives why a kind
/// of device is absent, e.g. "vulkan: cannot load the Vulkan loader (...)".
std::vector<DeviceInfo> listDevices(std::vector<std::string> *notes = nullptr);

} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_DEVICE_H
