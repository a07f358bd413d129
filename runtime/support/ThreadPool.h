//===- ThreadPool.h - workers that claim chunks of a range dynamically -----------===//
//
// One parallelFor at a time: the caller and the workers claim chunks of
// [0, total) from an atomic counter, so a slower core simply takes fewer
// chunks (splitting statically between the 2 vCPUs here scaled badly).
// Workers spin briefly between dispatches before sleeping, because a decode
// step is hundreds of short dispatches.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SUPPORT_THREADPOOL_H
#define LLMC_RUNTIME_SUPPORT_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmc {

class ThreadPool {
public:
  /// `threads` includes the calling thread; 0 means one per core.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(begin, end) on chunks covering [0, total), in parallel, and
  /// returns when all are done. Not reentrant.
  void parallelFor(int64_t total,
                   const std::function<void(int64_t, int64_t)> &fn);

private:
  void workerLoop();
  void runChunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  // The current job.
  const std::function<void(int64_t, int64_t)> *fn_ = nullptr;
  int64_t total_ = 0;
  int64_t chunk_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
};

} // namespace llmc

#endif // LLMC_RUNTIME_SUPPORT_THREADPOOL_H
