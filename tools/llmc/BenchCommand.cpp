//===- BenchCommand.cpp - llmc bench OUT [--prompt-len P] [--gen N] [--reps R] ---===//
//
// Measures, in one command and on the same threads:
//  - memory bandwidth: a read-only sum over a 1 GiB buffer (median of R) for
//    devices that compute from host memory (cpu, lavapipe); GPUs take the
//    figure from --bandwidth (e.g. the H200's 4800 GB/s);
//  - prefill of a P-token prompt (tok/s, time to first token) and N greedy
//    decode steps (tok/s, time per output token), median of R runs;
//  - decode as a share of the roofline: bandwidth / bytes per token, where
//    bytes per token = the weights in their formats' (GGUF) bytes, counting
//    only one row of gathered tables, + the KV cache bytes a step reads;
//  - peak resident memory.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/engine/Session.h"
#include "runtime/sampler/Sampler.h"
#include "runtime/support/ThreadPool.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <sys/resource.h>

namespace llmc::cli {

namespace {
struct BenchArgs {
  std::string artifact;
  int promptLen = 128;
  int gen = 128;
  int reps = 3;
  int threads = 0;
  bool json = false;
  uint64_t bandwidthBytes = 1ull << 30;
  double givenBandwidthGBs = 0; // --bandwidth: the device's, in GB/s
  std::string device = "cpu";
};

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// Read-only bandwidth of `threads` threads claiming 1 MiB chunks of a
/// buffer (dynamically, like the kernels), in bytes per second.
double measureBandwidth(ThreadPool &pool, const uint64_t *data, uint64_t words) {
  constexpr uint64_t kChunk = (1 << 20) / 8;
  uint64_t chunks = words / kChunk;
  std::vector<uint64_t> sums(static_cast<size_t>(chunks));
  auto start = Clock::now();
  pool.parallelFor(static_cast<int64_t>(chunks), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const uint64_t *p = data + c * kChunk;
      uint64_t a = 0, b = 0, d = 0, e = 0;
      for (uint64_t i = 0; i < kChunk; i += 4) {
        a += p[i];
        b += p[i + 1];
        d += p[i + 2];
        e += p[i + 3];
      }
      sums[c] = a + b + d + e;
    }
  });
  double elapsed = seconds(start, Clock::now());
  volatile uint64_t sink = 0;
  for (uint64_t s : sums)
    sink = sink + s;
  return static_cast<double>(chunks * kChunk * 8) / elapsed;
}

void runBench(const BenchArgs &args) {
  auto artifact = Artifact::open(args.artifact);
  if (!artifact.ok())
    return fail(artifact.message());
  SessionOptions options;
  options.threads = args.threads;
  options.device = args.device;
  options.contextLength = args.promptLen + args.gen;
  auto session = Session::create(*artifact, options);
  if (!session.ok())
    return fail(session.message());
  Session &s = **session;
  if (args.promptLen + args.gen > s.contextLength())
    return fail("--prompt-len + --gen exceeds the context of " +
                std::to_string(s.contextLength()));

  std::mt19937 rng(1);
  int64_t vocab = s.vocabSize();
  std::vector<double> prefillRates, decodeRates, ttfts, tpots;
  std::vector<float> logits;
  for (int r = 0; r < args.reps; ++r) {
    std::vector<int32_t> prompt(args.promptLen);
    for (int32_t &t : prompt)
      t = static_cast<int32_t>(rng() % vocab);
    auto seq = s.addSequence();
    auto t0 = Clock::now();
    if (Status st = s.prefill(*seq, prompt, &logits); st.isError())
      return fail(st.message());
    auto t1 = Clock::now();
    int32_t next = argmax(logits.data(), vocab);
    for (int i = 0; i < args.gen; ++i) {
      if (Status st = s.decode({*seq}, {next}, &logits); st.isError())
        return fail(st.message());
      next = argmax(logits.data(), vocab);
    }
    auto t2 = Clock::now();
    (void)s.removeSequence(*seq);
    prefillRates.push_back(args.promptLen / seconds(t0, t1));
    ttfts.push_back(seconds(t0, t1));
    if (args.gen > 0) {
      decodeRates.push_back(args.gen / seconds(t1, t2));
      tpots.push_back(seconds(t1, t2) / args.gen);
    }
  }

  // Bytes one decode step reads.
  const fb::Program &p = (*artifact)->program();
  double weightBytes = 0;
  for (const fb::Weight *w : *p.weights()) {
    double bytes = static_cast<double>(w->bytes());
    if (w->gathered() && w->shape()->size() == 2)
      bytes /= static_cast<double>(w->shape()->Get(0)); // one row per token
    weightBytes += bytes;
  }
  const fb::KVCache &kv = *p.kv();
  double averageContext = args.promptLen + args.gen / 2.0;
  double kvBytes = 2.0 * kv.layers() * kv.kv_heads() * kv.head_dim() *
                   kv.element_bytes() * averageContext;
  double bytesPerToken = weightBytes + kvBytes;
  double decodeRate = median(decodeRates);
  // Peak memory of the runs, before the bandwidth buffer.
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double peakRssMiB = usage.ru_maxrss / 1024.0;

  // Bandwidth: given, or measured on the host (where cpu and lavapipe read
  // their weights) on the same number of threads, the buffer touched first.
  std::string description = s.deviceDescription();
  bool hostMemory = description.rfind("cpu", 0) == 0 ||
                    description.find("llvmpipe") != std::string::npos;
  double bandwidth = args.givenBandwidthGBs * 1e9;
  std::string bandwidthSource = "given (--bandwidth)";
  if (bandwidth <= 0 && hostMemory) {
    ThreadPool pool(args.threads);
    uint64_t words = args.bandwidthBytes / 8;
    std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
    for (uint64_t i = 0; i < words; ++i)
      buffer[i] = i;
    std::vector<double> bandwidths;
    for (int r = 0; r < std::max(args.reps, 3); ++r)
      bandwidths.push_back(measureBandwidth(pool, buffer.get(), words));
    buffer.reset();
    bandwidth = median(bandwidths);
    bandwidthSource = "measured host read";
  }
  double roofline = bandwidth > 0 ? bandwidth / bytesPerToken : 0;


  if (args.json) {
    nlohmann::json out = {
        {"artifact", args.artifact},
        {"device", s.deviceDescription()},
        {"prompt_len", args.promptLen},
        {"gen", args.gen},
        {"reps", args.reps},
        {"prefill_tok_s", median(prefillRates)},
        {"decode_tok_s", decodeRate},
        {"ttft_s", median(ttfts)},
        {"tpot_ms", 1000 * median(tpots)},
        {"peak_rss_mib", peakRssMiB},
        {"bandwidth_gb_s", bandwidth / 1e9},
        {"bandwidth_source", bandwidth > 0 ? bandwidthSource : "unknown"},
        {"bytes_per_token", bytesPerToken},
        {"weight_bytes_per_token", weightBytes},
        {"kv_bytes_per_token", kvBytes},
        {"roofline_decode_tok_s", roofline},
        {"decode_roofline_fraction",
         roofline > 0 ? nlohmann::json(decodeRate / roofline) : nlohmann::json()}};
    std::cout << out.dump() << "\n";
    return;
  }
  std::printf("%s on %s, prompt %d, gen %d, median of %d\n",
              args.artifact.c_str(), s.deviceDescription().c_str(),
              args.promptLen, args.gen, args.reps);
  std::printf("prefill   %8.1f tok/s   (TTFT %.3f s)\n", median(prefillRates),
              median(ttfts));
  std::printf("decode    %8.1f tok/s   (TPOT %.2f ms)\n", decodeRate,
              1000 * median(tpots));
  if (roofline <= 0) {
    std::printf("roofline  unknown: pass --bandwidth GB/s (this device's memory "
                "bandwidth); %.1f MB per token (weights %.1f MB + KV %.2f MB)\n",
                bytesPerToken / 1e6, weightBytes / 1e6, kvBytes / 1e6);
    std::printf("peak RSS %.0f MiB\n", peakRssMiB);
    return;
  }
  std::printf("roofline  %8.1f tok/s   = %.1f GB/s read bandwidth (%s) / %.1f MB "
              "per token (weights %.1f MB + KV %.2f MB)\n",
              roofline, bandwidth / 1e9, bandwidthSource.c_str(),
              bytesPerToken / 1e6, weightBytes / 1e6, kvBytes / 1e6);
  std::printf("decode is %.0f%% of the roofline; peak RSS %.0f MiB\n",
              100 * decodeRate / roofline, peakRssMiB);
}
} // namespace

void addBenchCommand(CLI::App &app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App *cmd = app.add_subcommand(
      "bench", "Measure prefill/decode speed, TTFT, TPOT, peak memory and the "
               "decode roofline of an artifact");
  cmd->add_option("artifact", args->artifact, "artifact folder")->required();
  cmd->add_option("--prompt-len", args->promptLen, "prompt tokens")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--gen", args->gen, "tokens to decode")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--reps", args->reps, "repetitions (the median is reported)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", args->threads, "CPU threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--device", args->device, "cpu, vulkan[:N] or cuda[:N]");
  cmd->add_option("--bandwidth", args->givenBandwidthGBs,
                  "the device's memory bandwidth in GB/s for the roofline "
                  "(default: measured, for cpu and lavapipe)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_flag("--json", args->json, "print one JSON object");
  cmd->callback([args] { runBench(*args); });
}

} // namespace llmc::cli
