// The Vulkan device on a real driver (lavapipe in CI): the loader and its
// errors, device listing, buffers, a compute dispatch of a test shader
// (Inputs/vulkan-kernels.spvasm) with descriptor offsets, a recorded command
// buffer replayed with new buffer contents, and the whole Device (load, run,
// replay, staging, poison, profile and limit checks) on small artifacts
// written here without the compiler.
//
// Without a Vulkan device these tests skip, except under CI=true, where a
// missing lavapipe fails them (a missing tool must fail CI).
#include "runtime/artifact/Artifact.h"
#include "runtime/device/Device.h"
#include "runtime/device/vulkan/VulkanContext.h"
#include "runtime/device/vulkan/VulkanDevice.h"
#include "runtime/device/vulkan/VulkanProfile.h"

#include "test/unit/SkipOrFail.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace llmc;
using vulkan::Buffer;
using vulkan::BufferRange;
using vulkan::MemoryKind;

namespace {


std::vector<uint32_t> readSpirv() {
  std::vector<uint32_t> words;
  std::ifstream in(LLMC_TEST_VULKAN_SPV, std::ios::binary);
  if (!in)
    return words;
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  words.resize(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), words.size() * 4);
  return words;
}

std::string makeTempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/llmc-vk-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  const char *dir = ::mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

class VulkanTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto instance = vulkan::Instance::shared();
    std::string why;
    if (!instance.ok())
      why = instance.message();
    else if ((*instance)->devices().empty())
      why = "the Vulkan loader found no device";
    else {
      for (const vulkan::PhysicalDevice &d : (*instance)->devices())
        if (d.unusable.empty()) {
          index_ = d.index;
          break;
        }
      if (index_ < 0)
        why = "no Vulkan device llmc can use";
    }
    if (!why.empty())
      LLMC_SKIP_OR_FAIL("a Vulkan device (lavapipe): " + why);
    instance_ = *instance;
  }

  Result<std::unique_ptr<vulkan::Context>> context(bool forceStaging = false) {
    vulkan::ContextOptions options;
    options.forceStaging = forceStaging;
    return vulkan::Context::create(instance_, index_, options);
  }

  std::shared_ptr<vulkan::Instance> instance_;
  int index_ = -1;
};

} // namespace

//===----------------------------------------------------------------------===//
// Profiles (no device needed)
//===----------------------------------------------------------------------===//

TEST(VulkanProfile, ParsesAndFormatsCanonically) {
  auto p = parseVulkanProfile("vulkan1.1,subgroup=8,storage16,int8,f16");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_EQ(p->major, 1u);
  EXPECT_EQ(p->minor, 1u);
  EXPECT_EQ(p->subgroupSize, 8u);
  EXPECT_EQ(p->features, (std::vector<std::string>{"f16", "int8", "storage16"}));
  EXPECT_EQ(formatVulkanProfile(*p), "vulkan1.1,subgroup=8,f16,int8,storage16");

  auto q = parseVulkanProfile(
      " vulkan1.3 , subgroup-arithmetic,subgroup-shuffle,max-binding=134217728,"
      "shared=32768,workgroup=256,f16,f16");
  ASSERT_TRUE(q.ok()) << q.message();
  EXPECT_EQ(q->maxBinding, 134217728u);
  EXPECT_EQ(q->sharedMemory, 32768u);
  EXPECT_EQ(q->workgroupInvocations, 256u);
  EXPECT_EQ(formatVulkanProfile(*q),
            "vulkan1.3,f16,subgroup-arithmetic,subgroup-shuffle,"
            "max-binding=134217728,shared=32768,workgroup=256");
  auto again = parseVulkanProfile(formatVulkanProfile(*q));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(formatVulkanProfile(*again), formatVulkanProfile(*q));

  auto empty = parseVulkanProfile("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(formatVulkanProfile(*empty), "vulkan1.1");
}

TEST(VulkanProfile, RefusesUnknownOrMalformedItems) {
  for (const char *bad : {"vulkan1.1,bf16", "vulkan2.0", "vulkanX", "subgroup=12",
                          "subgroup=", "max-binding=-1", "vulkan1.1,vulkan1.2",
                          "speed=3"}) {
    auto p = parseVulkanProfile(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.message().find('\n'), std::string::npos);
      EXPECT_NE(p.message().find("Vulkan profile"), std::string::npos) << p.message();
    }
  }
}

TEST(VulkanProfile, NamesWhatADeviceLacks) {
  VulkanCaps caps;
  caps.name = "test";
  caps.apiMajor = 1;
  caps.apiMinor = 2;
  caps.subgroupSize = caps.minSubgroupSize = caps.maxSubgroupSize = 8;
  caps.features = {"f16", "int8", "storage16", "subgroup-arithmetic"};
  caps.maxStorageBufferRange = 1 << 27;
  caps.maxComputeSharedMemorySize = 32768;
  caps.maxComputeWorkGroupInvocations = 1024;
  auto ok = parseVulkanProfile("vulkan1.1,subgroup=8,f16,int8,storage16");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(missingFromVulkanProfile(*ok, caps), "");
  EXPECT_EQ(requiredSubgroupSize(*ok, caps), 0u);

  auto bad = parseVulkanProfile(
      "vulkan1.3,subgroup=32,f16,f64,storage8,max-binding=268435456");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(missingFromVulkanProfile(*bad, caps),
            "vulkan1.3 (the device has 1.2), subgroup=32 (the device's is 8), "
            "f64, storage8, max-binding=268435456 (the device has 134217728)");

  // A device that can select its subgroup size in compute pipelines.
  caps.subgroupSize = 32;
  caps.minSubgroupSize = 8;
  caps.maxSubgroupSize = 64;
  caps.subgroupSizeControl = true;
  auto s16 = parseVulkanProfile("vulkan1.1,subgroup=16");
  ASSERT_TRUE(s16.ok());
  EXPECT_EQ(missingFromVulkanProfile(*s16, caps), "");
  EXPECT_EQ(requiredSubgroupSize(*s16, caps), 16u);
  // Its default size is not fixed, so even 32 is requested explicitly.
  auto s32 = parseVulkanProfile("subgroup=32");
  EXPECT_EQ(requiredSubgroupSize(*s32, caps), 32u);
  caps.subgroupSizeControl = false;
  EXPECT_NE(missingFromVulkanProfile(*s32, caps).find("not selectable"),
            std::string::npos);

  // The device's own profile is always met.
  caps.subgroupSizeControl = true;
  EXPECT_EQ(missingFromVulkanProfile(vulkanProfileOf(caps), caps), "");
}

//===----------------------------------------------------------------------===//
// The loader (no device needed)
//===----------------------------------------------------------------------===//

TEST(VulkanLoader, MissingLoaderIsOneClearLine) {
  auto instance = vulkan::Instance::create("/nonexistent/libvulkan.so.1");
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.message().find("Vulkan is not available"), std::string::npos)
      << instance.message();
  EXPECT_NE(instance.message().find("/nonexistent/libvulkan.so.1"),
            std::string::npos);
  EXPECT_EQ(instance.message().find('\n'), std::string::npos);

  // The same through LLMC_VULKAN_LOADER, as apps and the CLI see it.
  ::setenv("LLMC_VULKAN_LOADER", "/nonexistent/libvulkan.so.1", 1);
  auto device = createDevice("vulkan");
  std::vector<std::string> notes;
  std::vector<DeviceInfo> devices = listDevices(&notes);
  auto profile = describeVulkanProfile(0);
  ::unsetenv("LLMC_VULKAN_LOADER");
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.message().find("Vulkan is not available"), std::string::npos);
  ASSERT_GE(devices.size(), 1u);
  EXPECT_EQ(devices[0].spec, "cpu");
  for (const DeviceInfo &d : devices)
    EXPECT_NE(d.kind, "vulkan") << d.spec;
  size_t vulkanNotes = 0;
  for (const std::string &note : notes)
    if (note.rfind("vulkan: ", 0) == 0) {
      ++vulkanNotes;
      EXPECT_EQ(note.rfind("vulkan: Vulkan is not available", 0), 0u) << note;
    }
  EXPECT_EQ(vulkanNotes, 1u);
  EXPECT_FALSE(profile.ok());
}

TEST(VulkanLoader, ALibraryThatIsNotALoader) {
  auto instance = vulkan::Instance::create("libm.so.6");
  ASSERT_FALSE(instance.ok());
  EXPECT_NE(instance.message().find("is not a Vulkan loader"), std::string::npos)
      << instance.message();
}

TEST(VulkanLoader, DeviceSpecs) {
  for (const char *spec : {"vulkan:", "vulkan:x", "vulkan:-1", "gpu", "vulkan0"}) {
    auto device = createDevice(spec);
    ASSERT_FALSE(device.ok()) << spec;
    EXPECT_NE(device.message().find("unknown device"), std::string::npos)
        << device.message();
  }
  auto cpu = createDevice("cpu");
  ASSERT_TRUE(cpu.ok());
}

TEST(VulkanLoader, SpirvEntryPoints) {
  std::vector<uint32_t> words = readSpirv();
  if (words.empty())
    LLMC_SKIP_OR_FAIL("the test shader was not assembled (spirv-as missing)");
  auto eps = vulkan::spirvEntryPoints(words.data(), words.size());
  ASSERT_TRUE(eps.ok()) << eps.message();
  ASSERT_EQ(eps->size(), 2u);
  EXPECT_EQ((*eps)[0].name, "affine");
  EXPECT_EQ((*eps)[1].name, "accumulate");
  for (const auto &e : *eps) {
    EXPECT_EQ(e.executionModel, 5u);
    EXPECT_EQ(e.localSize[0], 8u);
    EXPECT_EQ(e.localSize[1], 1u);
  }
  std::vector<uint32_t> garbage = {1, 2, 3, 4, 5, 6};
  EXPECT_FALSE(vulkan::spirvEntryPoints(garbage.data(), garbage.size()).ok());
  std::vector<uint32_t> truncated(words.begin(), words.begin() + 7);
  truncated[5] = (100u << 16) | 15u; // an instruction longer than the module
  auto bad = vulkan::spirvEntryPoints(truncated.data(), truncated.size());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("malformed"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Instance and context
//===----------------------------------------------------------------------===//

TEST_F(VulkanTest, ListsDevices) {
  std::vector<std::string> notes;
  std::vector<DeviceInfo> devices = listDevices(&notes);
  ASSERT_GE(devices.size(), 2u);
  EXPECT_EQ(devices[0].spec, "cpu");
  EXPECT_GT(devices[0].threads, 0);
  for (const std::string &note : notes)
    EXPECT_NE(note.rfind("vulkan:", 0), 0u) << note;
  const DeviceInfo *found = nullptr;
  for (const DeviceInfo &info : devices)
    if (info.spec == "vulkan:" + std::to_string(index_))
      found = &info;
  ASSERT_NE(found, nullptr);
  const DeviceInfo &d = *found;
  EXPECT_EQ(d.kind, "vulkan");
  EXPECT_FALSE(d.name.empty());
  EXPECT_GT(d.subgroupSize, 0u);
  EXPECT_GT(d.maxStorageBufferRange, 0u);
  auto parsed = parseVulkanProfile(d.profile);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  auto described = describeVulkanProfile(index_);
  ASSERT_TRUE(described.ok()) << described.message();
  EXPECT_EQ(*described, d.profile);
  auto caps = queryVulkanCaps(index_);
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(missingFromVulkanProfile(*parsed, *caps), "");
  if (d.name.find("llvmpipe") != std::string::npos) {
    // lavapipe, as TOOLCHAIN.md describes it.
    EXPECT_EQ(d.subgroupSize, 8u);
    EXPECT_EQ(d.maxStorageBufferRange, 134217728u);
    EXPECT_EQ(d.type, "cpu");
    EXPECT_NE(d.profile.find("subgroup=8"), std::string::npos);
    EXPECT_NE(d.profile.find("f16"), std::string::npos);
    EXPECT_NE(d.profile.find("storage16"), std::string::npos);
    EXPECT_NE(d.profile.find("subgroup-arithmetic"), std::string::npos);
  }
}

TEST_F(VulkanTest, NoSuchDeviceNamesTheDevices) {
  auto ctx = vulkan::Context::create(instance_, 99);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.message().find("no Vulkan device 99 (there are"), std::string::npos)
      << ctx.message();
  auto device = createDevice("vulkan:99");
  ASSERT_FALSE(device.ok());
  EXPECT_NE(device.message().find("no Vulkan device 99"), std::string::npos);
}

TEST_F(VulkanTest, BufferRoundTrips) {
  for (bool staging : {false, true}) {
    SCOPED_TRACE(staging ? "through staging buffers" : "mapped when possible");
    auto ctx = context(staging);
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    vulkan::Context &c = **ctx;
    auto buffer = c.createBuffer(1 << 20, MemoryKind::Device, "a test buffer");
    ASSERT_TRUE(buffer.ok()) << buffer.message();
    if (staging) {
      EXPECT_EQ(buffer->mapped(), nullptr);
    }
    std::vector<uint8_t> data(100003);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<uint8_t>(i * 7 + 1);
    ASSERT_TRUE(c.fill(*buffer, 0, 1 << 20, 0x01020304u).isOk());
    ASSERT_TRUE(c.upload(*buffer, 4099, data.data(), data.size()).isOk());
    std::vector<uint8_t> back(data.size() + 8);
    ASSERT_TRUE(c.download(*buffer, 4095, back.data(), back.size()).isOk());
    // The fill's pattern (little-endian 04 03 02 01) around the upload.
    const uint8_t pattern[4] = {0x04, 0x03, 0x02, 0x01};
    for (size_t at = 4095; at < 4099; ++at)
      EXPECT_EQ(back[at - 4095], pattern[at % 4]) << "byte " << at;
    EXPECT_EQ(std::memcmp(back.data() + 4, data.data(), data.size()), 0);
    for (size_t at = 4099 + data.size(); at < 4095 + back.size(); ++at)
      EXPECT_EQ(back[at - 4095], pattern[at % 4]) << "byte " << at;

    // Out of range and unaligned requests are errors, not crashes.
    EXPECT_FALSE(c.upload(*buffer, (1 << 20) - 2, data.data(), 4).isOk());
    EXPECT_FALSE(c.download(*buffer, 1 << 21, back.data(), 1).isOk());
    EXPECT_FALSE(c.fill(*buffer, 2, 8, 0).isOk());

    // Batched uploads to several buffers; more than one staging buffer full.
    auto big = c.createBuffer((64u << 20) + 4096, MemoryKind::Device, "big");
    ASSERT_TRUE(big.ok()) << big.message();
    std::vector<uint32_t> words(((64u << 20) + 4096) / 4);
    for (size_t i = 0; i < words.size(); ++i)
      words[i] = static_cast<uint32_t>(i * 2654435761u);
    std::vector<vulkan::Context::Upload> uploads = {
        {&*big, 0, words.data(), words.size() * 4},
        {&*buffer, 0, data.data(), 64},
    };
    ASSERT_TRUE(c.uploadMany(uploads).isOk());
    std::vector<uint32_t> wordsBack(words.size());
    ASSERT_TRUE(c.download(*big, 0, wordsBack.data(), wordsBack.size() * 4).isOk());
    EXPECT_TRUE(wordsBack == words);
    ASSERT_TRUE(c.download(*buffer, 0, back.data(), 64).isOk());
    EXPECT_EQ(std::memcmp(back.data(), data.data(), 64), 0);
  }
}

TEST_F(VulkanTest, AllocationFailureIsAnError) {
  auto ctx = context();
  ASSERT_TRUE(ctx.ok()) << ctx.message();
  // Far beyond any device's allocation limit.
  auto huge = (*ctx)->createBuffer(1ull << 50, MemoryKind::Device, "a huge buffer");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.message().find("cannot allocate a huge buffer"), std::string::npos)
      << huge.message();
}

namespace {
/// Buffers for the `affine` kernel at non-zero descriptor offsets.
struct AffineSetup {
  Buffer header, weights, tokens, out;
  static constexpr VkDeviceSize kWeightsAt = 256, kTokensAt = 512, kOutAt = 768;
};
} // namespace

TEST_F(VulkanTest, ComputeDispatchWithDescriptorOffsets) {
  std::vector<uint32_t> words = readSpirv();
  if (words.empty())
    LLMC_SKIP_OR_FAIL("the test shader was not assembled (spirv-as missing)");
  for (bool staging : {false, true}) {
    SCOPED_TRACE(staging ? "through staging buffers" : "mapped when possible");
    auto ctx = context(staging);
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    vulkan::Context &c = **ctx;
    auto module = c.createShaderModule(words.data(), words.size(), "the test module");
    ASSERT_TRUE(module.ok()) << module.message();
    auto pipeline = c.createPipeline(*module, "affine", 4);
    ASSERT_TRUE(pipeline.ok()) << pipeline.message();

    AffineSetup s;
    auto header = c.createBuffer(16, MemoryKind::Host, "header");
    auto weights = c.createBuffer(1024, MemoryKind::Device, "weights");
    auto tokens = c.createBuffer(1024, MemoryKind::Device, "tokens");
    auto out = c.createBuffer(2048, MemoryKind::Device, "out");
    ASSERT_TRUE(header.ok() && weights.ok() && tokens.ok() && out.ok());
    ASSERT_NE(header->mapped(), nullptr); // the step buffer is always mapped
    uint32_t n = 3;
    std::memcpy(header->mapped(), &n, 4);
    float w[16];
    for (int i = 0; i < 16; ++i)
      w[i] = 0.5f * i - 1.0f;
    uint32_t tok[3] = {2, 7, 11};
    ASSERT_TRUE(c.upload(*weights, AffineSetup::kWeightsAt, w, sizeof(w)).isOk());
    ASSERT_TRUE(c.upload(*tokens, AffineSetup::kTokensAt, tok, sizeof(tok)).isOk());
    ASSERT_TRUE(c.fill(*out, 0, 2048, floatBits(-7.0f)).isOk());

    auto pool = c.createDescriptorPool(1, 4);
    ASSERT_TRUE(pool.ok()) << pool.message();
    auto set = c.createDescriptorSet(
        *pool, *pipeline,
        {BufferRange{header->handle(), 0, 16},
         BufferRange{weights->handle(), AffineSetup::kWeightsAt, sizeof(w)},
         BufferRange{tokens->handle(), AffineSetup::kTokensAt, sizeof(tok)},
         BufferRange{out->handle(), AffineSetup::kOutAt, 48 * 4}});
    ASSERT_TRUE(set.ok()) << set.message();
    VkDescriptorSet vkSet = *set;
    const vulkan::Functions &fn = c.fn();
    ASSERT_TRUE(c.runOnce([&](VkCommandBuffer cmd) {
                   fn.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                        pipeline->handle());
                   fn.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                                              pipeline->layout(), 0, 1, &vkSet,
                                              0, nullptr);
                   fn.vkCmdDispatch(cmd, 48 / 8, 1, 1);
                 }).isOk());
    std::vector<float> result(512);
    ASSERT_TRUE(c.download(*out, 0, result.data(), 2048).isOk());
    for (int i = 0; i < 48; ++i)
      EXPECT_EQ(result[AffineSetup::kOutAt / 4 + i], w[i % 16] * tok[i / 16] + 3.0f)
          << "element " << i;
    // Nothing outside the bound range was written.
    EXPECT_EQ(result[AffineSetup::kOutAt / 4 - 1], -7.0f);
    EXPECT_EQ(result[AffineSetup::kOutAt / 4 + 48], -7.0f);
    EXPECT_EQ(result[0], -7.0f);
  }
}

TEST_F(VulkanTest, MissingEntryPointIsCaughtBeforeTheDriver) {
  std::vector<uint32_t> words = readSpirv();
  if (words.empty())
    LLMC_SKIP_OR_FAIL("the test shader was not assembled (spirv-as missing)");
  auto ctx = context();
  ASSERT_TRUE(ctx.ok()) << ctx.message();
  std::vector<uint32_t> garbage = {0xdeadbeef, 1, 2, 3, 4, 5};
  auto bad = (*ctx)->createShaderModule(garbage.data(), garbage.size(), "garbage");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("not a SPIR-V module"), std::string::npos);
}

TEST_F(VulkanTest, RecordOnceReplayWithNewContents) {
  std::vector<uint32_t> words = readSpirv();
  if (words.empty())
    LLMC_SKIP_OR_FAIL("the test shader was not assembled (spirv-as missing)");
  auto ctx = context();
  ASSERT_TRUE(ctx.ok()) << ctx.message();
  vulkan::Context &c = **ctx;
  auto module = c.createShaderModule(words.data(), words.size(), "the test module");
  ASSERT_TRUE(module.ok());
  auto affine = c.createPipeline(*module, "affine", 4);
  auto accumulate = c.createPipeline(*module, "accumulate", 4);
  ASSERT_TRUE(affine.ok() && accumulate.ok());
  // One "step buffer" (header at 0, tokens at 256) whose contents change;
  // an arena (A at 0, out at 256); a KV buffer that persists across replays.
  auto step = c.createBuffer(512, MemoryKind::Host, "step");
  auto weights = c.createBuffer(64, MemoryKind::Device, "weights");
  auto arena = c.createBuffer(512, MemoryKind::Device, "arena");
  auto kv = c.createBuffer(256, MemoryKind::Device, "kv");
  ASSERT_TRUE(step.ok() && weights.ok() && arena.ok() && kv.ok());
  float w[16];
  for (int i = 0; i < 16; ++i)
    w[i] = static_cast<float>(i);
  ASSERT_TRUE(c.upload(*weights, 0, w, sizeof(w)).isOk());
  ASSERT_TRUE(c.fill(*kv, 0, 256, 0).isOk());
  auto pool = c.createDescriptorPool(2, 8);
  ASSERT_TRUE(pool.ok());
  auto set0 = c.createDescriptorSet(*pool, *affine,
                                    {BufferRange{step->handle(), 0, 16},
                                     BufferRange{weights->handle(), 0, 64},
                                     BufferRange{step->handle(), 256, 16},
                                     BufferRange{arena->handle(), 0, 256}});
  auto set1 = c.createDescriptorSet(*pool, *accumulate,
                                    {BufferRange{step->handle(), 0, 16},
                                     BufferRange{arena->handle(), 0, 256},
                                     BufferRange{kv->handle(), 0, VK_WHOLE_SIZE},
                                     BufferRange{arena->handle(), 256, 256}});
  ASSERT_TRUE(set0.ok() && set1.ok());
  const vulkan::Functions &fn = c.fn();
  auto cmd = c.allocateCommandBuffer();
  ASSERT_TRUE(cmd.ok());
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  ASSERT_EQ(fn.vkBeginCommandBuffer(*cmd, &begin), VK_SUCCESS);
  c.barrier(*cmd);
  VkDescriptorSet s0 = *set0, s1 = *set1;
  fn.vkCmdBindPipeline(*cmd, VK_PIPELINE_BIND_POINT_COMPUTE, affine->handle());
  fn.vkCmdBindDescriptorSets(*cmd, VK_PIPELINE_BIND_POINT_COMPUTE, affine->layout(),
                             0, 1, &s0, 0, nullptr);
  fn.vkCmdDispatch(*cmd, 8, 1, 1); // up to 4 tokens; kernels guard on n
  c.barrier(*cmd);
  fn.vkCmdBindPipeline(*cmd, VK_PIPELINE_BIND_POINT_COMPUTE, accumulate->handle());
  fn.vkCmdBindDescriptorSets(*cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                             accumulate->layout(), 0, 1, &s1, 0, nullptr);
  fn.vkCmdDispatch(*cmd, 8, 1, 1);
  c.barrier(*cmd, /*toHost=*/true);
  ASSERT_EQ(fn.vkEndCommandBuffer(*cmd), VK_SUCCESS);

  std::vector<float> kvExpected(64, 0.0f);
  for (int replay = 0; replay < 4; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    uint32_t n = 1 + replay % 3;
    uint32_t tokens[4] = {uint32_t(replay + 1), uint32_t(2 * replay), 9, 4};
    std::memcpy(step->mapped(), &n, 4);
    std::memcpy(step->mapped() + 256, tokens, sizeof(tokens));
    ASSERT_TRUE(c.submitAndWait(*cmd).isOk());
    std::vector<float> out(64);
    ASSERT_TRUE(c.download(*arena, 256, out.data(), 256).isOk());
    for (uint32_t i = 0; i < 16 * n; ++i) {
      kvExpected[i] += 1.0f;
      float a = w[i % 16] * tokens[i / 16] + float(n);
      EXPECT_EQ(out[i], 2 * a + kvExpected[i]) << "element " << i;
    }
  }
  c.freeCommandBuffer(*cmd);
}

//===----------------------------------------------------------------------===//
// The Device on small artifacts written here
//===----------------------------------------------------------------------===//

namespace {

struct TestProgram {
  std::string kind = "vulkan";
  std::string profile = "vulkan1.1";
  uint32_t subgroupSize = 0;
  std::string secondKernel = "accumulate";
  uint64_t outputOffset = 256;
  uint64_t arenaOffsetOfA = 0;
  bool freeOutput = false; // the last dispatch frees the logits (poison test)
  uint64_t weightBytes = 64;
};

/// Writes weights.bin (one f32 tensor "w") as the packer would.
bool writeWeights(const std::string &path, const std::vector<float> &w,
                  uint64_t bytes) {
  struct TableEntry {
    uint64_t offset, bytes;
    uint8_t format, layout;
    uint16_t reserved0;
    uint32_t nameOffset, nameLength, reserved1;
  };
  struct Header {
    char magic[8];
    uint32_t version, count;
    uint64_t tableBytes, dataOffset, dataBytes, dataChecksum, tableChecksum,
        reserved;
  };
  static_assert(sizeof(TableEntry) == 32 && sizeof(Header) == 64, "layout");
  std::string name = "w";
  uint64_t tableBytes = sizeof(TableEntry) + name.size();
  uint64_t dataOffset = (sizeof(Header) + tableBytes + 63) / 64 * 64;
  uint64_t dataBytes = (bytes + 63) / 64 * 64;
  std::vector<uint8_t> head(dataOffset, 0);
  TableEntry e{};
  e.offset = dataOffset;
  e.bytes = bytes;
  e.nameLength = static_cast<uint32_t>(name.size());
  std::memcpy(head.data() + sizeof(Header), &e, sizeof(e));
  std::memcpy(head.data() + sizeof(Header) + sizeof(e), name.data(), name.size());
  std::vector<uint8_t> data(std::min<uint64_t>(dataBytes, 1 << 20), 0);
  std::memcpy(data.data(), w.data(), std::min<size_t>(w.size() * 4, data.size()));
  Header h{};
  std::memcpy(h.magic, kWeightsMagic, 8);
  h.version = kWeightsVersion;
  h.count = 1;
  h.tableBytes = tableBytes;
  h.dataOffset = dataOffset;
  h.dataBytes = dataBytes;
  h.dataChecksum = dataBytes == data.size() ? XXH3_64bits(data.data(), data.size()) : 0;
  h.tableChecksum = XXH3_64bits(head.data() + sizeof(Header), tableBytes);
  std::memcpy(head.data(), &h, sizeof(h));
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return false;
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size() &&
            std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = std::fclose(f) == 0 && ok;
  // A large weight stays sparse: its bytes past the first MiB are zeros.
  return ok && ::truncate(path.c_str(), static_cast<off_t>(dataOffset + dataBytes)) == 0;
}

std::vector<uint8_t> buildProgram(const TestProgram &t,
                                  const std::vector<uint32_t> &spirv) {
  flatbuffers::FlatBufferBuilder b;
  auto expr = [&](std::vector<int64_t> code) {
    return fb::CreateExpr(b, b.CreateVector(code));
  };
  using Op = ExprOp;
  auto grid = [&] {
    // ceildiv(n_tokens * 16, 8), 1, 1
    std::vector<flatbuffers::Offset<fb::Expr>> g = {
        expr({int64_t(Op::Symbol), 0, int64_t(Op::Constant), 16, int64_t(Op::Mul),
              int64_t(Op::Constant), 8, int64_t(Op::CeilDiv)}),
        expr({int64_t(Op::Constant), 1}), expr({int64_t(Op::Constant), 1})};
    return b.CreateVector(g);
  };
  const uint64_t a = t.arenaOffsetOfA, out = t.outputOffset;
  std::vector<fb::Binding> d0 = {
      fb::Binding(fb::BindingKind::Step, 0, 0, 16),
      fb::Binding(fb::BindingKind::Weight, 0, 0, 64),
      fb::Binding(fb::BindingKind::Step, 0, 256, 16),
      fb::Binding(fb::BindingKind::Arena, 0, a, 256)};
  std::vector<fb::Binding> d1 = {
      fb::Binding(fb::BindingKind::Step, 0, 0, 16),
      fb::Binding(fb::BindingKind::Arena, 0, a, 256),
      fb::Binding(fb::BindingKind::KVValues, 0, 0, 0),
      fb::Binding(fb::BindingKind::Arena, 0, out, 256)};
  std::vector<fb::Range> frees1 = {fb::Range(a, 256)};
  if (t.freeOutput)
    frees1.push_back(fb::Range(out, 256));
  std::vector<flatbuffers::Offset<fb::Dispatch>> dispatches = {
      fb::CreateDispatch(b, 0, grid(), b.CreateVectorOfStructs(d0)),
      fb::CreateDispatch(b, 1, grid(), b.CreateVectorOfStructs(d1),
                         b.CreateVectorOfStructs(frees1))};
  std::vector<flatbuffers::Offset<fb::StepField>> fields = {
      fb::CreateStepField(b, b.CreateString("tokens"), 256, 16, 0)};
  fb::Binding output(fb::BindingKind::Arena, 0, out, 256);
  auto entry = fb::CreateEntry(b, b.CreateString("decode"),
                               b.CreateVector(std::vector<int64_t>{4, 4, 1}), 768,
                               768, 512, b.CreateVector(fields),
                               b.CreateVector(dispatches), &output, 1, 16);
  std::vector<uint32_t> wg = {8, 1, 1};
  std::vector<flatbuffers::Offset<fb::Kernel>> kernels = {
      fb::CreateKernel(b, b.CreateString("affine"), b.CreateVector(wg), 4, 0),
      fb::CreateKernel(b, b.CreateString(t.secondKernel), b.CreateVector(wg), 4, 0)};
  std::vector<flatbuffers::Offset<flatbuffers::String>> sources = {b.CreateString("w")};
  std::vector<int64_t> shape = {int64_t(t.weightBytes / 4)};
  std::vector<flatbuffers::Offset<fb::Weight>> weights = {fb::CreateWeight(
      b, b.CreateString("w"), b.CreateVector(sources), 0, 0, b.CreateVector(shape),
      t.weightBytes)};
  auto kv = fb::CreateKVCache(b, 1, 1, 16, 4, 4, 16);
  auto target = fb::CreateTarget(b, b.CreateString(t.kind), 0, 0, 256,
                                 t.subgroupSize, b.CreateString(t.profile));
  std::vector<uint8_t> spirvBytes(spirv.size() * 4);
  std::memcpy(spirvBytes.data(), spirv.data(), spirvBytes.size());
  std::vector<flatbuffers::Offset<fb::Binary>> binaries = {fb::CreateBinary(
      b, b.CreateString("test-kernels"), b.CreateVector(spirvBytes))};
  std::vector<flatbuffers::Offset<flatbuffers::String>> symbols = {
      b.CreateString("n_tokens"), b.CreateString("n_outputs"),
      b.CreateString("n_seqs")};
  std::vector<flatbuffers::Offset<fb::Entry>> entries = {entry};
  auto program = fb::CreateProgram(
      b, kProgramSchemaVersion, b.CreateString("test"), target,
      b.CreateVector(symbols), b.CreateVector(entries), b.CreateVector(kernels),
      b.CreateVector(weights), kv, b.CreateVector(binaries));
  fb::FinishProgramBuffer(b, program);
  return std::vector<uint8_t>(b.GetBufferPointer(),
                              b.GetBufferPointer() + b.GetSize());
}

bool copyFile(const std::string &from, const std::string &to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  return in && out;
}

class VulkanDeviceTest : public VulkanTest {
protected:
  void SetUp() override {
    VulkanTest::SetUp();
    if (IsSkipped() || HasFatalFailure())
      return;
    spirv_ = readSpirv();
    if (spirv_.empty())
      LLMC_SKIP_OR_FAIL("the test shader was not assembled (spirv-as missing)");
    for (int i = 0; i < 16; ++i)
      w_.push_back(0.25f * i - 1.0f);
  }
  void TearDown() override {
    for (const std::string &dir : dirs_) {
      for (const char *f : {"/model.so", "/program.llmcprog", "/weights.bin"})
        std::remove((dir + f).c_str());
      ::rmdir(dir.c_str());
    }
  }

  /// Writes an artifact folder for `t` and opens it.
  Result<std::shared_ptr<Artifact>> artifact(const TestProgram &t) {
    std::string dir = makeTempDir();
    if (dir.empty())
      return Status::error("cannot make a temporary folder");
    dirs_.push_back(dir);
    std::vector<uint8_t> program = buildProgram(t, spirv_);
    std::ofstream(dir + "/program.llmcprog", std::ios::binary)
        .write(reinterpret_cast<const char *>(program.data()),
               static_cast<std::streamsize>(program.size()));
    if (!copyFile(LLMC_TEST_MODEL_STUB, dir + "/model.so") ||
        !writeWeights(dir + "/weights.bin", w_, t.weightBytes))
      return Status::error("cannot write the test artifact in " + dir);
    ArtifactOptions options;
    options.verifyWeightsChecksum = t.weightBytes <= (1 << 20);
    return Artifact::open(dir, options);
  }

  Result<std::unique_ptr<VulkanDevice>> device(bool staging = false) {
    VulkanDeviceOptions options;
    options.forceStaging = staging;
    options.commandCacheSize = 2;
    return VulkanDevice::create(index_, options);
  }

  /// Runs decode for `tokens`; the expected logits follow the test kernels.
  void step(VulkanDevice &dev, const Artifact &art, std::vector<uint32_t> tokens,
            std::vector<float> &kv, bool poisoned = false) {
    const fb::Entry *entry = art.entry("decode");
    ASSERT_NE(entry, nullptr);
    int64_t n = static_cast<int64_t>(tokens.size());
    int64_t symbols[3] = {n, n, 1};
    std::vector<uint8_t> stepBytes(512, 0);
    for (int i = 0; i < 3; ++i) {
      int32_t v = static_cast<int32_t>(symbols[i]);
      std::memcpy(stepBytes.data() + 4 * i, &v, 4);
    }
    std::memcpy(stepBytes.data() + 256, tokens.data(), tokens.size() * 4);
    Status s = dev.run(*entry, symbols, stepBytes.data(), stepBytes.size());
    ASSERT_TRUE(s.isOk()) << s.message();
    std::vector<float> logits(16 * n);
    s = dev.readOutput(*entry, n, logits.data());
    ASSERT_TRUE(s.isOk()) << s.message();
    for (int64_t i = 0; i < 16 * n; ++i) {
      kv[i] += 1.0f;
      if (poisoned) {
        uint32_t bits;
        std::memcpy(&bits, &logits[i], 4);
        EXPECT_EQ(bits, 0xFFFFFFFFu) << "element " << i;
        continue;
      }
      float a = w_[i % 16] * tokens[i / 16] + float(n);
      EXPECT_EQ(logits[i], 2 * a + kv[i]) << "element " << i;
    }
    // More rows than the entry has is an error, not an overrun.
    std::vector<float> big(16 * 8);
    EXPECT_FALSE(dev.readOutput(*entry, 8, big.data()).isOk());
  }

  std::vector<uint32_t> spirv_;
  std::vector<float> w_;
  std::vector<std::string> dirs_;
};

} // namespace

TEST_F(VulkanDeviceTest, RunsRecordsOnceAndReplays) {
  for (bool staging : {false, true}) {
    SCOPED_TRACE(staging ? "through staging buffers" : "mapped when possible");
    auto art = artifact(TestProgram());
    ASSERT_TRUE(art.ok()) << art.message();
    auto dev = device(staging);
    ASSERT_TRUE(dev.ok()) << dev.message();
    DeviceOptions options;
    options.kvBlocks = 4;
    Status s = (*dev)->load(*art, options);
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_NE((*dev)->description().find("vulkan:"), std::string::npos);
    std::vector<float> kv(64, 0.0f);
    step(**dev, **art, {3, 5}, kv);
    step(**dev, **art, {1, 2}, kv);     // same symbols: replayed
    EXPECT_EQ((*dev)->stats().recordings, 1u);
    EXPECT_EQ((*dev)->stats().replays, 1u);
    step(**dev, **art, {7}, kv);        // new symbols: recorded
    step(**dev, **art, {4, 4, 4}, kv);  // a third: the LRU (size 2) drops {2}
    step(**dev, **art, {9, 1}, kv);     // recorded again
    step(**dev, **art, {8, 2, 6}, kv);  // still cached
    EXPECT_EQ((*dev)->stats().recordings, 4u);
    EXPECT_EQ((*dev)->stats().replays, 2u);
    EXPECT_EQ((*dev)->stats().weightBuffers, 1u);
  }
}

TEST_F(VulkanDeviceTest, PoisonFillsFreedRanges) {
  TestProgram t;
  t.freeOutput = true;
  auto art = artifact(t);
  ASSERT_TRUE(art.ok()) << art.message();
  for (bool poison : {false, true}) {
    auto dev = device();
    ASSERT_TRUE(dev.ok()) << dev.message();
    DeviceOptions options;
    options.kvBlocks = 1;
    options.poisonOnFree = poison;
    Status s = (*dev)->load(*art, options);
    ASSERT_TRUE(s.isOk()) << s.message();
    std::vector<float> kv(64, 0.0f);
    step(**dev, **art, {2, 3}, kv, /*poisoned=*/poison);
  }
}

TEST_F(VulkanDeviceTest, RefusesAMismatchedProfileInOneLine) {
  TestProgram t;
  t.profile = "vulkan1.1,max-binding=4611686018427387904";
  auto art = artifact(t);
  ASSERT_TRUE(art.ok()) << art.message();
  auto dev = device();
  ASSERT_TRUE(dev.ok()) << dev.message();
  Status s = (*dev)->load(*art, DeviceOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("compiled for Vulkan profile"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("lacks max-binding=4611686018427387904"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos);

  // A subgroup size the artifact assumes and the device cannot give.
  TestProgram t2;
  t2.subgroupSize = 1024;
  auto art2 = artifact(t2);
  ASSERT_TRUE(art2.ok());
  s = (*dev)->load(*art2, DeviceOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("subgroup=1024"), std::string::npos) << s.message();

  TestProgram t3;
  t3.profile = "vulkan1.1,bf16-dot";
  auto art3 = artifact(t3);
  ASSERT_TRUE(art3.ok());
  s = (*dev)->load(*art3, DeviceOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("unknown item 'bf16-dot'"), std::string::npos)
      << s.message();

  TestProgram t4;
  t4.kind = "cuda";
  auto art4 = artifact(t4);
  ASSERT_TRUE(art4.ok()) << art4.message();
  s = (*dev)->load(*art4, DeviceOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("compiled for cuda, not for Vulkan"), std::string::npos)
      << s.message();
}

TEST_F(VulkanDeviceTest, RefusesBadKernelsAndBindings) {
  auto dev = device();
  ASSERT_TRUE(dev.ok()) << dev.message();
  DeviceOptions options;
  options.kvBlocks = 1;

  TestProgram missing;
  missing.secondKernel = "no_such_kernel";
  auto art = artifact(missing);
  ASSERT_TRUE(art.ok());
  Status s = (*dev)->load(*art, options);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("kernel 'no_such_kernel': its SPIR-V module has no "
                             "GLCompute entry point"),
            std::string::npos)
      << s.message();
  // After a failed load, running is an error, not a crash.
  int64_t symbols[3] = {1, 1, 1};
  std::vector<uint8_t> stepBytes(512, 0);
  s = (*dev)->run(*(*art)->entry("decode"), symbols, stepBytes.data(), 512);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("no artifact loaded"), std::string::npos) << s.message();

  uint64_t alignment = (*dev)->context().physical().minStorageBufferOffsetAlignment;
  if (alignment > 4) {
    TestProgram unaligned;
    unaligned.arenaOffsetOfA = 4;
    unaligned.outputOffset = 512;
    auto art2 = artifact(unaligned);
    ASSERT_TRUE(art2.ok()) << art2.message();
    s = (*dev)->load(*art2, options);
    ASSERT_FALSE(s.isOk());
    EXPECT_NE(s.message().find("minStorageBufferOffsetAlignment"), std::string::npos)
        << s.message();
  }

  // A KV cache layer larger than one binding can hold.
  auto art3 = artifact(TestProgram());
  ASSERT_TRUE(art3.ok());
  DeviceOptions hugeKV;
  uint64_t range = (*dev)->context().caps().maxStorageBufferRange;
  hugeKV.kvBlocks = static_cast<int64_t>(range / 256 + 1);
  s = (*dev)->load(*art3, hugeKV);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("KV cache layer"), std::string::npos) << s.message();
}

TEST_F(VulkanDeviceTest, RefusesAWeightLargerThanABinding) {
  auto dev = device();
  ASSERT_TRUE(dev.ok()) << dev.message();
  uint64_t range = (*dev)->context().caps().maxStorageBufferRange;
  if (range > (1ull << 30))
    GTEST_SKIP() << "the device binds " << range << " bytes; the file would be too large";
  TestProgram t;
  t.weightBytes = range + 4096; // a sparse weights.bin
  auto art = artifact(t);
  ASSERT_TRUE(art.ok()) << art.message();
  Status s = (*dev)->load(*art, DeviceOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("weight 'w' is " + std::to_string(range + 4096) +
                             " bytes, more than"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("maxStorageBufferRange " + std::to_string(range)),
            std::string::npos)
      << s.message();
}

TEST_F(VulkanDeviceTest, CreateDeviceBySpec) {
  auto dev = createDevice("vulkan:" + std::to_string(index_));
  ASSERT_TRUE(dev.ok()) << dev.message();
  EXPECT_EQ((*dev)->description().rfind("vulkan:" + std::to_string(index_), 0), 0u);
  if (index_ == 0) {
    auto first = createDevice("vulkan");
    ASSERT_TRUE(first.ok()) << first.message();
  }
}
