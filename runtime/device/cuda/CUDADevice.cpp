//===- CUDADevice.cpp - running programs on NVIDIA GPUs (driver API) --------------===//
//
// docs/gpu-abi.md fixes the mapping; docs/cuda.md describes this device.
//
//  load: profile check, PTX modules (JIT log captured into the error),
//        functions, buffers (weights uploaded from the mapped weights.bin,
//        KV zeroed), and for each entry the launch list with every kernel's
//        parameters packed once (buffers never move).
//  run:  the step buffer is staged in pinned memory and uploaded on the
//        stream; then the entry's launches go direct, or are captured as a
//        CUDA graph, or a captured graph is replayed.
//  readOutput: copies the logits back and synchronizes: errors of the
//        kernels (illegal address...) surface there.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/cuda/CUDADevice.h"

#include "runtime/device/cuda/CUDADriver.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llmc {

//===----------------------------------------------------------------------===//
// Pure pieces
//===----------------------------------------------------------------------===//

namespace cuda {

std::string ComputeCapability::str() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

Result<ComputeCapability> parseProfile(const std::string &profile) {
  auto bad = [&] {
    return Status::error("the CUDA profile '" + profile +
                         "' names no sm_ architecture (e.g. sm_80)");
  };
  size_t begin = 0;
  while (begin <= profile.size()) {
    size_t end = profile.find(',', begin);
    if (end == std::string::npos)
      end = profile.size();
    std::string item = profile.substr(begin, end - begin);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.erase(item.begin());
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.pop_back();
    if (item.compare(0, 3, "sm_") == 0) {
      std::string digits;
      size_t i = 3;
      while (i < item.size() && std::isdigit(static_cast<unsigned char>(item[i])))
        digits += item[i++];
      std::string suffix = item.substr(i);
      if (digits.size() < 2 || digits.size() > 4 ||
          !(suffix.empty() || suffix == "a" || suffix == "f"))
        return bad();
      ComputeCapability cc;
      cc.major = std::stoi(digits.substr(0, digits.size() - 1));
      cc.minor = digits.back() - '0';
      cc.archSpecific = suffix == "a";
      cc.familySpecific = suffix == "f";
      if (cc.major == 0)
        return bad();
      return cc;
    }
    begin = end + 1;
  }
  return bad();
}

std::string checkCapability(const ComputeCapability &required,
                            const ComputeCapability &device) {
  if (required.archSpecific) {
    if (device.major != required.major || device.minor != required.minor)
      return "needs exactly compute capability " + required.str() +
             " (arch-specific code)";
    return "";
  }
  if (required.familySpecific) {
    if (device.major != required.major || device.minor < required.minor)
      return "needs compute capability " + required.str() +
             " or a newer one of the same family";
    return "";
  }
  if (device.major < required.major ||
      (device.major == required.major && device.minor < required.minor))
    return "needs compute capability " + required.str() + " or newer";
  return "";
}

std::vector<uint64_t> packKernelParams(const std::vector<BindingArg> &bindings) {
  std::vector<uint64_t> values;
  values.reserve(bindings.size() * 5);
  for (const BindingArg &b : bindings) {
    uint64_t size = std::max<uint64_t>(1, (b.bytes + 3) / 4);
    values.push_back(b.address); // allocated
    values.push_back(b.address); // aligned
    values.push_back(0);         // offset (elements)
    values.push_back(size);      // size (elements)
    values.push_back(1);         // stride
  }
  return values;
}

KernelParams::KernelParams(std::vector<uint64_t> v) : values(std::move(v)) {
  pointers.reserve(values.size());
  for (uint64_t &value : values)
    pointers.push_back(&value);
}

GraphCache::Decision GraphCache::lookup(const void *entry,
                                        const int64_t *symbols, size_t n) {
  Key key(entry, std::vector<int64_t>(symbols, symbols + n));
  ++tick_;
  auto it = graphs_.find(key);
  if (it != graphs_.end()) {
    it->second.lastUse = tick_;
    return {Action::Replay, it->second.graph};
  }
  if (seen_.size() > 4096)
    seen_.clear(); // many one-off keys (prefill lengths): start counting again
  int &runs = seen_[key];
  if (runs >= captureAfter_)
    return {Action::Capture, nullptr};
  ++runs;
  return {Action::Direct, nullptr};
}

void *GraphCache::insert(const void *entry, const int64_t *symbols, size_t n,
                         void *graph) {
  Key key(entry, std::vector<int64_t>(symbols, symbols + n));
  seen_.erase(key);
  void *evicted = nullptr;
  auto it = graphs_.find(key);
  if (it != graphs_.end()) {
    evicted = it->second.graph;
    graphs_.erase(it);
  } else if (graphs_.size() >= capacity_) {
    auto oldest = std::min_element(
        graphs_.begin(), graphs_.end(), [](const auto &a, const auto &b) {
          return a.second.lastUse < b.second.lastUse;
        });
    evicted = oldest->second.graph;
    graphs_.erase(oldest);
  }
  graphs_[key] = Slot{graph, tick_};
  return evicted;
}

std::vector<void *> GraphCache::clear() {
  std::vector<void *> out;
  for (auto &kv : graphs_)
    out.push_back(kv.second.graph);
  graphs_.clear();
  seen_.clear();
  return out;
}

bool graphsEnabledByEnvironment() {
  const char *value = std::getenv("LLMC_CUDA_GRAPHS");
  if (!value)
    return true;
  std::string v(value);
  for (char &c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !(v == "0" || v == "off" || v == "false" || v == "no");
}

} // namespace cuda

bool isCUDADeviceSpec(const std::string &spec) {
  return spec == "cuda" || spec.compare(0, 5, "cuda:") == 0;
}

Result<int> parseCUDADeviceSpec(const std::string &spec) {
  if (spec == "cuda")
    return 0;
  auto bad = [&] {
    return Status::error("unknown device '" + spec +
                         "' (CUDA devices are cuda or cuda:N)");
  };
  if (spec.compare(0, 5, "cuda:") != 0 || spec.size() == 5 || spec.size() > 9)
    return bad();
  int index = 0;
  for (size_t i = 5; i < spec.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(spec[i])))
      return bad();
    index = index * 10 + (spec[i] - '0');
  }
  return index;
}

//===----------------------------------------------------------------------===//
// The device
//===----------------------------------------------------------------------===//

namespace {
using namespace cuda;

std::string gib(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  return buffer;
}

std::string driverVersion(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

/// The JIT log as one line: newlines joined with " | ", at most 1500 chars.
std::string oneLine(const char *log) {
  std::string out;
  for (const char *p = log; *p; ++p) {
    if (*p == '\n') {
      if (!out.empty() && out.compare(out.size() - 3, 3, " | ") != 0)
        out += " | ";
    } else if (*p != '\r') {
      out += *p;
    }
  }
  while (out.size() >= 3 && out.compare(out.size() - 3, 3, " | ") == 0)
    out.erase(out.size() - 3);
  if (out.size() > 1500)
    out = out.substr(0, 1500) + "...";
  return out;
}

struct GPUInfo {
  int index = 0;
  CUdevice device = 0;
  std::string name;
  ComputeCapability cc;
  size_t totalMemory = 0;
  int multiprocessors = 0;
};

Result<GPUInfo> queryDevice(const Driver &d, int index) {
  int count = 0;
  LLMC_RETURN_IF_ERROR(d.check(d.cuDeviceGetCount(&count), "cuDeviceGetCount"));
  if (index < 0 || index >= count)
    return Status::error("cuda:" + std::to_string(index) + ": no such device (" +
                         std::to_string(count) + " CUDA device" +
                         (count == 1 ? "" : "s") + ")");
  GPUInfo info;
  info.index = index;
  LLMC_RETURN_IF_ERROR(d.check(d.cuDeviceGet(&info.device, index), "cuDeviceGet"));
  char name[256] = {0};
  LLMC_RETURN_IF_ERROR(
      d.check(d.cuDeviceGetName(name, sizeof name - 1, info.device), "cuDeviceGetName"));
  info.name = name;
  LLMC_RETURN_IF_ERROR(d.check(
      d.cuDeviceGetAttribute(&info.cc.major,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, info.device),
      "cuDeviceGetAttribute"));
  LLMC_RETURN_IF_ERROR(d.check(
      d.cuDeviceGetAttribute(&info.cc.minor,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, info.device),
      "cuDeviceGetAttribute"));
  LLMC_RETURN_IF_ERROR(
      d.check(d.cuDeviceTotalMem(&info.totalMemory, info.device), "cuDeviceTotalMem"));
  if (d.cuDeviceGetAttribute(&info.multiprocessors,
                             CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                             info.device) != CUDA_SUCCESS)
    info.multiprocessors = 0;
  return info;
}

/// One kernel launch of an entry, prepared at load.
struct Launch {
  CUfunction function = nullptr;
  unsigned block[3] = {1, 1, 1};
  const fb::Dispatch *dispatch = nullptr;
  KernelParams params;
};

struct EntryPlan {
  const fb::Entry *entry = nullptr;
  std::vector<Launch> launches;
};

struct KernelInfo {
  CUfunction function = nullptr;
  unsigned block[3] = {1, 1, 1};
};

class CUDADevice final : public Device {
public:
  CUDADevice(const Driver &driver, GPUInfo info)
      : d_(driver), info_(std::move(info)) {}

  ~CUDADevice() override { release(/*all=*/true); }

  Status init() {
    LLMC_RETURN_IF_ERROR(d_.check(
        d_.cuDevicePrimaryCtxRetain(&context_, info_.device), "cannot create a context on " + spec()));
    retained_ = true;
    LLMC_RETURN_IF_ERROR(makeCurrent());
    LLMC_RETURN_IF_ERROR(
        d_.check(d_.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
    LLMC_RETURN_IF_ERROR(d_.check(
        d_.cuEventCreate(&stepCopied_, CU_EVENT_DISABLE_TIMING), "cuEventCreate"));
    graphsEnabled_ = graphsEnabledByEnvironment();
    return Status::ok();
  }

  std::string description() const override {
    std::string out = spec() + " (" + info_.name + ", sm_" +
                      std::to_string(info_.cc.major) +
                      std::to_string(info_.cc.minor) + ", " +
                      gib(static_cast<double>(info_.totalMemory)) + ", ";
    if (graphsEnabled_)
      out += "CUDA graphs on";
    else if (!graphFailure_.empty())
      out += "CUDA graphs off: " + graphFailure_;
    else
      out += "CUDA graphs off";
    return out + ")";
  }

  Status load(std::shared_ptr<const Artifact> artifact,
              const DeviceOptions &options) override {
    release(/*all=*/false);
    const fb::Program &p = artifact->program();
    const fb::Target &target = *p.target();
    std::string kind = target.kind() ? target.kind()->str() : "";
    if (kind != "cuda")
      return Status::error("the artifact was compiled for " + kind +
                           ", not for CUDA");
    std::string profile = target.profile() ? target.profile()->str() : "";
    auto required = parseProfile(profile);
    if (!required.ok())
      return Status::error(artifact->dir() + ": " + required.message());
    std::string why = checkCapability(*required, info_.cc);
    if (!why.empty())
      return Status::error(artifact->dir() + ": compiled for " + profile + ", which " +
                           why + "; " + spec() + " (" + info_.name +
                           ") has compute capability " + info_.cc.str());
    if (!artifact->weights())
      return Status::error("the artifact was opened without its weights");
    artifact_ = std::move(artifact);
    options_ = options;
    LLMC_RETURN_IF_ERROR(makeCurrent());

    // Sizes, and one clear line when they do not fit.
    size_t arena = 256, step = 256;
    for (const fb::Entry *e : *p.entries()) {
      arena = std::max<size_t>(arena, e->arena_bytes());
      step = std::max<size_t>(step, e->step_bytes());
    }
    const fb::KVCache &kv = *p.kv();
    uint64_t layerBytes = static_cast<uint64_t>(std::max<int64_t>(options.kvBlocks, 0)) *
                          kv.block_size() * kv.kv_heads() * kv.head_dim() *
                          kv.element_bytes();
    layerBytes = std::max<uint64_t>(layerBytes, 256);
    uint64_t weightBytes = 0;
    for (const WeightsEntry *w : artifact_->weightEntries())
      weightBytes += std::max<uint64_t>(w->bytes, 256);
    uint64_t kvBytes = 2 * layerBytes * kv.layers();
    uint64_t needed = weightBytes + kvBytes + arena + step;
    size_t freeBytes = 0, totalBytes = 0;
    if (d_.cuMemGetInfo(&freeBytes, &totalBytes) == CUDA_SUCCESS &&
        needed > freeBytes)
      return Status::error(spec() + " (" + info_.name + "): the model needs " +
                           gib(static_cast<double>(needed)) +
                           " of device memory (weights " + gib(static_cast<double>(weightBytes)) +
                           ", KV cache " + gib(static_cast<double>(kvBytes)) + ", arena " +
                           gib(static_cast<double>(arena)) + "), " +
                           gib(static_cast<double>(freeBytes)) + " are free");

    LLMC_RETURN_IF_ERROR(loadKernels(p));

    // Buffers: weights uploaded from the mapped file, KV, arena and step
    // buffer zero-filled, all on the stream, then one synchronization.
    LLMC_ASSIGN_OR_RETURN(arena_, allocate(arena, "the arena"));
    LLMC_ASSIGN_OR_RETURN(step_, allocate(step, "the step buffer"));
    stepBytes_ = step;
    LLMC_RETURN_IF_ERROR(d_.check(d_.cuMemsetD8Async(arena_, 0, arena, stream_),
                                  "cuMemsetD8Async"));
    LLMC_RETURN_IF_ERROR(d_.check(d_.cuMemsetD8Async(step_, 0, step, stream_),
                                  "cuMemsetD8Async"));
    void *staging = nullptr;
    LLMC_RETURN_IF_ERROR(d_.check(d_.cuMemAllocHost(&staging, step),
                                  "cannot allocate pinned host memory"));
    staging_ = static_cast<uint8_t *>(staging);
    for (uint32_t l = 0; l < kv.layers(); ++l)
      for (std::vector<CUdeviceptr> *list : {&keys_, &values_}) {
        LLMC_ASSIGN_OR_RETURN(CUdeviceptr buffer, allocate(layerBytes, "the KV cache"));
        list->push_back(buffer);
        LLMC_RETURN_IF_ERROR(d_.check(d_.cuMemsetD8Async(buffer, 0, layerBytes, stream_),
                                      "cuMemsetD8Async"));
      }
    kvLayerBytes_ = layerBytes;
    const auto &entries = artifact_->weightEntries();
    for (size_t i = 0; i < entries.size(); ++i) {
      const WeightsEntry &w = *entries[i];
      LLMC_ASSIGN_OR_RETURN(CUdeviceptr buffer,
                            allocate(std::max<uint64_t>(w.bytes, 256),
                                     "weight '" + p.weights()->Get(i)->name()->str() + "'"));
      weights_.push_back(buffer);
      weightBytes_.push_back(w.bytes);
      if (w.bytes)
        LLMC_RETURN_IF_ERROR(d_.check(
            d_.cuMemcpyHtoDAsync(buffer, artifact_->weights()->data(w), w.bytes, stream_),
            "uploading weight '" + p.weights()->Get(i)->name()->str() + "'"));
    }
    LLMC_RETURN_IF_ERROR(
        d_.check(d_.cuStreamSynchronize(stream_), "uploading the weights"));

    // Launch lists, parameters packed once.
    for (const fb::Entry *e : *p.entries()) {
      EntryPlan plan;
      plan.entry = e;
      for (const fb::Dispatch *dispatch : *e->dispatches()) {
        const KernelInfo &k = kernels_[dispatch->kernel()];
        Launch launch;
        launch.function = k.function;
        std::copy(k.block, k.block + 3, launch.block);
        launch.dispatch = dispatch;
        std::vector<BindingArg> args;
        for (const fb::Binding *b : *dispatch->bindings())
          args.push_back(resolve(*b));
        launch.params = KernelParams(packKernelParams(args));
        plan.launches.push_back(std::move(launch));
      }
      plans_.push_back(std::move(plan));
    }
    numSymbols_ = p.symbols()->size();
    return Status::ok();
  }

  Status run(const fb::Entry &entry, const int64_t *symbols,
             const uint8_t *step, size_t stepBytes) override {
    if (!artifact_)
      return Status::error("cuda: run before load");
    const EntryPlan *plan = nullptr;
    for (const EntryPlan &candidate : plans_)
      if (candidate.entry == &entry)
        plan = &candidate;
    if (!plan)
      return Status::error("cuda: the entry is not part of the loaded program");
    if (stepBytes > stepBytes_)
      return Status::error("step buffer larger than the device's");
    LLMC_RETURN_IF_ERROR(makeCurrent());

    // The previous upload must have left the staging buffer before it is
    // overwritten; then the upload is ordered before the launches.
    LLMC_RETURN_IF_ERROR(d_.check(d_.cuEventSynchronize(stepCopied_), "cuEventSynchronize"));
    if (stepBytes) {
      std::memcpy(staging_, step, stepBytes);
      LLMC_RETURN_IF_ERROR(d_.check(
          d_.cuMemcpyHtoDAsync(step_, staging_, stepBytes, stream_), "uploading the step buffer"));
    }
    LLMC_RETURN_IF_ERROR(d_.check(d_.cuEventRecord(stepCopied_, stream_), "cuEventRecord"));

    if (!graphsEnabled_)
      return enqueue(*plan, symbols);
    GraphCache::Decision decision = graphs_.lookup(&entry, symbols, numSymbols_);
    switch (decision.action) {
    case GraphCache::Action::Direct:
      return enqueue(*plan, symbols);
    case GraphCache::Action::Replay:
      return d_.check(d_.cuGraphLaunch(static_cast<CUgraphExec>(decision.graph), stream_),
                      "cuGraphLaunch");
    case GraphCache::Action::Capture:
      break;
    }
    auto captured = capture(*plan, symbols);
    if (!captured.ok()) {
      // Graphs are an optimization: fall back to direct launches for good.
      graphsEnabled_ = false;
      graphFailure_ = captured.message();
      for (void *g : graphs_.clear())
        d_.cuGraphExecDestroy(static_cast<CUgraphExec>(g));
      return enqueue(*plan, symbols);
    }
    CUgraphExec exec = *captured;
    if (void *evicted = graphs_.insert(&entry, symbols, numSymbols_, exec))
      d_.cuGraphExecDestroy(static_cast<CUgraphExec>(evicted));
    return d_.check(d_.cuGraphLaunch(exec, stream_), "cuGraphLaunch");
  }

  Status readOutput(const fb::Entry &entry, int64_t rows, float *dst) override {
    if (!artifact_)
      return Status::error("cuda: readOutput before load");
    const fb::Binding &out = *entry.output();
    LLMC_ASSIGN_OR_RETURN(uint64_t bytes, outputBytes(entry, rows));
    LLMC_RETURN_IF_ERROR(makeCurrent());
    if (bytes)
      LLMC_RETURN_IF_ERROR(d_.check(
          d_.cuMemcpyDtoHAsync(dst, arena_ + out.offset(), bytes, stream_),
          "copying the logits back"));
    // Kernel faults are reported by the first synchronization after them.
    return d_.check(d_.cuStreamSynchronize(stream_),
                    "running '" + entry.name()->str() + "' on " + spec());
  }

private:
  std::string spec() const { return "cuda:" + std::to_string(info_.index); }

  Status makeCurrent() {
    return d_.check(d_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  }

  Result<CUdeviceptr> allocate(uint64_t bytes, const std::string &what) {
    CUdeviceptr ptr = 0;
    CUresult r = d_.cuMemAlloc(&ptr, static_cast<size_t>(bytes));
    if (r != CUDA_SUCCESS)
      return Status::error("cuda: cannot allocate " + std::to_string(bytes) +
                           " bytes for " + what + " on " + spec() + ": " +
                           d_.errorText(r));
    allocations_.push_back(ptr);
    return ptr;
  }

  Status loadKernels(const fb::Program &p) {
    const auto *binaries = p.binaries();
    if (!binaries || binaries->size() == 0)
      return Status::error(artifact_->dir() + ": the program has no CUDA binaries");
    modules_.assign(binaries->size(), nullptr);
    int maxThreads = 1024;
    d_.cuDeviceGetAttribute(&maxThreads, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                            info_.device);
    for (const fb::Kernel *k : *p.kernels()) {
      std::string name = k->name()->str();
      if (k->binary() >= binaries->size())
        return Status::error(artifact_->dir() + ": kernel '" + name +
                             "' names a missing binary");
      CUmodule &module = modules_[k->binary()];
      if (!module)
        LLMC_RETURN_IF_ERROR(loadModule(*binaries->Get(k->binary()), module));
      KernelInfo info;
      CUresult r = d_.cuModuleGetFunction(&info.function, module, name.c_str());
      if (r != CUDA_SUCCESS)
        return Status::error("cuda: kernel '" + name + "' is not in its PTX module: " +
                             d_.errorText(r));
      uint64_t threads = 1;
      if (k->workgroup_size()) {
        if (k->workgroup_size()->size() > 3)
          return Status::error(artifact_->dir() + ": kernel '" + name +
                               "' has a workgroup size of more than 3 dimensions");
        for (size_t i = 0; i < k->workgroup_size()->size(); ++i) {
          uint32_t n = k->workgroup_size()->Get(i);
          if (n == 0 || n > 1024)
            return Status::error(artifact_->dir() + ": kernel '" + name +
                                 "' has an invalid workgroup size");
          info.block[i] = n;
          threads *= n;
        }
      }
      int fnMax = maxThreads;
      if (d_.cuFuncGetAttribute(&fnMax, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                                info.function) != CUDA_SUCCESS)
        fnMax = maxThreads;
      if (threads > static_cast<uint64_t>(std::min(fnMax, maxThreads))) {
        int regs = 0;
        d_.cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, info.function);
        return Status::error("cuda: kernel '" + name + "' needs " +
                             std::to_string(threads) + " threads per block; " +
                             info_.name + " allows " + std::to_string(fnMax) +
                             " for it (" + std::to_string(regs) + " registers per thread)");
      }
      kernels_.push_back(info);
    }
    return Status::ok();
  }

  Status loadModule(const fb::Binary &binary, CUmodule &module) {
    std::string name = binary.name() ? binary.name()->str() : "?";
    if (!binary.data() || binary.data()->size() == 0)
      return Status::error(artifact_->dir() + ": CUDA binary '" + name + "' is empty");
    // PTX text, NUL-terminated for the driver whether or not it was stored so.
    std::string ptx(reinterpret_cast<const char *>(binary.data()->data()),
                    binary.data()->size());
    while (!ptx.empty() && ptx.back() == '\0')
      ptx.pop_back();
    std::vector<char> errorLog(16384, 0), infoLog(16384, 0);
    CUjit_option keys[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                           CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {errorLog.data(),
                      reinterpret_cast<void *>(static_cast<uintptr_t>(errorLog.size() - 1)),
                      infoLog.data(),
                      reinterpret_cast<void *>(static_cast<uintptr_t>(infoLog.size() - 1))};
    CUresult r = d_.cuModuleLoadDataEx(&module, ptx.c_str(), 4, keys, values);
    if (r != CUDA_SUCCESS) {
      module = nullptr;
      std::string log = oneLine(errorLog.data());
      if (log.empty())
        log = oneLine(infoLog.data());
      return Status::error("cuda: the driver cannot load PTX module '" + name + "' (" +
                           std::to_string(ptx.size()) + " bytes) for " + info_.name +
                           " (compute capability " + info_.cc.str() + "): " +
                           d_.errorText(r) + (log.empty() ? "" : ": " + log));
    }
    return Status::ok();
  }

  BindingArg resolve(const fb::Binding &b) const {
    switch (b.kind()) {
    case fb::BindingKind::Step: return {step_ + b.offset(), b.bytes()};
    case fb::BindingKind::Arena: return {arena_ + b.offset(), b.bytes()};
    case fb::BindingKind::Weight:
      return {weights_[b.index()] + b.offset(),
              b.bytes() ? b.bytes() : weightBytes_[b.index()] - b.offset()};
    case fb::BindingKind::KVKeys:
      return {keys_[b.index()] + b.offset(), b.bytes() ? b.bytes() : kvLayerBytes_};
    case fb::BindingKind::KVValues:
      return {values_[b.index()] + b.offset(), b.bytes() ? b.bytes() : kvLayerBytes_};
    }
    return {0, 0};
  }

  /// Launches (or, under capture, records) an entry's dispatches in order.
  Status enqueue(const EntryPlan &plan, const int64_t *symbols) {
    for (const Launch &launch : plan.launches) {
      const fb::Dispatch &d = *launch.dispatch;
      int64_t grid[3];
      for (int i = 0; i < 3; ++i)
        grid[i] = evaluateExpr(*d.grid()->Get(i), symbols);
      bool skip = grid[0] == 0 || grid[1] == 0 || grid[2] == 0;
      if (!skip) {
        if (grid[0] < 0 || grid[1] < 0 || grid[2] < 0 || grid[0] > 0x7fffffff ||
            grid[1] > 65535 || grid[2] > 65535)
          return Status::error("cuda: kernel '" + kernelName(d) + "' has a grid of " +
                               std::to_string(grid[0]) + "x" + std::to_string(grid[1]) +
                               "x" + std::to_string(grid[2]) +
                               ", beyond what CUDA launches");
        CUresult r = d_.cuLaunchKernel(
            launch.function, static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
            static_cast<unsigned>(grid[2]), launch.block[0], launch.block[1],
            launch.block[2], 0, stream_,
            const_cast<void **>(launch.params.pointers.data()), nullptr);
        if (r != CUDA_SUCCESS)
          return Status::error("cuda: launching kernel '" + kernelName(d) + "': " +
                               d_.errorText(r));
      }
      if (options_.poisonOnFree && d.frees())
        for (const fb::Range *range : *d.frees())
          if (range->bytes())
            LLMC_RETURN_IF_ERROR(d_.check(
                d_.cuMemsetD8Async(arena_ + range->offset(), 0xff, range->bytes(), stream_),
                "poisoning a freed range"));
    }
    return Status::ok();
  }

  /// Records the entry's launches for these symbols as an executable graph.
  Result<CUgraphExec> capture(const EntryPlan &plan, const int64_t *symbols) {
    LLMC_RETURN_IF_ERROR(d_.check(
        d_.cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        "cuStreamBeginCapture"));
    Status recorded = enqueue(plan, symbols);
    CUgraph graph = nullptr;
    CUresult ended = d_.cuStreamEndCapture(stream_, &graph);
    if (recorded.isError() || ended != CUDA_SUCCESS) {
      if (graph)
        d_.cuGraphDestroy(graph);
      if (recorded.isError())
        return recorded;
      return d_.check(ended, "cuStreamEndCapture");
    }
    CUgraphExec exec = nullptr;
    CUresult r = d_.cuGraphInstantiateWithFlags(&exec, graph, 0);
    d_.cuGraphDestroy(graph);
    if (r != CUDA_SUCCESS)
      return d_.check(r, "cuGraphInstantiate");
    return exec;
  }

  std::string kernelName(const fb::Dispatch &d) const {
    return artifact_->program().kernels()->Get(d.kernel())->name()->str();
  }

  /// Frees what load made (all: also the stream, event and context).
  void release(bool all) {
    if (retained_)
      d_.cuCtxSetCurrent(context_);
    if (stream_)
      d_.cuStreamSynchronize(stream_);
    for (void *g : graphs_.clear())
      d_.cuGraphExecDestroy(static_cast<CUgraphExec>(g));
    plans_.clear();
    kernels_.clear();
    for (CUmodule m : modules_)
      if (m)
        d_.cuModuleUnload(m);
    modules_.clear();
    for (CUdeviceptr p : allocations_)
      d_.cuMemFree(p);
    allocations_.clear();
    weights_.clear();
    weightBytes_.clear();
    keys_.clear();
    values_.clear();
    arena_ = step_ = 0;
    if (staging_)
      d_.cuMemFreeHost(staging_);
    staging_ = nullptr;
    artifact_.reset();
    if (!all)
      return;
    if (stepCopied_)
      d_.cuEventDestroy(stepCopied_);
    stepCopied_ = nullptr;
    if (stream_)
      d_.cuStreamDestroy(stream_);
    stream_ = nullptr;
    if (retained_)
      d_.cuDevicePrimaryCtxRelease(info_.device);
    retained_ = false;
  }

  const Driver &d_;
  GPUInfo info_;
  CUcontext context_ = nullptr;
  bool retained_ = false;
  CUstream stream_ = nullptr;
  CUevent stepCopied_ = nullptr;

  std::shared_ptr<const Artifact> artifact_;
  DeviceOptions options_;
  std::vector<CUmodule> modules_;
  std::vector<KernelInfo> kernels_;
  std::vector<CUdeviceptr> allocations_;
  std::vector<CUdeviceptr> weights_;
  std::vector<uint64_t> weightBytes_;
  std::vector<CUdeviceptr> keys_, values_;
  uint64_t kvLayerBytes_ = 0;
  CUdeviceptr arena_ = 0, step_ = 0;
  size_t stepBytes_ = 0;
  uint8_t *staging_ = nullptr;
  std::vector<EntryPlan> plans_;
  size_t numSymbols_ = 0;

  bool graphsEnabled_ = true;
  std::string graphFailure_;
  GraphCache graphs_;
};
} // namespace

Result<std::unique_ptr<Device>> cuda::createDevice(const Driver &driver, int index) {
  LLMC_ASSIGN_OR_RETURN(GPUInfo info, queryDevice(driver, index));
  auto device = std::make_unique<CUDADevice>(driver, std::move(info));
  LLMC_RETURN_IF_ERROR(device->init());
  return std::unique_ptr<Device>(std::move(device));
}

Result<std::unique_ptr<Device>> createCUDADevice(int index) {
  LLMC_ASSIGN_OR_RETURN(const Driver *d, cuda::driver());
  return cuda::createDevice(*d, index);
}

Result<std::unique_ptr<Device>> createCUDADeviceFromSpec(const std::string &spec) {
  LLMC_ASSIGN_OR_RETURN(int index, parseCUDADeviceSpec(spec));
  return createCUDADevice(index);
}

std::vector<CUDADeviceSummary> queryCUDADevices(std::string *whyNone) {
  std::vector<CUDADeviceSummary> out;
  auto d = cuda::driver();
  if (!d.ok()) {
    if (whyNone)
      *whyNone = d.message();
    return out;
  }
  int count = 0;
  if ((*d)->cuDeviceGetCount(&count) != CUDA_SUCCESS)
    count = 0;
  for (int i = 0; i < count; ++i) {
    CUDADeviceSummary s;
    s.spec = "cuda:" + std::to_string(i);
    s.driverVersion = driverVersion((*d)->version);
    auto info = queryDevice(**d, i);
    if (info.ok()) {
      s.name = info->name;
      s.arch = "sm_" + std::to_string(info->cc.major) + std::to_string(info->cc.minor);
      s.capability = info->cc.str();
      s.memoryBytes = info->totalMemory;
      s.multiprocessors = info->multiprocessors;
    } else {
      s.error = info.message();
    }
    out.push_back(std::move(s));
  }
  if (out.empty() && whyNone)
    *whyNone = "cuda: no CUDA device (the NVIDIA driver found none)";
  return out;
}

std::vector<std::string> listCUDADevices(std::string *whyNone) {
  std::vector<std::string> lines;
  for (const CUDADeviceSummary &s : queryCUDADevices(whyNone))
    lines.push_back(s.spec + "  " +
                    (s.error.empty()
                         ? s.name + "  " + s.arch + "  " +
                               gib(static_cast<double>(s.memoryBytes)) + "  " +
                               std::to_string(s.multiprocessors) + " SMs  (driver " +
                               s.driverVersion + ")"
                         : s.error));
  return lines;
}

} // namespace llmc
