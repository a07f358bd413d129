//===- DevicesCommand.cpp - llmc devices ---------------------------------------===//
//
//   llmc devices [--json]
//
// Lists the devices `--device` can name: the CPU (threads, memory, ISA
// features) and every Vulkan device (type, API version, subgroup size, the
// largest binding, memory, and the profile `llmc compile --target vulkan`
// would record for it), or why there is none. Runtime only.
//
//===----------------------------------------------------------------------===//

#include "tools/llmc/Commands.h"

#include "runtime/device/Device.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace llmc::cli {

namespace {
std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f GiB", bytes / double(1ull << 30));
  return text;
}

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.0f MiB", bytes / double(1ull << 20));
  return text;
}

std::string join(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &s : items)
    out += (out.empty() ? "" : " ") + s;
  return out;
}

void listAll(bool json) {
  std::vector<std::string> notes;
  std::vector<DeviceInfo> devices = listDevices(&notes);
  if (json) {
    nlohmann::json out = nlohmann::json::object();
    out["devices"] = nlohmann::json::array();
    for (const DeviceInfo &d : devices) {
      nlohmann::json j = {{"spec", d.spec},         {"kind", d.kind},
                          {"name", d.name},         {"type", d.type},
                          {"memory_bytes", d.memoryBytes},
                          {"features", d.features}};
      if (d.kind == "cpu")
        j["threads"] = d.threads;
      else {
        j["api_version"] = d.apiVersion;
        j["driver"] = d.driver;
        j["subgroup_size"] = d.subgroupSize;
        j["max_storage_buffer_range"] = d.maxStorageBufferRange;
        j["profile"] = d.profile;
        if (!d.unusable.empty())
          j["unusable"] = d.unusable;
      }
      out["devices"].push_back(j);
    }
    out["notes"] = notes;
    std::cout << out.dump(2) << "\n";
    return;
  }
  bool anyVulkan = false;
  for (const DeviceInfo &d : devices) {
    if (d.kind == "cpu") {
      std::printf("%-10s %s: %d threads, %s, %s\n", d.spec.c_str(),
                  d.name.c_str(), d.threads, gib(d.memoryBytes).c_str(),
                  d.features.empty() ? "no listed ISA features"
                                     : join(d.features).c_str());
      continue;
    }
    bool vulkan = d.kind == "vulkan";
    anyVulkan |= vulkan;
    std::string api = vulkan ? "Vulkan " + d.apiVersion
                             : d.kind + (d.apiVersion.empty() ? "" : " " + d.apiVersion);
    std::printf("%-10s %s: %s, %s", d.spec.c_str(), d.name.c_str(),
                d.type.c_str(), api.c_str());
    if (!d.unusable.empty()) {
      std::printf(", cannot run llmc: %s\n", d.unusable.c_str());
      continue;
    }
    if (vulkan)
      std::printf(", subgroup %u, max binding %s", d.subgroupSize,
                  mib(d.maxStorageBufferRange).c_str());
    std::printf(", %s\n", gib(d.memoryBytes).c_str());
    if (!d.driver.empty())
      std::printf("%-10s driver  %s\n", "", d.driver.c_str());
    if (!d.profile.empty())
      std::printf("%-10s profile %s\n", "", d.profile.c_str());
  }
  if (!anyVulkan)
    std::printf("%-10s none\n", "vulkan");
  for (const std::string &note : notes)
    std::printf("note: %s\n", note.c_str());
}
} // namespace

void addDevicesCommand(CLI::App &app) {
  auto json = std::make_shared<bool>(false);
  CLI::App *cmd = app.add_subcommand(
      "devices", "List the devices --device can name (cpu, vulkan:N)");
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([json] { listAll(*json); });
}

} // namespace llmc::cli
