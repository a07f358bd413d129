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

/// "cpu" (the default). Other devices arrive with their targets.
Result<std::unique_ptr<Device>> createDevice(const std::string &spec);

} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_DEVICE_H
