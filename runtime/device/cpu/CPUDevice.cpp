//===- CPUDevice.cpp - running programs on the host CPU ----------------------------===//
//
// Weights are read in place from the mapped weights.bin; arenas, the step
// buffer and the KV cache are 64-byte aligned host allocations. Each dispatch
// runs its workgroups on the thread pool, claimed in chunks.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/cpu/CPUDevice.h"

#include "runtime/support/ThreadPool.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

namespace llmc {

namespace {
struct AlignedBuffer {
  uint8_t *data = nullptr;
  size_t bytes = 0;
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) : bytes(n) {
    data = static_cast<uint8_t *>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64));
    if (data)
      std::memset(data, 0, n);
  }
  AlignedBuffer(AlignedBuffer &&o) noexcept : data(o.data), bytes(o.bytes) {
    o.data = nullptr;
  }
  AlignedBuffer &operator=(AlignedBuffer &&o) noexcept {
    std::swap(data, o.data);
    std::swap(bytes, o.bytes);
    return *this;
  }
  ~AlignedBuffer() { std::free(data); }
};

class CPUDevice final : public Device {
public:
  std::string description() const override {
    return "cpu (" + std::to_string(pool_ ? pool_->size() : 0) + " threads)";
  }

  Status load(std::shared_ptr<const Artifact> artifact,
              const DeviceOptions &options) override {
    if (std::string(artifact->program().target()->kind()->c_str()) != "cpu")
      return Status::error("the artifact was compiled for " +
                           artifact->program().target()->kind()->str() +
                           ", not for the CPU");
    if (!artifact->weights())
      return Status::error("the artifact was opened without its weights");
    artifact_ = std::move(artifact);
    options_ = options;
    pool_ = std::make_unique<ThreadPool>(options.threads);
    const fb::Program &p = artifact_->program();
    size_t arena = 0, step = 0;
    for (const fb::Entry *e : *p.entries()) {
      arena = std::max<size_t>(arena, e->arena_bytes());
      step = std::max<size_t>(step, e->step_bytes());
    }
    // Entries never run at the same time: they share one arena.
    arena_ = AlignedBuffer(std::max<size_t>(arena, 64));
    step_ = AlignedBuffer(std::max<size_t>(step, 64));
    if (!arena_.data || !step_.data)
      return Status::error("cannot allocate the arena (" +
                           std::to_string(arena) + " bytes)");
    const fb::KVCache &kv = *p.kv();
    size_t layerBytes = static_cast<size_t>(options.kvBlocks) * kv.block_size() *
                        kv.kv_heads() * kv.head_dim() * kv.element_bytes();
    for (uint32_t l = 0; l < kv.layers(); ++l) {
      keys_.emplace_back(layerBytes);
      values_.emplace_back(layerBytes);
      if (!keys_.back().data || !values_.back().data)
        return Status::error("cannot allocate the KV cache (" +
                             std::to_string(2 * layerBytes * kv.layers()) +
                             " bytes)");
    }
    for (const WeightsEntry *w : artifact_->weightEntries())
      weights_.push_back(const_cast<uint8_t *>(artifact_->weights()->data(*w)));
    return Status::ok();
  }

  Status run(const fb::Entry &entry, const int64_t *symbols,
             const uint8_t *step, size_t stepBytes) override {
    if (stepBytes > step_.bytes)
      return Status::error("step buffer larger than the device's");
    std::memcpy(step_.data, step, stepBytes);
    const auto &kernels = artifact_->cpuKernels();
    std::vector<void *> bindings;
    for (const fb::Dispatch *d : *entry.dispatches()) {
      bindings.clear();
      for (const fb::Binding *b : *d->bindings())
        bindings.push_back(resolve(*b));
      int64_t gx = evaluateExpr(*d->grid()->Get(0), symbols);
      int64_t gy = evaluateExpr(*d->grid()->Get(1), symbols);
      int64_t gz = evaluateExpr(*d->grid()->Get(2), symbols);
      int64_t total = gx * gy * gz;
      auto fn = kernels[d->kernel()];
      void **args = bindings.data();
      pool_->parallelFor(total, [&](int64_t begin, int64_t end) {
        for (int64_t w = begin; w < end; ++w) {
          int64_t x = w % gx, rest = w / gx;
          fn(args, x, rest % gy, rest / gy);
        }
      });
      if (options_.poisonOnFree && d->frees())
        for (const fb::Range *r : *d->frees())
          std::memset(arena_.data + r->offset(), 0xff, r->bytes()); // NaN
    }
    return Status::ok();
  }

  Status readOutput(const fb::Entry &entry, int64_t rows, float *dst) override {
    const fb::Binding &out = *entry.output();
    LLMC_ASSIGN_OR_RETURN(uint64_t bytes, outputBytes(entry, rows));
    std::memcpy(dst, arena_.data + out.offset(), bytes);
    return Status::ok();
  }

private:
  void *resolve(const fb::Binding &b) {
    switch (b.kind()) {
    case fb::BindingKind::Step: return step_.data + b.offset();
    case fb::BindingKind::Arena: return arena_.data + b.offset();
    case fb::BindingKind::Weight: return weights_[b.index()] + b.offset();
    case fb::BindingKind::KVKeys: return keys_[b.index()].data;
    case fb::BindingKind::KVValues: return values_[b.index()].data;
    }
    return nullptr;
  }

  std::shared_ptr<const Artifact> artifact_;
  DeviceOptions options_;
  std::unique_ptr<ThreadPool> pool_;
  AlignedBuffer arena_, step_;
  std::vector<AlignedBuffer> keys_, values_;
  std::vector<uint8_t *> weights_;
};
} // namespace

std::unique_ptr<Device> createCPUDevice() { return std::make_unique<CPUDevice>(); }

} // namespace llmc
