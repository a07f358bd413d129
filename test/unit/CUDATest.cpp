//===- CUDATest.cpp - the CUDA device's pieces that need no GPU ---------------------===//
//
// Driver loading without a driver (and against the CUDA toolkit's stub
// library, when it is installed: every entry point must resolve), device
// specs, sm profiles and the capability check, kernel parameter packing
// (docs/gpu-abi.md) and the graph cache's keying and eviction; then the
// whole device (load, run, readOutput, graphs, poison mode, refusals) on a
// mock driver library (CUDAMockDriver.cpp) that runs a few fake kernels on
// the host.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/cuda/CUDADevice.h"
#include "runtime/device/cuda/CUDADriver.h"

#include "test/unit/SkipOrFail.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

namespace llmc {
namespace {

using cuda::BindingArg;
using cuda::ComputeCapability;
using cuda::GraphCache;

bool exists(const char *path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

TEST(CUDADriver, MissingLibraryIsOneClearLine) {
  auto d = cuda::openDriver("libllmc-no-such-driver.so.1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(),
            "cuda: no NVIDIA driver (libllmc-no-such-driver.so.1 not found)");
}

TEST(CUDADriver, ToolkitStubResolvesEveryEntryPoint) {
  // The toolkit's stub exports the whole driver API and fails cuInit: it
  // checks the versioned names llmc asks for exist, without a GPU.
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!exists(stub))
    LLMC_SKIP_OR_FAIL(std::string("no CUDA toolkit stub at ") + stub);
  auto d = cuda::openDriver(stub);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), std::string("cuda: no NVIDIA driver (") + stub +
                             " is the CUDA toolkit's stub library)");
}

TEST(CUDADevice, CreateWithoutGPUFailsCleanly) {
  auto device = createCUDADevice(0);
  if (device.ok())
    GTEST_SKIP() << "this machine has a CUDA device: " << (*device)->description();
  // No driver, or a driver that sees no device: one line, no crash.
  const std::string &m = device.message();
  EXPECT_TRUE(m == "cuda: no NVIDIA driver (libcuda.so.1 not found)" ||
              m == "cuda: no CUDA device (the NVIDIA driver found none)" ||
              m.rfind("cuda: ", 0) == 0)
      << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  // The same answer every time (the driver is loaded once).
  auto again = createCUDADeviceFromSpec("cuda:0");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), m);
  std::string why;
  EXPECT_TRUE(listCUDADevices(&why).empty());
  EXPECT_EQ(why, m);
}

TEST(CUDADevice, Specs) {
  EXPECT_TRUE(isCUDADeviceSpec("cuda"));
  EXPECT_TRUE(isCUDADeviceSpec("cuda:1"));
  EXPECT_FALSE(isCUDADeviceSpec("cpu"));
  EXPECT_FALSE(isCUDADeviceSpec("cudax"));
  EXPECT_EQ(*parseCUDADeviceSpec("cuda"), 0);
  EXPECT_EQ(*parseCUDADeviceSpec("cuda:0"), 0);
  EXPECT_EQ(*parseCUDADeviceSpec("cuda:3"), 3);
  EXPECT_EQ(*parseCUDADeviceSpec("cuda:12"), 12);
  for (const char *bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1a", "cudax",
                          "cuda:99999999", "vulkan"}) {
    auto r = parseCUDADeviceSpec(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.message(), std::string("unknown device '") + bad +
                                 "' (CUDA devices are cuda or cuda:N)");
    }
  }
  auto created = createCUDADeviceFromSpec("cuda:x");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.message(),
            "unknown device 'cuda:x' (CUDA devices are cuda or cuda:N)");
}

TEST(CUDAProfile, Parse) {
  auto cc = cuda::parseProfile("sm_80");
  ASSERT_TRUE(cc.ok()) << cc.message();
  EXPECT_EQ(cc->major, 8);
  EXPECT_EQ(cc->minor, 0);
  EXPECT_FALSE(cc->archSpecific);
  EXPECT_EQ(cc->str(), "8.0");

  cc = cuda::parseProfile("sm_89");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->str(), "8.9");

  cc = cuda::parseProfile("sm_90a");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->str(), "9.0");
  EXPECT_TRUE(cc->archSpecific);

  cc = cuda::parseProfile("sm_120");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->major, 12);
  EXPECT_EQ(cc->minor, 0);

  cc = cuda::parseProfile("sm_100f");
  ASSERT_TRUE(cc.ok());
  EXPECT_TRUE(cc->familySpecific);

  // A list: the first sm_ item.
  cc = cuda::parseProfile("ptx80, sm_86");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->str(), "8.6");

  for (const char *bad : {"", "sm_", "sm_8", "sm_80x", "compute_80",
                          "vulkan1.1,subgroup=8", "sm_00"}) {
    auto r = cuda::parseProfile(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.message(), std::string("the CUDA profile '") + bad +
                                 "' names no sm_ architecture (e.g. sm_80)");
    }
  }
}

TEST(CUDAProfile, Capability) {
  auto make = [](int major, int minor) {
    ComputeCapability c;
    c.major = major;
    c.minor = minor;
    return c;
  };
  ComputeCapability sm80 = make(8, 0), sm86 = make(8, 6), sm89 = make(8, 9),
                    sm90 = make(9, 0), sm100 = make(10, 0);
  // PTX for an older architecture is JIT-compiled for newer devices.
  EXPECT_EQ(cuda::checkCapability(sm80, sm80), "");
  EXPECT_EQ(cuda::checkCapability(sm80, sm86), "");
  EXPECT_EQ(cuda::checkCapability(sm80, sm90), "");
  EXPECT_EQ(cuda::checkCapability(sm86, sm89), "");
  EXPECT_EQ(cuda::checkCapability(sm89, sm90), "");
  // A lower capability is refused.
  EXPECT_EQ(cuda::checkCapability(sm90, sm86),
            "needs compute capability 9.0 or newer");
  EXPECT_EQ(cuda::checkCapability(sm86, sm80),
            "needs compute capability 8.6 or newer");
  // Arch-specific code runs on exactly its capability.
  ComputeCapability sm90a = sm90;
  sm90a.archSpecific = true;
  EXPECT_EQ(cuda::checkCapability(sm90a, sm90), "");
  EXPECT_NE(cuda::checkCapability(sm90a, sm100), "");
  EXPECT_NE(cuda::checkCapability(sm90a, sm89), "");
  // Family-specific: same major, this minor or newer.
  ComputeCapability sm100f = sm100;
  sm100f.familySpecific = true;
  EXPECT_EQ(cuda::checkCapability(sm100f, make(10, 3)), "");
  EXPECT_NE(cuda::checkCapability(sm100f, make(12, 0)), "");
  EXPECT_NE(cuda::checkCapability(sm100f, sm90), "");
}

TEST(CUDAParams, PackedAsExpandedMemrefDescriptors) {
  std::vector<BindingArg> bindings = {
      {0x7f0000000000ull, 64},        // step header
      {0x7f0000100100ull, 4096},      // arena at offset 0x100
      {0x7f0000200000ull, 6},         // 6 bytes: ceil(6 / 4) = 2
      {0x7f0000300000ull, 0},         // nothing declared: size 1
  };
  std::vector<uint64_t> v = cuda::packKernelParams(bindings);
  ASSERT_EQ(v.size(), 20u);
  const uint64_t expected[] = {
      0x7f0000000000ull, 0x7f0000000000ull, 0, 16,   1,
      0x7f0000100100ull, 0x7f0000100100ull, 0, 1024, 1,
      0x7f0000200000ull, 0x7f0000200000ull, 0, 2,    1,
      0x7f0000300000ull, 0x7f0000300000ull, 0, 1,    1,
  };
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ(v[i], expected[i]) << "parameter " << i;
  EXPECT_TRUE(cuda::packKernelParams({}).empty());
}

TEST(CUDAParams, PointersFollowTheValuesWhenMoved) {
  cuda::KernelParams params(cuda::packKernelParams({{0x1000, 8}, {0x2000, 16}}));
  ASSERT_EQ(params.pointers.size(), 10u);
  std::vector<cuda::KernelParams> list;
  list.push_back(std::move(params));
  list.emplace_back(cuda::packKernelParams({{0x3000, 4}}));
  const cuda::KernelParams &p = list[0];
  for (size_t i = 0; i < p.values.size(); ++i)
    EXPECT_EQ(p.pointers[i], &p.values[i]);
  EXPECT_EQ(*static_cast<uint64_t *>(p.pointers[0]), 0x1000u);
  EXPECT_EQ(*static_cast<uint64_t *>(p.pointers[5]), 0x2000u);
  EXPECT_EQ(*static_cast<uint64_t *>(p.pointers[8]), 4u); // 16 bytes / 4
  EXPECT_EQ(*static_cast<uint64_t *>(list[1].pointers[3]), 1u);
}

TEST(CUDAGraphs, CaptureOnSecondRunThenReplay) {
  GraphCache cache;
  int decode = 0, prefill = 0;
  int64_t one[3] = {1, 1, 1};
  EXPECT_EQ(cache.lookup(&decode, one, 3).action, GraphCache::Action::Direct);
  EXPECT_EQ(cache.lookup(&decode, one, 3).action, GraphCache::Action::Capture);
  void *graph = reinterpret_cast<void *>(0x1234);
  EXPECT_EQ(cache.insert(&decode, one, 3, graph), nullptr);
  auto d = cache.lookup(&decode, one, 3);
  EXPECT_EQ(d.action, GraphCache::Action::Replay);
  EXPECT_EQ(d.graph, graph);
  EXPECT_EQ(cache.size(), 1u);

  // Another symbol vector, or the same symbols of another entry: other keys.
  int64_t two[3] = {2, 2, 2};
  EXPECT_EQ(cache.lookup(&decode, two, 3).action, GraphCache::Action::Direct);
  EXPECT_EQ(cache.lookup(&prefill, one, 3).action, GraphCache::Action::Direct);
  int64_t oneTwo[3] = {1, 2, 1};
  EXPECT_EQ(cache.lookup(&decode, oneTwo, 3).action, GraphCache::Action::Direct);
  // Only the symbols given count (a prefix is another key).
  EXPECT_EQ(cache.lookup(&decode, one, 2).action, GraphCache::Action::Direct);
  EXPECT_EQ(cache.lookup(&decode, one, 3).graph, graph);

  auto all = cache.clear();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], graph);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup(&decode, one, 3).action, GraphCache::Action::Direct);
}

TEST(CUDAGraphs, CaptureImmediatelyAndEvictLeastRecentlyUsed) {
  GraphCache cache(/*capacity=*/2, /*captureAfter=*/0);
  int entry = 0;
  int64_t a[1] = {1}, b[1] = {2}, c[1] = {3};
  auto *ga = reinterpret_cast<void *>(0xa), *gb = reinterpret_cast<void *>(0xb),
       *gc = reinterpret_cast<void *>(0xc);
  EXPECT_EQ(cache.lookup(&entry, a, 1).action, GraphCache::Action::Capture);
  EXPECT_EQ(cache.insert(&entry, a, 1, ga), nullptr);
  EXPECT_EQ(cache.lookup(&entry, b, 1).action, GraphCache::Action::Capture);
  EXPECT_EQ(cache.insert(&entry, b, 1, gb), nullptr);
  // a is used again, so b is the least recently used when c arrives.
  EXPECT_EQ(cache.lookup(&entry, a, 1).graph, ga);
  EXPECT_EQ(cache.lookup(&entry, c, 1).action, GraphCache::Action::Capture);
  EXPECT_EQ(cache.insert(&entry, c, 1, gc), gb);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.lookup(&entry, a, 1).graph, ga);
  EXPECT_EQ(cache.lookup(&entry, c, 1).graph, gc);
  EXPECT_EQ(cache.lookup(&entry, b, 1).action, GraphCache::Action::Capture);
  // Re-inserting a key hands back the graph it replaces.
  EXPECT_EQ(cache.insert(&entry, c, 1, gb), gc);
}

TEST(CUDAGraphs, EnvironmentSwitch) {
  const char *saved = std::getenv("LLMC_CUDA_GRAPHS");
  std::string keep = saved ? saved : "";
  ::unsetenv("LLMC_CUDA_GRAPHS");
  EXPECT_TRUE(cuda::graphsEnabledByEnvironment());
  for (const char *off : {"0", "off", "OFF", "false", "no"}) {
    ::setenv("LLMC_CUDA_GRAPHS", off, 1);
    EXPECT_FALSE(cuda::graphsEnabledByEnvironment()) << off;
  }
  for (const char *on : {"1", "on", "yes"}) {
    ::setenv("LLMC_CUDA_GRAPHS", on, 1);
    EXPECT_TRUE(cuda::graphsEnabledByEnvironment()) << on;
  }
  if (saved)
    ::setenv("LLMC_CUDA_GRAPHS", keep.c_str(), 1);
  else
    ::unsetenv("LLMC_CUDA_GRAPHS");
}

TEST(CUDADriver, ErrorNames) {
  EXPECT_STREQ(cuda::errorName(cuda::CUDA_ERROR_NO_DEVICE), "CUDA_ERROR_NO_DEVICE");
  EXPECT_STREQ(cuda::errorName(700), "CUDA_ERROR_ILLEGAL_ADDRESS");
  EXPECT_EQ(cuda::errorName(12345), nullptr);
  cuda::Driver none; // no library: errorText falls back to the table
  EXPECT_EQ(none.errorText(2), "CUDA_ERROR_OUT_OF_MEMORY");
  EXPECT_EQ(none.errorText(12345), "CUDA error 12345");
  EXPECT_TRUE(none.check(0, "x").isOk());
  EXPECT_EQ(none.check(218, "loading").message(),
            "cuda: loading: CUDA_ERROR_INVALID_PTX");
}

//===----------------------------------------------------------------------===//
// The device on the mock driver
//===----------------------------------------------------------------------===//

/// What the mock artifact's program looks like.
struct MockProgram {
  std::string kind = "cuda";
  std::string profile = "sm_80";
  bool invalidPTX = false;  // binary 1 fails to JIT
  bool missingEntry = false; // kernel 'noop_scaled' is not in its PTX
  uint32_t heavyThreads = 0; // add a kernel 'heavy' with this block size
};

std::string entryPTX(const std::string &name, int bindings) {
  std::string out = ".visible .entry " + name + "(";
  for (int i = 0; i < 5 * bindings; ++i)
    out += std::string(i ? ", " : "") + ".param .u64 p" + std::to_string(i);
  return out + ")\n{\n  ret;\n}\n";
}

/// decode: copy_words(step, w0 -> arena[256, 16)); add_token(step, arena out)
/// over an n_tokens grid; noop_scaled(step, keys of layer 1) over a
/// 2 * n_outputs grid, freeing arena[512, 768). Output: arena[256, 16), one
/// row of 4 floats (n_outputs rows).
std::vector<uint8_t> buildProgram(const MockProgram &m) {
  namespace fb = llmc::fb;
  flatbuffers::FlatBufferBuilder b;
  auto expr = [&](std::vector<int64_t> code) { return fb::CreateExprDirect(b, &code); };
  auto one = [&] { return expr({0, 1}); };
  using K = fb::BindingKind;
  fb::Binding step(K::Step, 0, 0, 16), weight(K::Weight, 0, 0, 16),
      out(K::Arena, 0, 256, 16), keys(K::KVKeys, 1, 0, 0);

  std::vector<flatbuffers::Offset<fb::Dispatch>> dispatches;
  {
    std::vector<flatbuffers::Offset<fb::Expr>> grid = {one(), one(), one()};
    std::vector<fb::Binding> bindings = {step, weight, out};
    dispatches.push_back(fb::CreateDispatchDirect(b, 0, &grid, &bindings));
  }
  {
    std::vector<flatbuffers::Offset<fb::Expr>> grid = {expr({1, 0}), one(), one()};
    std::vector<fb::Binding> bindings = {step, out};
    dispatches.push_back(fb::CreateDispatchDirect(b, 1, &grid, &bindings));
  }
  {
    std::vector<flatbuffers::Offset<fb::Expr>> grid = {expr({1, 1, 0, 2, 3}), one(),
                                                       one()};
    std::vector<fb::Binding> bindings = {step, keys};
    std::vector<fb::Range> frees = {fb::Range(512, 256)};
    dispatches.push_back(fb::CreateDispatchDirect(b, 2, &grid, &bindings, &frees));
  }
  std::vector<flatbuffers::Offset<fb::StepField>> fields = {
      fb::CreateStepFieldDirect(b, "tokens", 12, 16, 0)};
  std::vector<int64_t> symbolMax = {4, 4, 4};
  std::vector<flatbuffers::Offset<fb::Entry>> entries = {fb::CreateEntryDirect(
      b, "decode", &symbolMax, 1024, 2048, 64, &fields, &dispatches, &out, 1, 4)};

  std::vector<flatbuffers::Offset<fb::Kernel>> kernels;
  std::vector<uint32_t> wg0 = {128}, wg1 = {64, 2}, wg2 = {32, 1, 1},
                        wgHeavy = {m.heavyThreads};
  kernels.push_back(fb::CreateKernelDirect(b, "copy_words", &wg0, 3, 0));
  kernels.push_back(fb::CreateKernelDirect(b, "add_token", &wg1, 2, 0));
  kernels.push_back(fb::CreateKernelDirect(b, "noop_scaled", &wg2, 2, 1));
  if (m.heavyThreads)
    kernels.push_back(fb::CreateKernelDirect(b, "heavy", &wgHeavy, 1, 1));

  std::string header = "//\n.version 8.0\n.target " + m.profile +
                       "\n.address_size 64\n\n";
  std::string ptx0 = header + entryPTX("copy_words", 3) + entryPTX("add_token", 2);
  std::string ptx1 = header + (m.missingEntry ? "" : entryPTX("noop_scaled", 2)) +
                     entryPTX("heavy", 1) + (m.invalidPTX ? "// mock_invalid\n" : "");
  std::vector<uint8_t> data0(ptx0.begin(), ptx0.end()), data1(ptx1.begin(), ptx1.end());
  data0.push_back(0); // one stored with its NUL, one without
  std::vector<flatbuffers::Offset<fb::Binary>> binaries = {
      fb::CreateBinaryDirect(b, "kernels0", &data0),
      fb::CreateBinaryDirect(b, "kernels1", &data1)};

  std::vector<flatbuffers::Offset<flatbuffers::String>> sources = {b.CreateString("w0")};
  std::vector<int64_t> shape = {4};
  std::vector<flatbuffers::Offset<fb::Weight>> weights = {
      fb::CreateWeightDirect(b, "w0", &sources, 0, 0, &shape, 16)};
  auto kv = fb::CreateKVCache(b, 2, 1, 4, 4, 4, 16);
  auto target = fb::CreateTargetDirect(b, m.kind.c_str(), "", nullptr, 256, 32,
                                       m.profile.c_str());
  std::vector<flatbuffers::Offset<flatbuffers::String>> symbols = {
      b.CreateString("n_tokens"), b.CreateString("n_outputs"), b.CreateString("n_seqs")};
  auto program = fb::CreateProgramDirect(b, kProgramSchemaVersion, "test", target,
                                         &symbols, &entries, &kernels, &weights, kv,
                                         &binaries, "{}");
  fb::FinishProgramBuffer(b, program);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

/// weights.bin with one F32 tensor "w0" = {1, 2, 3, 4} (WeightsFile.h's layout).
void writeWeights(const std::string &path) {
  std::vector<uint8_t> file(128 + 64, 0);
  float w[4] = {1, 2, 3, 4};
  std::memcpy(&file[128], w, sizeof w);
  struct { uint64_t offset, bytes; uint8_t format, layout; uint16_t r0;
           uint32_t nameOffset, nameLength, r1; } entry = {128, 16, 0, 0, 0, 0, 2, 0};
  static_assert(sizeof(entry) == 32, "table entry");
  std::memcpy(&file[64], &entry, 32);
  std::memcpy(&file[96], "w0", 2);
  struct { char magic[8]; uint32_t version, count; uint64_t tableBytes, dataOffset,
           dataBytes, dataChecksum, tableChecksum, reserved; } h = {};
  static_assert(sizeof(h) == 64, "header");
  std::memcpy(h.magic, kWeightsMagic, 8);
  h.version = kWeightsVersion;
  h.count = 1;
  h.tableBytes = 34;
  h.dataOffset = 128;
  h.dataBytes = 64;
  h.dataChecksum = XXH3_64bits(&file[128], 64);
  h.tableChecksum = XXH3_64bits(&file[64], 34);
  std::memcpy(&file[0], &h, 64);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(file.data()),
             static_cast<std::streamsize>(file.size()));
}

class MockCUDA : public ::testing::Test {
protected:
  static const cuda::Driver *driver() {
    static std::unique_ptr<cuda::Driver> d = [] {
      auto opened = cuda::openDriver(LLMC_CUDA_MOCK);
      EXPECT_TRUE(opened.ok()) << opened.message();
      return opened.ok() ? opened.take() : nullptr;
    }();
    return d.get();
  }
  template <typename Fn> static Fn mock(const char *name) {
    void *handle = ::dlopen(LLMC_CUDA_MOCK, RTLD_NOW | RTLD_NOLOAD);
    return handle ? reinterpret_cast<Fn>(::dlsym(handle, name)) : nullptr;
  }
  static std::string log() { return mock<const char *(*)()>("llmc_cuda_mock_log")(); }
  static void clearLog() { mock<void (*)()>("llmc_cuda_mock_clear_log")(); }
  static int live(const char *what) {
    return mock<int (*)(const char *)>("llmc_cuda_mock_live")(what);
  }
  static int count(const std::string &text, const std::string &needle) {
    int n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1))
      ++n;
    return n;
  }

  void SetUp() override {
    ASSERT_NE(driver(), nullptr);
    ::unsetenv("LLMC_CUDA_GRAPHS");
    ::unsetenv("LLMC_MOCK_CUDA_CC");
    ::unsetenv("LLMC_MOCK_CUDA_FREE_MIB");
  }
  void TearDown() override {
    ::unsetenv("LLMC_CUDA_GRAPHS");
    ::unsetenv("LLMC_MOCK_CUDA_CC");
    ::unsetenv("LLMC_MOCK_CUDA_FREE_MIB");
  }

  /// An artifact folder: a copy of the mock library as model.so, the
  /// program next to it, weights.bin.
  Result<std::shared_ptr<Artifact>> makeArtifact(const MockProgram &m) {
    static int serial = 0;
    std::string dir = ::testing::TempDir() + "/llmc-cuda-mock-" +
                      std::to_string(::getpid()) + "-" + std::to_string(serial++);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(LLMC_CUDA_MOCK, dir + "/model.so");
    std::vector<uint8_t> program = buildProgram(m);
    std::ofstream(dir + "/program.bin", std::ios::binary)
        .write(reinterpret_cast<const char *>(program.data()),
               static_cast<std::streamsize>(program.size()));
    writeWeights(dir + "/weights.bin");
    return Artifact::open(dir);
  }

  Result<std::unique_ptr<Device>> loaded(const MockProgram &m,
                                         DeviceOptions options = {}) {
    LLMC_ASSIGN_OR_RETURN(artifact_, makeArtifact(m));
    LLMC_ASSIGN_OR_RETURN(auto device, cuda::createDevice(*driver(), 0));
    if (options.kvBlocks == 0)
      options.kvBlocks = 8;
    LLMC_RETURN_IF_ERROR(device->load(artifact_, options));
    return device;
  }

  const fb::Entry &decode() const { return *artifact_->entry("decode"); }

  /// Runs decode with `symbols` and token `token` in the step buffer.
  std::vector<float> step(Device &device, std::vector<int64_t> symbols, int32_t token) {
    std::vector<uint8_t> stepBytes(64, 0);
    for (size_t i = 0; i < symbols.size(); ++i) {
      int32_t v = static_cast<int32_t>(symbols[i]);
      std::memcpy(&stepBytes[4 * i], &v, 4);
    }
    std::memcpy(&stepBytes[12], &token, 4);
    Status ran = device.run(decode(), symbols.data(), stepBytes.data(), stepBytes.size());
    EXPECT_TRUE(ran.isOk()) << ran.message();
    std::vector<float> out(4, -1.0f);
    Status read = device.readOutput(decode(), 1, out.data());
    EXPECT_TRUE(read.isOk()) << read.message();
    return out;
  }

  std::shared_ptr<Artifact> artifact_;
};

TEST_F(MockCUDA, LoadsRunsAndReadsBack) {
  int before = live("allocations");
  {
    auto device = loaded({});
    ASSERT_TRUE(device.ok()) << device.message();
    EXPECT_EQ((*device)->description(),
              "cuda:0 (Mock GPU, sm_80, 80.0 GiB, CUDA graphs on)");
    // arena, step, 2 layers x (keys, values), one weight
    EXPECT_EQ(live("allocations") - before, 7);
    EXPECT_EQ(live("modules"), 2);
    clearLog();
    std::vector<float> out = step(**device, {2, 1, 1}, 10);
    EXPECT_EQ(out, (std::vector<float>{11, 12, 13, 14}));
    // Launches in order, blocks = workgroup_size, grids evaluated, memref
    // sizes = bytes / 4 (KV: the whole layer, 8 blocks x 64 bytes).
    EXPECT_EQ(log(), "launch copy_words 1x1x1 128x1x1 sizes=4,4,4\n"
                     "launch add_token 2x1x1 64x2x1 sizes=4,4\n"
                     "launch noop_scaled 2x1x1 32x1x1 sizes=4,128\n");
  }
  // Everything is freed with the device.
  EXPECT_EQ(live("allocations"), before);
  EXPECT_EQ(live("modules"), 0);
  EXPECT_EQ(live("graphs"), 0);
}

TEST_F(MockCUDA, GraphsCaptureOnceAndReplayWithNewStepContents) {
  auto device = loaded({});
  ASSERT_TRUE(device.ok()) << device.message();
  clearLog();
  // 1st run direct, 2nd captured and launched, 3rd replayed; each sees its
  // own step buffer (the token) although the graph is recorded once.
  EXPECT_EQ(step(**device, {1, 1, 1}, 10), (std::vector<float>{11, 12, 13, 14}));
  EXPECT_EQ(step(**device, {1, 1, 1}, 20), (std::vector<float>{21, 22, 23, 24}));
  EXPECT_EQ(step(**device, {1, 1, 1}, 30), (std::vector<float>{31, 32, 33, 34}));
  std::string l = log();
  EXPECT_EQ(count(l, "begin capture"), 1) << l;
  EXPECT_EQ(count(l, "captured "), 3) << l;
  EXPECT_EQ(count(l, "graph launch"), 2) << l;
  EXPECT_EQ(count(l, "launch copy_words"), 3) << l;
  EXPECT_EQ(live("graphs"), 1);
  // Other symbols: another graph, after its own direct run.
  clearLog();
  step(**device, {3, 1, 1}, 0);
  step(**device, {3, 1, 1}, 0);
  EXPECT_EQ(count(log(), "begin capture"), 1);
  EXPECT_EQ(count(log(), "launch add_token 3x1x1"), 2);
  EXPECT_EQ(live("graphs"), 2);
}

TEST_F(MockCUDA, GraphsOffByEnvironment) {
  ::setenv("LLMC_CUDA_GRAPHS", "0", 1);
  auto device = loaded({});
  ASSERT_TRUE(device.ok()) << device.message();
  EXPECT_EQ((*device)->description(),
            "cuda:0 (Mock GPU, sm_80, 80.0 GiB, CUDA graphs off)");
  clearLog();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(step(**device, {1, 1, 1}, i)[0], 1.0f + i);
  EXPECT_EQ(count(log(), "capture"), 0);
  EXPECT_EQ(count(log(), "graph launch"), 0);
  EXPECT_EQ(count(log(), "launch copy_words"), 4);
  EXPECT_EQ(live("graphs"), 0);
}

TEST_F(MockCUDA, ZeroGridIsSkipped) {
  auto device = loaded({});
  ASSERT_TRUE(device.ok()) << device.message();
  clearLog();
  std::vector<int64_t> symbols = {2, 0, 1};
  std::vector<uint8_t> stepBytes(64, 0);
  ASSERT_TRUE((*device)->run(decode(), symbols.data(), stepBytes.data(), 64).isOk());
  ASSERT_TRUE((*device)->readOutput(decode(), 0, nullptr).isOk());
  EXPECT_EQ(log(), "launch copy_words 1x1x1 128x1x1 sizes=4,4,4\n"
                   "launch add_token 2x1x1 64x2x1 sizes=4,4\n");
}

TEST_F(MockCUDA, PoisonFillsFreedRanges) {
  ::setenv("LLMC_CUDA_GRAPHS", "0", 1);
  DeviceOptions options;
  options.poisonOnFree = true;
  auto device = loaded({}, options);
  ASSERT_TRUE(device.ok()) << device.message();
  clearLog();
  step(**device, {1, 1, 1}, 0);
  EXPECT_EQ(log(), "launch copy_words 1x1x1 128x1x1 sizes=4,4,4\n"
                   "launch add_token 1x1x1 64x2x1 sizes=4,4\n"
                   "launch noop_scaled 2x1x1 32x1x1 sizes=4,128\n"
                   "memset 256 255\n");
  // ...and the memset is part of a captured graph too.
  ::unsetenv("LLMC_CUDA_GRAPHS");
  auto graphed = loaded({}, options);
  ASSERT_TRUE(graphed.ok());
  for (int i = 0; i < 3; ++i)
    step(**graphed, {1, 1, 1}, 0);
  EXPECT_EQ(count(log(), "memset 256 255"), 4); // 1 + direct, capture, replay
}

TEST_F(MockCUDA, RefusesALowerComputeCapability) {
  MockProgram m;
  m.profile = "sm_90";
  auto device = loaded(m);
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.message().find(": compiled for sm_90, which needs compute capability "
                                  "9.0 or newer; cuda:0 (Mock GPU) has compute "
                                  "capability 8.0"),
            std::string::npos)
      << device.message();
  ::setenv("LLMC_MOCK_CUDA_CC", "90", 1);
  EXPECT_TRUE(loaded(m).ok());
  ::setenv("LLMC_MOCK_CUDA_CC", "100", 1);
  m.profile = "sm_90a";
  auto arch = loaded(m);
  ASSERT_FALSE(arch.ok());
  EXPECT_NE(arch.message().find("needs exactly compute capability 9.0"), std::string::npos);
}

TEST_F(MockCUDA, RefusesOtherTargets) {
  MockProgram m;
  m.kind = "vulkan";
  m.profile = "vulkan1.1";
  auto device = loaded(m);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(), "the artifact was compiled for vulkan, not for CUDA");
  m.kind = "cuda";
  m.profile = "vulkan1.1";
  device = loaded(m);
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.message().find("the CUDA profile 'vulkan1.1' names no sm_ architecture"),
            std::string::npos);
}

TEST_F(MockCUDA, JITErrorsCarryTheLog) {
  MockProgram m;
  m.invalidPTX = true;
  auto device = loaded(m);
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.message().find(
                "cuda: the driver cannot load PTX module 'kernels1' ("),
            std::string::npos)
      << device.message();
  EXPECT_NE(device.message().find(
                "CUDA_ERROR_INVALID_PTX: a PTX JIT compilation failed: ptxas "
                "application ptx input, line 3; error   : mock syntax error | "
                "ptxas fatal   : Ptx assembly aborted due to errors"),
            std::string::npos)
      << device.message();
  EXPECT_EQ(device.message().find('\n'), std::string::npos);
  EXPECT_EQ(live("modules"), 0); // the first module was unloaded again

  MockProgram missing;
  missing.missingEntry = true;
  device = loaded(missing);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(), "cuda: kernel 'noop_scaled' is not in its PTX module: "
                              "CUDA_ERROR_NOT_FOUND: named symbol not found");
}

TEST_F(MockCUDA, RefusesBlocksTheKernelCannotRun) {
  MockProgram m;
  m.heavyThreads = 512; // the mock allows 256 threads for 'heavy'
  auto device = loaded(m);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(), "cuda: kernel 'heavy' needs 512 threads per block; "
                              "Mock GPU allows 256 for it (255 registers per thread)");
  m.heavyThreads = 256;
  EXPECT_TRUE(loaded(m).ok());
}

TEST_F(MockCUDA, RefusesWhatDoesNotFitInMemory) {
  ::setenv("LLMC_MOCK_CUDA_FREE_MIB", "1", 1);
  DeviceOptions options;
  options.kvBlocks = 4096; // 2 layers x 2 x 4096 x 64 bytes = 1 MiB, + the rest
  auto device = loaded({}, options);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(),
            "cuda:0 (Mock GPU): the model needs 0.0 GiB of device memory (weights "
            "0.0 GiB, KV cache 0.0 GiB, arena 0.0 GiB), 0.0 GiB are free");
}

TEST_F(MockCUDA, DeviceIndexAndListing) {
  auto device = cuda::createDevice(*driver(), 1);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(), "cuda:1: no such device (1 CUDA device)");
}

TEST_F(MockCUDA, StepAndOutputBoundsAreChecked) {
  auto device = loaded({});
  ASSERT_TRUE(device.ok()) << device.message();
  std::vector<int64_t> symbols = {1, 1, 1};
  std::vector<uint8_t> big(4096, 0);
  EXPECT_EQ((*device)->run(decode(), symbols.data(), big.data(), big.size()).message(),
            "step buffer larger than the device's");
  std::vector<float> out(8);
  EXPECT_EQ((*device)->readOutput(decode(), 2, out.data()).message(),
            "more output rows requested than the entry has");
}

} // namespace
} // namespace llmc
