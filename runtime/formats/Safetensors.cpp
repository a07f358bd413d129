//===- Safetensors.cpp - reading safetensors files ---------------------------===//

#include "runtime/formats/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace llmc {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100ull << 20; // as the format's own limit

/// Element size of a safetensors dtype, 0 if unknown.
uint64_t dtypeSize(const std::string &dtype) {
  static const std::pair<const char *, uint64_t> sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
      {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto &[name, size] : sizes)
    if (dtype == name)
      return size;
  return 0;
}

std::optional<TensorType> dtypeToTensorType(const std::string &dtype) {
  if (dtype == "F32") return TensorType::F32;
  if (dtype == "F16") return TensorType::F16;
  if (dtype == "BF16") return TensorType::BF16;
  return std::nullopt;
}
} // namespace

int64_t SafetensorsTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Result<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(const std::string &path) {
  LLMC_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
  return parse(std::move(mapped));
}

Result<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  const std::string &path = file->path();
  auto fail = [&](const std::string &message) {
    return Status::error(path + ": " + message);
  };
  if (file->size() < 8)
    return fail("file of " + std::to_string(file->size()) +
                " bytes is too short for a safetensors header");
  uint64_t headerBytes = 0;
  std::memcpy(&headerBytes, file->data(), 8);
  if (headerBytes > file->size() - 8)
    return fail("header length " + std::to_string(headerBytes) +
                " runs past the end of the file (" +
                std::to_string(file->size()) + " bytes)");
  if (headerBytes > kMaxHeaderBytes)
    return fail("header length " + std::to_string(headerBytes) +
                " exceeds the 100 MB limit");
  const char *begin = reinterpret_cast<const char *>(file->data() + 8);
  nlohmann::json header =
      nlohmann::json::parse(begin, begin + headerBytes, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded())
    return fail("header is not valid JSON");
  if (!header.is_object())
    return fail("header must be a JSON object");

  std::unique_ptr<SafetensorsFile> st(new SafetensorsFile());
  st->file_ = file;
  uint64_t dataStart = 8 + headerBytes;
  uint64_t dataSize = file->size() - dataStart;

  for (auto &[name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        return fail("__metadata__ must be an object");
      for (auto &[key, value] : entry.items())
        if (value.is_string())
          st->metadata_[key] = value.get<std::string>();
      continue;
    }
    auto tensorFail = [&](const std::string &message) {
      return fail("tensor '" + name + "': " + message);
    };
    if (!entry.is_object())
      return tensorFail("entry must be an object");
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string())
      return tensorFail("missing string 'dtype'");
    if (shape == entry.end() || !shape->is_array())
      return tensorFail("missing array 'shape'");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
      return tensorFail("'data_offsets' must be two non-negative integers");

    SafetensorsTensor t;
    t.name = name;
    t.dtype = dtype->get<std::string>();
    uint64_t elementSize = dtypeSize(t.dtype);
    if (!elementSize)
      return tensorFail("unknown dtype '" + t.dtype + "'");
    t.type = dtypeToTensorType(t.dtype);
    if (shape->size() > 8)
      return tensorFail("has " + std::to_string(shape->size()) +
                        " dimensions");
    uint64_t elements = 1;
    for (const auto &dim : *shape) {
      if (!dim.is_number_unsigned())
        return tensorFail("shape entries must be non-negative integers");
      uint64_t d = dim.get<uint64_t>();
      if (d > (1ull << 40) || (d && elements > (1ull << 42) / d))
        return tensorFail("has an absurd shape");
      elements *= d;
      t.shape.push_back(static_cast<int64_t>(d));
    }
    uint64_t first = (*offsets)[0].get<uint64_t>();
    uint64_t last = (*offsets)[1].get<uint64_t>();
    if (first > last || last > dataSize)
      return tensorFail("data_offsets [" + std::to_string(first) + ", " +
                        std::to_string(last) + "] lie outside the " +
                        std::to_string(dataSize) + " data bytes");
    if (last - first != elements * elementSize)
      return tensorFail("holds " + std::to_string(last - first) +
                        " bytes but its shape and dtype need " +
                        std::to_string(elements * elementSize));
    t.offset = dataStart + first;
    t.bytes = last - first;
    st->index_[name] = st->tensors_.size();
    st->tensors_.push_back(std::move(t));
  }

  std::vector<const SafetensorsTensor *> sorted;
  for (const auto &t : st->tensors_)
    if (t.bytes)
      sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](auto *a, auto *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1]->offset + sorted[i - 1]->bytes > sorted[i]->offset)
      return fail("tensors '" + sorted[i - 1]->name + "' and '" +
                  sorted[i]->name + "' overlap");
  return st;
}

const SafetensorsTensor *SafetensorsFile::find(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

} // namespace llmc
