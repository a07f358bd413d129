//===- Session.h - sequences, the KV cache, prefill and decode --------------------===//
//
// A session runs one artifact on one device: it owns the KV cache pages and
// the sequences that use them. Prefill feeds a sequence's tokens through
// @prefill in chunks of at most the compiled maximum; decode advances several
// sequences by one token each in one @decode call. Only the runtime-side
// bookkeeping lives here; all computation is the artifact's kernels.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_ENGINE_SESSION_H
#define LLMC_RUNTIME_ENGINE_SESSION_H

#include "runtime/artifact/Artifact.h"
#include "runtime/device/Device.h"
#include "runtime/engine/KVBlocks.h"

#include <map>
#include <memory>
#include <vector>

namespace llmc {

struct SessionOptions {
  std::string device = "cpu";
  int threads = 0;
  bool poisonOnFree = false;
  /// Tokens one sequence may hold (0: the compiled context length).
  int64_t contextLength = 0;
  /// KV cache budget in bytes (0: room for every sequence of a full decode
  /// batch at the full context).
  uint64_t kvBudgetBytes = 0;
};

class Session {
public:
  static Result<std::unique_ptr<Session>>
  create(std::shared_ptr<const Artifact> artifact, const SessionOptions &options);

  Result<int> addSequence();
  Status removeSequence(int seq);
  /// Forgets a sequence's tokens but keeps it.
  Status resetSequence(int seq);
  /// Keeps the first `length` tokens of a sequence (their KV entries stay
  /// valid) and returns the blocks past them; the next prefill or decode
  /// continues from position `length`. Chat turns reuse a shared prefix so.
  Status truncateSequence(int seq, int64_t length);
  int64_t length(int seq) const;

  int64_t vocabSize() const { return vocab_; }
  int64_t contextLength() const { return context_; }
  int64_t maxDecodeBatch() const;
  int64_t kvBlocks() const { return allocator_.capacity(); }
  const Artifact &artifact() const { return *artifact_; }
  std::string deviceDescription() const { return device_->description(); }

  /// Appends `tokens` to `seq`. `logits` receives the last token's logits
  /// [vocab], or every token's [tokens x vocab] when `allPositions`.
  Status prefill(int seq, const std::vector<int32_t> &tokens,
                 std::vector<float> *logits, bool allPositions = false);
  /// Appends tokens[i] to seqs[i] for every i in one step; `logits` receives
  /// [seqs x vocab].
  Status decode(const std::vector<int> &seqs,
                const std::vector<int32_t> &tokens, std::vector<float> *logits);

private:
  Session(std::shared_ptr<const Artifact> artifact, int64_t blocks)
      : artifact_(std::move(artifact)), allocator_(static_cast<int32_t>(blocks)) {}
  Status runStep(const fb::Entry &entry, const std::vector<int> &seqOfToken,
                 const std::vector<int> &seqs,
                 const std::vector<int32_t> &tokens,
                 const std::vector<int64_t> &positions,
                 const std::vector<int32_t> &outRows, float *logits);
  SequenceBlocks *find(int seq);

  std::shared_ptr<const Artifact> artifact_;
  std::unique_ptr<Device> device_;
  KVBlockAllocator allocator_;
  std::map<int, SequenceBlocks> sequences_;
  int nextId_ = 0;
  int64_t vocab_ = 0, context_ = 0, blockSize_ = 0;
  const fb::Entry *prefill_ = nullptr, *decode_ = nullptr;
  int symTokens_ = -1, symOutputs_ = -1, symSeqs_ = -1;
  std::vector<uint8_t> step_;
};

} // namespace llmc

#endif // LLMC_RUNTIME_ENGINE_SESSION_H
