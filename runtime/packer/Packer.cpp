//===- Packer.cpp - writing weights.bin from the model file ------------------------===//

#include "runtime/packer/Packer.h"

#include "runtime/packer/Quantize.h"
#include "runtime/packer/WeightsFile.h"

#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace llmc {

namespace {
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct TableEntry {
  uint64_t offset;
  uint64_t bytes;
  uint8_t format;
  uint8_t layout;
  uint16_t reserved0;
  uint32_t nameOffset;
  uint32_t nameLength;
  uint32_t reserved1;
};
static_assert(sizeof(TableEntry) == 32, "weights.bin table entries are 32 bytes");

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t count;
  uint64_t tableBytes;
  uint64_t dataOffset;
  uint64_t dataBytes;
  uint64_t dataChecksum;
  uint64_t tableChecksum;
  uint64_t reserved;
};
static_assert(sizeof(Header) == 64, "weights.bin header is 64 bytes");

/// One source row: which tensor and which of its rows.
struct RowSource {
  const SourceTensor *tensor;
  int64_t row;
};

/// A request resolved against the model file.
struct Job {
  const PackRequest *request;
  std::vector<const SourceTensor *> sources;
  int64_t rows = 1, cols = 0;
  uint64_t offset = 0;
};

Status resolve(const ModelSource &source, const PackRequest &request, Job &job) {
  job.request = &request;
  if (request.shape.empty() || request.shape.size() > 2)
    return Status::error("weight '" + request.name + "' has rank " +
                         std::to_string(request.shape.size()));
  job.cols = request.shape.back();
  job.rows = request.shape.size() == 2 ? request.shape[0] : 1;
  int64_t rows = 0;
  for (const std::string &name : request.sources) {
    const SourceTensor *t = source.findTensor(name);
    if (!t)
      return Status::error(source.path() + ": missing tensor '" + name +
                           "' needed by weight '" + request.name + "'");
    if (!t->type)
      return Status::error(t->file + ": tensor '" + name + "' has type " +
                           t->typeName + ", which llmc cannot read");
    int64_t tRows = t->shape.size() == 2 ? t->shape[0] : 1;
    if (t->shape.back() != job.cols)
      return Status::error(t->file + ": tensor '" + name + "' has rows of " +
                           std::to_string(t->shape.back()) + " elements, "
                           "weight '" + request.name + "' needs " +
                           std::to_string(job.cols));
    rows += tRows;
    job.sources.push_back(t);
  }
  if (rows != job.rows)
    return Status::error("weight '" + request.name + "' needs " +
                         std::to_string(job.rows) + " rows, its sources have " +
                         std::to_string(rows));
  int64_t group = layoutRowGroup(request.layout);
  bool split = request.layout == static_cast<uint8_t>(WeightLayoutKind::Split);
  if (request.layout != 0 &&
      ((!group && !split) ||
       (request.format != TensorType::Q8_0 &&
        request.format != TensorType::Q4_0) ||
       (group && job.rows % group)))
    return Status::error("weight '" + request.name + "': layout " +
                         std::to_string(request.layout) + " of " +
                         tensorTypeName(request.format) + " [" +
                         std::to_string(job.rows) + " rows] is not supported "
                         "by this packer");
  int64_t bytes = packedBytes(request.format, request.layout, request.shape);
  if (bytes < 0 || static_cast<uint64_t>(bytes) != request.bytes)
    return Status::error("weight '" + request.name + "': the program expects " +
                         std::to_string(request.bytes) + " bytes, the packer "
                         "computes " + std::to_string(bytes));
  return Status::ok();
}

RowSource rowSource(const Job &job, int64_t row) {
  for (const SourceTensor *t : job.sources) {
    int64_t tRows = t->shape.size() == 2 ? t->shape[0] : 1;
    if (row < tRows)
      return {t, row};
    row -= tRows;
  }
  return {job.sources.back(), 0};
}

/// Converts rows [begin, end) of a job into `out` (plain rows of the
/// target format, `rowBytes` apart).
void convertPlainRows(const Job &job, int64_t begin, int64_t end, uint8_t *out,
                      std::vector<float> &scratch) {
  TensorType to = job.request->format;
  int64_t rowBytes = tensorTypeBytes(to, job.cols);
  scratch.resize(job.cols);
  for (int64_t r = begin; r < end; ++r) {
    RowSource src = rowSource(job, r);
    TensorType from = *src.tensor->type;
    int64_t srcRowBytes = tensorTypeBytes(from, job.cols);
    const uint8_t *in = src.tensor->data + src.row * srcRowBytes;
    uint8_t *dst = out + (r - begin) * rowBytes;
    if (from == to) {
      std::memcpy(dst, in, rowBytes);
      continue;
    }
    dequantizeRow(from, in, scratch.data(), job.cols);
    if (isQuantized(from))
      requantizeRow(to, scratch.data(), dst, job.cols);
    else
      quantizeRow(to, scratch.data(), dst, job.cols);
  }
}

/// Converts rows [begin, end) of a job into the job's bytes at `out`, in its
/// layout (`begin` and `end` are multiples of the row group).
void convertRows(const Job &job, int64_t begin, int64_t end, uint8_t *out,
                 std::vector<float> &scratch, std::vector<uint8_t> &plain) {
  int64_t rowBytes = tensorTypeBytes(job.request->format, job.cols);
  if (job.request->layout == static_cast<uint8_t>(WeightLayoutKind::Split)) {
    plain.resize((end - begin) * rowBytes);
    convertPlainRows(job, begin, end, plain.data(), scratch);
    splitBlocks(job.request->format, job.rows * job.cols / 32,
                begin * job.cols / 32, (end - begin) * job.cols / 32,
                plain.data(), out);
    return;
  }
  int64_t group = layoutRowGroup(job.request->layout);
  if (!group) {
    convertPlainRows(job, begin, end, out + begin * rowBytes, scratch);
    return;
  }
  plain.resize(group * rowBytes);
  for (int64_t r = begin; r < end; r += group) {
    convertPlainRows(job, r, r + group, plain.data(), scratch);
    interleaveRowGroup(job.request->format, group, job.cols, plain.data(),
                       out + r * rowBytes);
  }
}
} // namespace

int64_t layoutRowGroup(uint8_t layout) {
  switch (static_cast<WeightLayoutKind>(layout)) {
  case WeightLayoutKind::Rows16: return 16;
  case WeightLayoutKind::Rows8: return 8;
  default: return 0;
  }
}

void interleaveRowGroup(TensorType format, int64_t group, int64_t cols,
                        const uint8_t *plain, uint8_t *out) {
  bool q8 = format == TensorType::Q8_0;
  // VNNI multiplies unsigned by signed bytes: rows16 Q8_0 quants are stored
  // offset by 128; rows8 (AVX2) keeps them signed.
  bool offset = q8 && group == 16;
  int64_t blockBytes = q8 ? 34 : 18;
  int64_t quantBytes = q8 ? 32 : 16;
  int64_t blocks = cols / 32;
  int64_t rowBytes = blocks * blockBytes;
  uint8_t *quants = out;
  uint8_t *scales = out + blocks * quantBytes * group;
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t step = 0; step < quantBytes / 4; ++step)
      for (int64_t row = 0; row < group; ++row) {
        const uint8_t *q = plain + row * rowBytes + b * blockBytes + 2 + 4 * step;
        for (int t = 0; t < 4; ++t)
          *quants++ = offset ? static_cast<uint8_t>(q[t] ^ 0x80) : q[t];
      }
    for (int64_t row = 0; row < group; ++row) {
      std::memcpy(scales, plain + row * rowBytes + b * blockBytes, 2);
      scales += 2;
    }
  }
}

void splitBlocks(TensorType format, int64_t totalBlocks, int64_t firstBlock,
                 int64_t count, const uint8_t *plain, uint8_t *out) {
  int64_t blockBytes = format == TensorType::Q8_0 ? 34 : 18;
  int64_t quantBytes = blockBytes - 2;
  uint8_t *quants = out + firstBlock * quantBytes;
  uint8_t *scales = out + totalBlocks * quantBytes + firstBlock * 2;
  for (int64_t b = 0; b < count; ++b) {
    const uint8_t *block = plain + b * blockBytes;
    std::memcpy(scales + 2 * b, block, 2);
    std::memcpy(quants + b * quantBytes, block + 2, quantBytes);
  }
}

int64_t packedBytes(TensorType format, uint8_t layout,
                    const std::vector<int64_t> &shape) {
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 1)
      return -1;
    elements *= d;
  }
  if (layout == static_cast<uint8_t>(WeightLayoutKind::Split)) {
    if (format != TensorType::Q8_0 && format != TensorType::Q4_0)
      return -1;
    int64_t blocks = elements / 32;
    int64_t quantBytes = format == TensorType::Q8_0 ? 32 : 16;
    return blocks * quantBytes + (blocks * 2 + 15) / 16 * 16;
  }
  return tensorTypeBytes(format, elements); // the other layouts keep the bytes
}

Status packWeights(const ModelSource &source,
                   const std::vector<PackRequest> &requests,
                   const std::string &path, int threads, PackStats *stats) {
  auto start = std::chrono::steady_clock::now();
  std::vector<Job> jobs(requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    LLMC_RETURN_IF_ERROR(resolve(source, requests[i], jobs[i]));

  // Layout of the file: header, table, names, aligned data.
  std::string names;
  std::vector<TableEntry> table(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    table[i] = {};
    table[i].nameOffset = static_cast<uint32_t>(names.size());
    table[i].nameLength = static_cast<uint32_t>(requests[i].name.size());
    table[i].format = static_cast<uint8_t>(requests[i].format);
    table[i].layout = requests[i].layout;
    table[i].bytes = requests[i].bytes;
    names += requests[i].name;
  }
  uint64_t tableBytes = table.size() * sizeof(TableEntry) + names.size();
  uint64_t dataOffset = alignUp(sizeof(Header) + tableBytes, kWeightsAlignment);
  uint64_t cursor = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].offset = dataOffset + cursor;
    table[i].offset = jobs[i].offset;
    cursor = alignUp(cursor + requests[i].bytes, kWeightsAlignment);
  }
  uint64_t dataBytes = cursor;
  uint64_t fileBytes = dataOffset + dataBytes;

  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::error(tmp + ": cannot create: " + std::strerror(errno));
  if (::ftruncate(fd, static_cast<off_t>(fileBytes)) != 0) {
    ::close(fd);
    return Status::error(tmp + ": cannot size to " + std::to_string(fileBytes) +
                         " bytes: " + std::strerror(errno));
  }
  void *mapped = ::mmap(nullptr, fileBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                        fd, 0);
  if (mapped == MAP_FAILED) {
    ::close(fd);
    return Status::error(tmp + ": cannot map: " + std::strerror(errno));
  }
  auto *base = static_cast<uint8_t *>(mapped);

  // Work items: chunks of rows, so one large tensor also uses every thread.
  struct Item { size_t job; int64_t begin, end; };
  std::vector<Item> items;
  for (size_t j = 0; j < jobs.size(); ++j) {
    int64_t rowBytes = tensorTypeBytes(requests[j].format, jobs[j].cols);
    int64_t chunk = std::max<int64_t>(1, (4 << 20) / std::max<int64_t>(rowBytes, 1));
    if (int64_t group = layoutRowGroup(requests[j].layout))
      chunk = (chunk + group - 1) / group * group;
    for (int64_t r = 0; r < jobs[j].rows; r += chunk)
      items.push_back({j, r, std::min(jobs[j].rows, r + chunk)});
  }
  int workers = threads > 0 ? threads
                            : static_cast<int>(std::thread::hardware_concurrency());
  workers = std::max(1, std::min<int>(workers, static_cast<int>(items.size())));
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::vector<float> scratch;
    std::vector<uint8_t> plain;
    for (size_t i; (i = next.fetch_add(1)) < items.size();) {
      const Item &item = items[i];
      convertRows(jobs[item.job], item.begin, item.end,
                  base + jobs[item.job].offset, scratch, plain);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();

  std::memcpy(base + sizeof(Header), table.data(), table.size() * sizeof(TableEntry));
  std::memcpy(base + sizeof(Header) + table.size() * sizeof(TableEntry),
              names.data(), names.size());
  Header header = {};
  std::memcpy(header.magic, kWeightsMagic, 8);
  header.version = kWeightsVersion;
  header.count = static_cast<uint32_t>(table.size());
  header.tableBytes = tableBytes;
  header.dataOffset = dataOffset;
  header.dataBytes = dataBytes;
  header.dataChecksum = XXH3_64bits(base + dataOffset, dataBytes);
  header.tableChecksum = XXH3_64bits(base + sizeof(Header), tableBytes);
  std::memcpy(base, &header, sizeof(Header));

  int syncError = ::msync(mapped, fileBytes, MS_SYNC);
  ::munmap(mapped, fileBytes);
  ::close(fd);
  if (syncError != 0)
    return Status::error(tmp + ": cannot write: " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::error(path + ": cannot rename: " + std::strerror(errno));
  if (stats) {
    stats->bytesWritten = fileBytes;
    stats->threads = workers;
    stats->seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Reading weights.bin
//===----------------------------------------------------------------------===//

Result<std::unique_ptr<WeightsFile>> WeightsFile::open(const std::string &path,
                                                       bool verifyChecksum) {
  LLMC_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  auto fail = [&](const std::string &message) {
    return Status::error(path + ": " + message);
  };
  if (file->size() < sizeof(Header))
    return fail("too short for a weights header");
  Header header;
  std::memcpy(&header, file->data(), sizeof(Header));
  if (std::memcmp(header.magic, kWeightsMagic, 8) != 0)
    return fail("not an llmc weights file (bad magic)");
  if (header.version != kWeightsVersion)
    return fail("weights format version " + std::to_string(header.version) +
                ", this runtime reads version " +
                std::to_string(kWeightsVersion));
  if (!file->contains(sizeof(Header), header.tableBytes) ||
      header.count > header.tableBytes / sizeof(TableEntry))
    return fail("the tensor table does not fit in the file");
  if (!file->contains(header.dataOffset, header.dataBytes) ||
      header.dataOffset < sizeof(Header) + header.tableBytes)
    return fail("the data section lies outside the file");
  const uint8_t *tableStart = file->data() + sizeof(Header);
  if (XXH3_64bits(tableStart, header.tableBytes) != header.tableChecksum)
    return fail("the tensor table checksum does not match");
  uint64_t namesBytes = header.tableBytes - header.count * sizeof(TableEntry);
  const char *names =
      reinterpret_cast<const char *>(tableStart + header.count * sizeof(TableEntry));
  std::unique_ptr<WeightsFile> weights(new WeightsFile());
  for (uint32_t i = 0; i < header.count; ++i) {
    TableEntry e;
    std::memcpy(&e, tableStart + i * sizeof(TableEntry), sizeof(TableEntry));
    if (e.nameOffset > namesBytes || e.nameLength > namesBytes - e.nameOffset)
      return fail("tensor " + std::to_string(i) + " has a name outside the table");
    if (e.format >= kNumTensorTypes)
      return fail("tensor " + std::to_string(i) + " has unknown format " +
                  std::to_string(e.format));
    if (e.offset < header.dataOffset || e.offset % kWeightsAlignment ||
        !file->contains(e.offset, e.bytes) ||
        e.offset + e.bytes > header.dataOffset + header.dataBytes)
      return fail("tensor " + std::to_string(i) + " lies outside the data");
    WeightsEntry entry;
    entry.name.assign(names + e.nameOffset, e.nameLength);
    entry.offset = e.offset;
    entry.bytes = e.bytes;
    entry.format = static_cast<TensorType>(e.format);
    entry.layout = e.layout;
    weights->entries_.push_back(std::move(entry));
  }
  if (verifyChecksum &&
      XXH3_64bits(file->data() + header.dataOffset, header.dataBytes) !=
          header.dataChecksum)
    return fail("the data checksum does not match: the file is corrupt or "
                "truncated; pack it again (llmc pack)");
  weights->dataBytes_ = header.dataBytes;
  weights->file_ = std::move(file);
  return weights;
}

const WeightsEntry *WeightsFile::find(const std::string &name) const {
  for (const WeightsEntry &e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

} // namespace llmc
