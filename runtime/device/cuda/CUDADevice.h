//===- CUDADevice.h - running programs on NVIDIA GPUs (driver API) ----------------===//
//
// The CUDA device (docs/cuda.md, docs/gpu-abi.md): the driver API loaded at
// run time (no libcuda at link time), one context (the device's primary
// context) and one stream; kernels are PTX modules JIT-compiled by the
// driver at load; one device buffer per weight, one arena, one step buffer
// and two buffers per KV layer. An entry's launches are captured once per
// distinct symbol vector as a CUDA graph and replayed (LLMC_CUDA_GRAPHS=0
// turns that off).
//
// The pure pieces (device specs, profiles, kernel parameters, the graph
// cache) are declared here so they can be tested without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_CUDA_CUDADEVICE_H
#define LLMC_RUNTIME_DEVICE_CUDA_CUDADEVICE_H

#include "runtime/device/Device.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// The CUDA device `index` (0 for "cuda", N for "cuda:N"). Errors (one
/// line): no driver, no device, no such index.
Result<std::unique_ptr<Device>> createCUDADevice(int index);

/// True for "cuda" and "cuda:..." (the specs createCUDADeviceFromSpec takes).
bool isCUDADeviceSpec(const std::string &spec);
/// "cuda" -> 0, "cuda:N" -> N; anything else is an error.
Result<int> parseCUDADeviceSpec(const std::string &spec);
/// createCUDADevice(parseCUDADeviceSpec(spec)).
Result<std::unique_ptr<Device>> createCUDADeviceFromSpec(const std::string &spec);

/// One line per CUDA device, e.g.
///   "cuda:0  NVIDIA H200  sm_90  139.8 GiB  (driver 13.0)".
/// Empty when there is no driver or no device; `whyNone` then receives the
/// one-line reason ("cuda: no NVIDIA driver (libcuda.so.1 not found)").
std::vector<std::string> listCUDADevices(std::string *whyNone = nullptr);

/// The same devices as data, for listDevices() (runtime/device/Device.cpp).
struct CUDADeviceSummary {
  std::string spec;          // "cuda:0"
  std::string name;          // "NVIDIA H200"
  std::string arch;          // "sm_90"
  std::string capability;    // "9.0"
  uint64_t memoryBytes = 0;
  int multiprocessors = 0;
  std::string driverVersion; // "13.0"
  std::string error;         // why it could not be queried ("" = fine)
};
/// Empty when there is no driver or no device; `whyNone` then receives the
/// one-line reason.
std::vector<CUDADeviceSummary> queryCUDADevices(std::string *whyNone = nullptr);

namespace cuda {

struct Driver;
/// The device `index` of a given driver (createCUDADevice uses the
/// process-wide one; tests pass a mock driver library).
Result<std::unique_ptr<Device>> createDevice(const Driver &driver, int index);

/// A compute capability; `archSpecific` for the "a" targets (sm_90a), whose
/// code runs only on exactly that capability, `familySpecific` for the "f"
/// ones (sm_100f: the same major version, this minor or newer).
struct ComputeCapability {
  int major = 0;
  int minor = 0;
  bool archSpecific = false;
  bool familySpecific = false;
  std::string str() const; // "9.0"
};

/// The sm architecture of a Target.profile: "sm_80" -> 8.0, "sm_90a" -> 9.0
/// (arch-specific), "sm_120" -> 12.0. The profile may be a comma-separated
/// list; its first "sm_" item is used.
Result<ComputeCapability> parseProfile(const std::string &profile);

/// "" when a device of capability `device` can run PTX built for
/// `required`, else the reason ("needs compute capability 9.0 or newer").
std::string checkCapability(const ComputeCapability &required,
                            const ComputeCapability &device);

/// What a kernel parameter list is made from: each binding's device address
/// (buffer + byte offset) and how many bytes the kernel may touch.
struct BindingArg {
  uint64_t address = 0;
  uint64_t bytes = 0;
};

/// docs/gpu-abi.md: per binding, MLIR's expanded 1-d memref descriptor,
/// five 8-byte values: allocated = aligned = address, offset 0,
/// size = ceil(bytes / 4) (at least 1; the kernels do not bounds-check, the
/// element type is not in the program), stride 1.
std::vector<uint64_t> packKernelParams(const std::vector<BindingArg> &bindings);

/// A dispatch's launch arguments, ready for cuLaunchKernel: `pointers[i]`
/// points at `values[i]`. Move-only (the pointers point into `values`).
struct KernelParams {
  std::vector<uint64_t> values;
  std::vector<void *> pointers;

  KernelParams() = default;
  explicit KernelParams(std::vector<uint64_t> v);
  KernelParams(KernelParams &&) = default;
  KernelParams &operator=(KernelParams &&) = default;
  KernelParams(const KernelParams &) = delete;
  KernelParams &operator=(const KernelParams &) = delete;
};

/// Which recorded graph replays an entry run. A run is keyed by its entry
/// and the symbols' values (the dispatch list depends on nothing else: the
/// buffers never move, the step buffer's contents change but not its
/// address). The first `captureAfter` runs of a key go direct (one-off
/// prefill lengths never pay for a capture); the next one is captured; later
/// ones replay. At most `capacity` graphs are kept, least recently used
/// evicted. Graph handles are opaque here (CUgraphExec in the device).
class GraphCache {
public:
  enum class Action { Direct, Capture, Replay };
  struct Decision {
    Action action = Action::Direct;
    void *graph = nullptr; // for Replay
  };

  explicit GraphCache(size_t capacity = 64, int captureAfter = 1)
      : capacity_(capacity ? capacity : 1), captureAfter_(captureAfter) {}

  /// Counts this run of (entry, symbols) and says what to do.
  Decision lookup(const void *entry, const int64_t *symbols, size_t n);
  /// Stores the graph captured for the key; returns the graph it evicted
  /// (nullptr if none), which the caller destroys.
  void *insert(const void *entry, const int64_t *symbols, size_t n,
               void *graph);
  /// Forgets every graph, returning them for destruction.
  std::vector<void *> clear();
  size_t size() const { return graphs_.size(); }

private:
  using Key = std::pair<const void *, std::vector<int64_t>>;
  struct Slot {
    void *graph = nullptr;
    uint64_t lastUse = 0;
  };
  size_t capacity_;
  int captureAfter_;
  uint64_t tick_ = 0;
  std::map<Key, Slot> graphs_;
  std::map<Key, int> seen_; // runs of keys without a graph
};

/// LLMC_CUDA_GRAPHS: unset or anything but 0/off/false/no = graphs on.
bool graphsEnabledByEnvironment();

} // namespace cuda
} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_CUDA_CUDADEVICE_H
