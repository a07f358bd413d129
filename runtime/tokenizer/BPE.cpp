//===- BPE.cpp - tokenizer.json "model": byte-pair encoding ---------------===//
//
// A word starts as one symbol per character (or per byte through "<0xNN>"
// tokens when the character is not in the vocab and byte_fallback is on);
// then the adjacent pair with the lowest merge rank is merged, leftmost
// first, until no pair has a merge. Pairs wait in a priority queue and stale
// entries are skipped when popped, so a word of n symbols costs O(n log n).
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/TokenizerParts.h"

#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <queue>

namespace llmc::tokenizer {

namespace {
const char *kWhat = "model";

std::string byteTokenText(unsigned byte) {
  const char *hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[byte >> 4] + hex[byte & 15] + ">";
}
} // namespace

Result<BPEModel> BPEModel::fromJson(const Json &json) {
  if (!json.is_object())
    return Status::error(std::string(kWhat) + ": expected an object");
  LLMC_ASSIGN_OR_RETURN(std::string type,
                        optionalString(json, "type", "BPE", kWhat));
  if (type != "BPE")
    return Status::error(std::string(kWhat) + ": unsupported type '" + type +
                         "' (llmc supports BPE)");
  std::string what = std::string(kWhat) + " BPE";
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    LLMC_ASSIGN_OR_RETURN(std::string affix,
                          optionalString(json, key, "", what));
    if (!affix.empty())
      return Status::error(what + ": '" + key + "' is not supported");
  }

  BPEModel model;
  auto vocab = json.find("vocab");
  if (vocab == json.end() || !vocab->is_object())
    return Status::error(what + ": 'vocab' must be an object of token: id");
  model.vocab_.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const Json &id = it.value();
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() > std::numeric_limits<int32_t>::max())
      return Status::error(what + ": the id of token '" + it.key() +
                           "' is not a non-negative 32-bit integer");
    int32_t value = static_cast<int32_t>(id.get<int64_t>());
    model.vocab_[it.key()] = value;
    model.maxId_ = std::max(model.maxId_, value);
  }
  auto merges = json.find("merges");
  if (merges != json.end() && !merges->is_null())
    LLMC_RETURN_IF_ERROR(model.readMerges(*merges));

  LLMC_ASSIGN_OR_RETURN(std::string unk,
                        optionalString(json, "unk_token", "", what));
  if (!unk.empty())
    model.unkId_ = model.find(unk);
  LLMC_ASSIGN_OR_RETURN(model.byteFallback_,
                        optionalBool(json, "byte_fallback", false, what));
  LLMC_ASSIGN_OR_RETURN(model.ignoreMerges_,
                        optionalBool(json, "ignore_merges", false, what));
  LLMC_ASSIGN_OR_RETURN(model.fuseUnk_,
                        optionalBool(json, "fuse_unk", false, what));
  for (unsigned byte = 0; byte < 256; ++byte)
    model.byteTokens_[byte] = model.find(byteTokenText(byte));
  return model;
}

Status BPEModel::readMerges(const Json &merges) {
  std::string what = std::string(kWhat) + " BPE";
  if (!merges.is_array())
    return Status::error(what + ": 'merges' must be an array");
  merges_.reserve(merges.size());
  int32_t rank = 0;
  for (const Json &merge : merges) {
    std::string left, right;
    std::string where = what + ": merge " + std::to_string(rank);
    if (merge.is_string()) {
      // The older "left right" form; tokens never hold spaces there.
      const std::string &text = merge.get_ref<const std::string &>();
      size_t space = text.find(' ');
      if (space == std::string::npos ||
          text.find(' ', space + 1) != std::string::npos)
        return Status::error(where + " ('" + text +
                             "') is not two tokens separated by one space");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return Status::error(where + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    int32_t leftId = find(left), rightId = find(right);
    int32_t resultId = find(left + right);
    if (leftId < 0 || rightId < 0)
      return Status::error(where + ": '" + (leftId < 0 ? left : right) +
                           "' is not in the vocab");
    if (resultId < 0)
      return Status::error(where + ": the merged token '" + left + right +
                           "' is not in the vocab");
    // As in tokenizers, a repeated pair keeps its last rank.
    merges_[pairKey(leftId, rightId)] = {rank, resultId};
    if (rank == std::numeric_limits<int32_t>::max())
      return Status::error(what + ": too many merges");
    ++rank;
  }
  return Status::ok();
}

void BPEModel::encodeWord(std::string_view word,
                          std::vector<int32_t> &out) const {
  if (word.empty())
    return;
  if (ignoreMerges_) {
    int32_t whole = find(std::string(word));
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool previousUnk = false;
  std::string character;
  for (size_t pos = 0; pos < word.size();) {
    size_t length = unicode::decodeChar(word, pos).length;
    character.assign(word.substr(pos, length));
    pos += length;
    int32_t id = find(character);
    if (id >= 0) {
      symbols.push_back(id);
      previousUnk = false;
      continue;
    }
    if (byteFallback_) {
      bool allBytes = true;
      for (unsigned char byte : character)
        allBytes = allBytes && byteTokens_[byte] >= 0;
      if (allBytes) {
        for (unsigned char byte : character)
          symbols.push_back(byteTokens_[byte]);
        previousUnk = false;
        continue;
      }
    }
    if (unkId_ < 0)
      continue; // tokenizers drops a character it cannot represent
    if (!(fuseUnk_ && previousUnk))
      symbols.push_back(unkId_);
    previousUnk = true;
  }
  mergeSymbols(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BPEModel::mergeSymbols(std::vector<int32_t> &ids) const {
  const int32_t n = static_cast<int32_t>(ids.size());
  if (n < 2 || merges_.empty())
    return;
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, result;
    // The queue's top is the lowest rank, then the leftmost position.
    bool operator<(const Candidate &other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t left) {
    if (left < 0 || next[left] < 0)
      return;
    auto it = merges_.find(pairKey(ids[left], ids[next[left]]));
    if (it != merges_.end())
      queue.push({it->second.rank, left, it->second.result});
  };
  for (int32_t i = 0; i + 1 < n; ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    int32_t right = alive[top.pos] ? next[top.pos] : -1;
    if (right < 0)
      continue;
    // Skip entries made stale by an earlier merge on either side.
    auto it = merges_.find(pairKey(ids[top.pos], ids[right]));
    if (it == merges_.end() || it->second.result != top.result)
      continue;
    ids[top.pos] = top.result;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0)
      prev[next[right]] = top.pos;
    consider(prev[top.pos]);
    consider(top.pos);
  }
  size_t kept = 0;
  for (int32_t i = 0; i < n; ++i)
    if (alive[i])
      ids[kept++] = ids[i];
  ids.resize(kept);
}

} // namespace llmc::tokenizer
