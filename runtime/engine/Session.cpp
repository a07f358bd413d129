//===- Session.cpp - sequences, the KV cache, prefill and decode ------------------===//

#include "runtime/engine/Session.h"

#include <algorithm>
#include <cstring>

namespace llmc {

namespace {
int64_t symbolMax(const fb::Entry &entry, int symbol) {
  return symbol < 0 ? 0 : entry.symbol_max()->Get(symbol);
}

const fb::StepField *findField(const fb::Entry &entry, const char *name) {
  for (const fb::StepField *f : *entry.step_fields())
    if (f->name()->str() == name)
      return f;
  return nullptr;
}
} // namespace

Result<std::unique_ptr<Session>>
Session::create(std::shared_ptr<const Artifact> artifact,
                const SessionOptions &options) {
  const fb::Program &p = artifact->program();
  const fb::KVCache &kv = *p.kv();
  int64_t context = options.contextLength > 0
                        ? std::min<int64_t>(options.contextLength,
                                            kv.context_length())
                        : static_cast<int64_t>(kv.context_length());
  if (context <= 0)
    return Status::error("the artifact has no context length");
  const fb::Entry *decode = artifact->entry("decode");
  const fb::Entry *prefill = artifact->entry("prefill");
  if (!decode || !prefill)
    return Status::error(artifact->dir() + ": the program lacks @prefill or "
                                           "@decode");
  int seqSymbol = artifact->symbolIndex("n_seqs");
  int64_t batch = std::max<int64_t>(1, symbolMax(*decode, seqSymbol));
  int64_t blockSize = kv.block_size();
  uint64_t bytesPerBlock = 2ull * kv.layers() * blockSize * kv.kv_heads() *
                           kv.head_dim() * kv.element_bytes();
  int64_t blocksPerSeq = (context + blockSize - 1) / blockSize;
  int64_t blocks = options.kvBudgetBytes
                       ? static_cast<int64_t>(options.kvBudgetBytes / bytesPerBlock)
                       : blocksPerSeq * batch;
  if (blocks < 1)
    return Status::error("a KV budget of " +
                         std::to_string(options.kvBudgetBytes) +
                         " bytes holds no block of " +
                         std::to_string(bytesPerBlock) + " bytes");
  blocks = std::min<int64_t>(blocks, 1 << 24);

  std::unique_ptr<Session> session(new Session(artifact, blocks));
  LLMC_ASSIGN_OR_RETURN(session->device_, createDevice(options.device));
  DeviceOptions deviceOptions;
  deviceOptions.threads = options.threads;
  deviceOptions.poisonOnFree = options.poisonOnFree;
  deviceOptions.kvBlocks = blocks;
  LLMC_RETURN_IF_ERROR(session->device_->load(artifact, deviceOptions));
  session->vocab_ = artifact->vocabSize();
  session->context_ = context;
  session->blockSize_ = blockSize;
  session->prefill_ = prefill;
  session->decode_ = decode;
  session->symTokens_ = artifact->symbolIndex("n_tokens");
  session->symOutputs_ = artifact->symbolIndex("n_outputs");
  session->symSeqs_ = seqSymbol;
  if (session->symTokens_ < 0 || session->symOutputs_ < 0 || seqSymbol < 0)
    return Status::error("the program lacks the symbols n_tokens, n_outputs, "
                         "n_seqs");
  return session;
}

int64_t Session::maxDecodeBatch() const {
  return std::min(symbolMax(*decode_, symTokens_), symbolMax(*decode_, symSeqs_));
}

Result<int> Session::addSequence() {
  int id = nextId_++;
  sequences_[id] = SequenceBlocks();
  return id;
}

SequenceBlocks *Session::find(int seq) {
  auto it = sequences_.find(seq);
  return it == sequences_.end() ? nullptr : &it->second;
}

Status Session::removeSequence(int seq) {
  SequenceBlocks *s = find(seq);
  if (!s)
    return Status::error("no sequence " + std::to_string(seq));
  s->release(allocator_);
  sequences_.erase(seq);
  return Status::ok();
}

Status Session::resetSequence(int seq) {
  SequenceBlocks *s = find(seq);
  if (!s)
    return Status::error("no sequence " + std::to_string(seq));
  s->release(allocator_);
  return Status::ok();
}

Status Session::truncateSequence(int seq, int64_t length) {
  SequenceBlocks *s = find(seq);
  if (!s)
    return Status::error("no sequence " + std::to_string(seq));
  if (length < 0 || length > s->length)
    return Status::error("cannot truncate sequence " + std::to_string(seq) +
                         " of " + std::to_string(s->length) + " tokens to " +
                         std::to_string(length));
  s->truncate(allocator_, length, blockSize_);
  return Status::ok();
}

int64_t Session::length(int seq) const {
  auto it = sequences_.find(seq);
  return it == sequences_.end() ? -1 : it->second.length;
}

Status Session::runStep(const fb::Entry &entry,
                        const std::vector<int> &seqOfToken,
                        const std::vector<int> &seqs,
                        const std::vector<int32_t> &tokens,
                        const std::vector<int64_t> &positions,
                        const std::vector<int32_t> &outRows, float *logits) {
  size_t n = tokens.size();
  step_.assign(entry.step_bytes(), 0);
  std::vector<int64_t> symbols(artifact_->program().symbols()->size(), 0);
  symbols[symTokens_] = static_cast<int64_t>(n);
  symbols[symOutputs_] = static_cast<int64_t>(outRows.size());
  symbols[symSeqs_] = static_cast<int64_t>(seqs.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    int32_t v = static_cast<int32_t>(symbols[i]);
    std::memcpy(step_.data() + 4 * i, &v, 4);
  }
  auto write = [&](const char *name, const std::vector<int32_t> &values,
                   size_t rowElements) -> Status {
    const fb::StepField *field = findField(entry, name);
    if (!field)
      return Status::ok(); // the program does not read it
    size_t bytes = values.size() * 4;
    if (bytes > field->bytes() ||
        (rowElements && static_cast<int64_t>(rowElements) != field->row_elements()))
      return Status::error(std::string("step field ") + name +
                           " overflows the compiled maximum");
    std::memcpy(step_.data() + field->offset(), values.data(), bytes);
    return Status::ok();
  };
  std::vector<int32_t> pos(n), seqIds(n), slots(n);
  for (size_t i = 0; i < n; ++i) {
    const SequenceBlocks &s = sequences_.at(seqs[seqOfToken[i]]);
    pos[i] = static_cast<int32_t>(positions[i]);
    seqIds[i] = seqOfToken[i];
    slots[i] = s.slot(positions[i], blockSize_);
  }
  const fb::StepField *tablesField = findField(entry, "block_tables");
  size_t rowElements = tablesField ? tablesField->row_elements() : 0;
  std::vector<int32_t> tables(seqs.size() * rowElements, 0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const SequenceBlocks &s = sequences_.at(seqs[i]);
    if (s.blocks.size() > rowElements)
      return Status::error("a sequence holds more blocks than a block table row");
    std::copy(s.blocks.begin(), s.blocks.end(), tables.begin() + i * rowElements);
  }
  LLMC_RETURN_IF_ERROR(write("tokens", tokens, 0));
  LLMC_RETURN_IF_ERROR(write("positions", pos, 0));
  LLMC_RETURN_IF_ERROR(write("seq_ids", seqIds, 0));
  LLMC_RETURN_IF_ERROR(write("slots", slots, 0));
  LLMC_RETURN_IF_ERROR(write("out_rows", outRows, 0));
  if (tablesField)
    LLMC_RETURN_IF_ERROR(write("block_tables", tables, rowElements));
  LLMC_RETURN_IF_ERROR(
      device_->run(entry, symbols.data(), step_.data(), step_.size()));
  if (!outRows.empty() && logits)
    LLMC_RETURN_IF_ERROR(device_->readOutput(
        entry, static_cast<int64_t>(outRows.size()), logits));
  return Status::ok();
}

Status Session::prefill(int seq, const std::vector<int32_t> &tokens,
                        std::vector<float> *logits, bool allPositions) {
  SequenceBlocks *s = find(seq);
  if (!s)
    return Status::error("no sequence " + std::to_string(seq));
  if (tokens.empty())
    return Status::error("prefill needs at least one token");
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab_)
      return Status::error("token id " + std::to_string(t) +
                           " is outside the vocabulary [0, " +
                           std::to_string(vocab_) + ")");
  int64_t total = s->length + static_cast<int64_t>(tokens.size());
  if (total > context_)
    return Status::error("the sequence would hold " + std::to_string(total) +
                         " tokens, more than the context of " +
                         std::to_string(context_));
  LLMC_RETURN_IF_ERROR(s->reserve(allocator_, total, blockSize_));
  if (logits)
    logits->assign((allPositions ? tokens.size() : 1) * vocab_, 0.0f);

  int64_t chunkMax = std::min(symbolMax(*prefill_, symTokens_),
                              symbolMax(*prefill_, symOutputs_));
  for (size_t begin = 0; begin < tokens.size();) {
    size_t n = std::min<size_t>(chunkMax, tokens.size() - begin);
    std::vector<int32_t> chunk(tokens.begin() + begin, tokens.begin() + begin + n);
    std::vector<int64_t> positions(n);
    for (size_t i = 0; i < n; ++i)
      positions[i] = s->length + static_cast<int64_t>(i);
    bool last = begin + n == tokens.size();
    std::vector<int32_t> outRows;
    float *dst = nullptr;
    if (logits && allPositions) {
      for (size_t i = 0; i < n; ++i)
        outRows.push_back(static_cast<int32_t>(i));
      dst = logits->data() + begin * vocab_;
    } else if (logits && last) {
      outRows.push_back(static_cast<int32_t>(n - 1));
      dst = logits->data();
    }
    LLMC_RETURN_IF_ERROR(runStep(*prefill_, std::vector<int>(n, 0), {seq},
                                 chunk, positions, outRows, dst));
    s->length += static_cast<int64_t>(n);
    begin += n;
  }
  return Status::ok();
}

Status Session::decode(const std::vector<int> &seqs,
                       const std::vector<int32_t> &tokens,
                       std::vector<float> *logits) {
  if (seqs.empty() || seqs.size() != tokens.size())
    return Status::error("decode needs one token per sequence");
  if (static_cast<int64_t>(seqs.size()) > maxDecodeBatch())
    return Status::error("decode of " + std::to_string(seqs.size()) +
                         " sequences exceeds the compiled batch of " +
                         std::to_string(maxDecodeBatch()));
  std::vector<int64_t> positions;
  std::vector<int> seqOfToken;
  std::vector<int32_t> outRows;
  for (size_t i = 0; i < seqs.size(); ++i) {
    SequenceBlocks *s = find(seqs[i]);
    if (!s)
      return Status::error("no sequence " + std::to_string(seqs[i]));
    if (std::count(seqs.begin(), seqs.end(), seqs[i]) != 1)
      return Status::error("a sequence appears twice in one decode step");
    if (tokens[i] < 0 || tokens[i] >= vocab_)
      return Status::error("token id " + std::to_string(tokens[i]) +
                           " is outside the vocabulary");
    if (s->length + 1 > context_)
      return Status::error("sequence " + std::to_string(seqs[i]) +
                           " is at the context limit of " +
                           std::to_string(context_));
    LLMC_RETURN_IF_ERROR(s->reserve(allocator_, s->length + 1, blockSize_));
    positions.push_back(s->length);
    seqOfToken.push_back(static_cast<int>(i));
    outRows.push_back(static_cast<int32_t>(i));
  }
  if (logits)
    logits->assign(seqs.size() * vocab_, 0.0f);
  LLMC_RETURN_IF_ERROR(runStep(*decode_, seqOfToken, seqs, tokens, positions,
                               outRows, logits ? logits->data() : nullptr));
  for (int seq : seqs)
    find(seq)->length += 1;
  return Status::ok();
}

} // namespace llmc
