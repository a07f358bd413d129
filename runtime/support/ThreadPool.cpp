//===- ThreadPool.cpp - workers that claim chunks of a range dynamically ---------===//

#include "runtime/support/ThreadPool.h"

#include <algorithm>

namespace llmc {

namespace {
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
} // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0)
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::runChunks() {
  for (;;) {
    int64_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= total_)
      break;
    (*fn_)(begin, std::min(total_, begin + chunk_));
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    // Spin a little: the next dispatch usually follows within microseconds.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < 20000; ++spin) {
      cpuRelax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] {
        return generation_.load(std::memory_order_acquire) != seen;
      });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load())
      return;
    runChunks();
    active_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallelFor(int64_t total,
                             const std::function<void(int64_t, int64_t)> &fn) {
  if (total <= 0)
    return;
  int threads = size();
  if (threads == 1 || total == 1) {
    fn(0, total);
    return;
  }
  fn_ = &fn;
  total_ = total;
  // Several chunks per thread so faster threads take more of them.
  chunk_ = std::max<int64_t>(1, total / (static_cast<int64_t>(threads) * 4));
  next_.store(0, std::memory_order_relaxed);
  active_.store(static_cast<int>(workers_.size()), std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  runChunks();
  while (active_.load(std::memory_order_acquire) != 0)
    cpuRelax();
  fn_ = nullptr;
}

} // namespace llmc
