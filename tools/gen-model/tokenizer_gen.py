"""Tokenizers for generated models, trained by a small BPE on the built-in
corpus (corpus.py), written as Hugging Face tokenizer.json files and as GGUF
tokenizer metadata.

Two flavours:
  spm : Llama-2 style. BPE model with byte_fallback, vocab = <unk>, <s>, </s>,
        <0x00>..<0xFF>, the corpus' characters (most frequent first), then the
        learned pieces in merge order. Spaces are "\u2581". The tokenizer.json
        merges list every split (l, r) of every piece whose halves are both in
        the vocab, ordered by the piece's id: that makes Hugging Face's
        rank-ordered BPE behave exactly like llama.cpp's SPM tokenizer, which
        merges the adjacent pair whose concatenation has the highest score
        (GGUF score of token i = -i for normal tokens).
  bpe : GPT-2 / Llama-3 style byte-level BPE: 256 byte tokens (GPT-2's
        bytes-to-unicode mapping) in byte order, learned merges, then the
        special tokens. Pre-tokenizer: the Llama-3 split regex (qwen2: Qwen2's
        regex, single digits) followed by ByteLevel.
"""
import heapq
import re
import unicodedata
from collections import Counter

import corpus

SPACE = "\u2581"

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# GGUF token types
TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED, TT_BYTE = 1, 2, 3, 4, 5, 6

LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}"
    "{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}")

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


# ---------------------------------------------------------------- BPE training

def train_bpe(units, n_merges, allowed=None):
    """units: Counter mapping tuple-of-symbols -> frequency. Learns up to
    n_merges merges (most frequent adjacent pair first; ties broken by the
    pair's text, so training is deterministic). Returns [(a, b), ...]."""
    words = []
    for w, f in sorted(units.items()):
        words.append([list(w), f])
    pair_count = Counter()
    where = {}
    for i, (sym, f) in enumerate(words):
        for p in zip(sym, sym[1:]):
            pair_count[p] += f
            where.setdefault(p, set()).add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    seen = set()
    while len(merges) < n_merges and heap:
        c, p = heapq.heappop(heap)
        if pair_count.get(p, 0) != -c or c == 0:
            continue
        merged = p[0] + p[1]
        if merged in seen:              # same string reachable two ways: one token
            pair_count[p] = 0
            continue
        seen.add(merged)
        merges.append(p)
        changed = set()
        for i in sorted(where.get(p, ())):
            sym, f = words[i]
            j = 0
            new = []
            while j < len(sym):
                if j + 1 < len(sym) and sym[j] == p[0] and sym[j + 1] == p[1]:
                    new.append(merged)
                    j += 2
                else:
                    new.append(sym[j])
                    j += 1
            if len(new) == len(sym):
                continue
            for q in zip(sym, sym[1:]):
                pair_count[q] -= f
                changed.add(q)
            for q in zip(new, new[1:]):
                pair_count[q] += f
                where.setdefault(q, set()).add(i)
                changed.add(q)
            words[i][0] = new
        pair_count[p] = 0
        for q in changed:
            if pair_count[q] > 0:
                heapq.heappush(heap, (-pair_count[q], q))
    return merges


def extend_merges(pieces, merges, n):
    """When the corpus runs out of pairs before the vocabulary is full, adds
    synthetic merges (a, b) of two existing pieces, enumerating pairs of
    `pieces` (in vocabulary order) along anti-diagonals, skipping strings
    already in the vocabulary. Deterministic; every id then decodes to text."""
    have = set(pieces) | {a + b for a, b in merges}
    out = []
    P = list(pieces)
    s = 0
    while len(out) < n and s < 2 * len(P):
        for i in range(max(0, s - len(P) + 1), min(s, len(P) - 1) + 1):
            c = P[i] + P[s - i]
            if c not in have:
                have.add(c)
                out.append((P[i], P[s - i]))
                if len(out) == n:
                    break
        s += 1
    return out


# ---------------------------------------------------------------- byte level

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character mapping."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    n = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


_WS = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def _is_l(c):
    return unicodedata.category(c)[0] == "L"


def _is_n(c):
    return unicodedata.category(c)[0] == "N"


def _is_s(c):
    return c in _WS


def pre_tokenize(text, flavor="llama3"):
    """The Llama-3 (or Qwen2) split regex, evaluated by hand: Python's re has
    no \\p{L}/\\p{N}. At each position the first alternative that matches wins,
    with the backtracking the regex would do."""
    max_digits = 3 if flavor == "llama3" else 1
    out = []
    i, n = 0, len(text)
    contractions = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
    while i < n:
        c = text[i]
        m = 0
        # 1: contractions, case-insensitive
        if c == "'":
            low = text[i:i + 3].lower()
            for s in contractions:
                if low.startswith(s):
                    m = len(s)
                    break
        # 2: [^\r\n\p{L}\p{N}]?\p{L}+
        if not m:
            j = i
            if c not in "\r\n" and not _is_l(c) and not _is_n(c) and i + 1 < n and _is_l(text[i + 1]):
                j = i + 1
            if _is_l(text[j]):
                k = j
                while k < n and _is_l(text[k]):
                    k += 1
                m = k - i
        # 3: digits
        if not m and _is_n(c):
            k = i
            while k < n and k - i < max_digits and _is_n(text[k]):
                k += 1
            m = k - i
        # 4: " ?[^\s\p{L}\p{N}]+[\r\n]*"
        if not m:
            def other(ch):
                return not _is_s(ch) and not _is_l(ch) and not _is_n(ch)
            j = i + 1 if (c == " " and i + 1 < n and other(text[i + 1])) else i
            if other(text[j]):
                k = j
                while k < n and other(text[k]):
                    k += 1
                while k < n and text[k] in "\r\n":
                    k += 1
                m = k - i
        if not m and _is_s(c):
            e = i
            while e < n and _is_s(text[e]):
                e += 1
            # 5: \s*[\r\n]+ : up to the last newline of the run
            last_nl = -1
            for k in range(i, e):
                if text[k] in "\r\n":
                    last_nl = k
            if last_nl >= 0:
                m = last_nl + 1 - i
            # 6: \s+(?!\S)
            elif e == n:
                m = e - i
            elif e - i >= 2:
                m = e - i - 1
            # 7: \s+
            else:
                m = e - i
        if not m:
            m = 1
        out.append(text[i:i + m])
        i += m
    return out


# ---------------------------------------------------------------- builders

def _spm_units(text):
    units = Counter()
    for line in text.split("\n"):
        if not line:
            continue
        s = SPACE + line.replace(" ", SPACE)
        for u in re.findall(SPACE + "+(?=" + SPACE + ")|" + SPACE + "?[^" + SPACE + "]+|" + SPACE, s):
            units[u] += 1
    return units


def build_spm(vocab_size):
    specials = ["<unk>", "<s>", "</s>"]
    base = specials + ["<0x%02X>" % b for b in range(256)]
    budget = vocab_size - len(base)
    if budget < 1:
        raise ValueError("vocab %d too small for an spm tokenizer (needs > %d)" % (vocab_size, len(base)))
    units = _spm_units(corpus.TEXT)
    freq = Counter()
    for u, f in units.items():
        for ch in u:
            freq[ch] += f
    chars = sorted(freq, key=lambda ch: (-freq[ch], ch))
    n_chars = min(len(chars), budget - budget // 3) if budget < len(chars) + 64 else len(chars)
    chars = chars[:n_chars]
    allowed = set(chars)
    # characters outside the alphabet split units (they fall back to bytes)
    sym_units = Counter()
    for u, f in units.items():
        for part in re.split("[^" + re.escape("".join(sorted(allowed))) + "]+", u):
            if len(part) > 1:
                sym_units[tuple(part)] += f
    merges = train_bpe(sym_units, budget - n_chars)
    if len(merges) < budget - n_chars:
        merges += extend_merges(chars + [a + b for a, b in merges], merges, budget - n_chars - len(merges))
    pieces = chars + [a + b for a, b in merges]
    tokens = base + pieces
    ids = {t: i for i, t in enumerate(tokens)}
    assert len(ids) == len(tokens)
    scores = [0.0] * len(base) + [-float(len(base) + i) for i in range(len(pieces))]
    types = [TT_UNKNOWN, TT_CONTROL, TT_CONTROL] + [TT_BYTE] * 256 + [TT_NORMAL] * len(pieces)
    # every split of every multi-character piece, ordered by the piece's id
    all_merges = []
    for t in tokens[len(base) + n_chars:]:
        for k in range(1, len(t)):
            l, r = t[:k], t[k:]
            if l in ids and r in ids and ids[l] >= len(base) and ids[r] >= len(base):
                all_merges.append((ids[t], ids[l], l, r))
    all_merges.sort()
    return {
        "flavor": "spm",
        "tokens": tokens, "scores": scores, "types": types,
        "merges": [(l, r) for _, _, l, r in all_merges],
        "learned_merges": merges,
        "bos": 1, "eos": 2, "unk": 0, "specials": {0: "<unk>", 1: "<s>", 2: "</s>"},
        "add_bos": True,
    }


def build_bpe(vocab_size, flavor="llama3"):
    b2u = bytes_to_unicode()
    if flavor == "qwen2":
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    else:
        specials = ["<|begin_of_text|>", "<|end_of_text|>"]
    n_merges = vocab_size - 256 - len(specials)
    if n_merges < 0:
        raise ValueError("vocab %d too small for a byte-level tokenizer (needs >= %d)" % (vocab_size, 256 + len(specials)))
    text = corpus.TEXT
    if flavor == "qwen2":
        text = unicodedata.normalize("NFC", text)
    units = Counter()
    for piece in pre_tokenize(text, flavor):
        units[tuple(b2u[b] for b in piece.encode("utf-8"))] += 1
    merges = train_bpe(units, n_merges)
    if len(merges) < n_merges:
        base = [a + b for a, b in merges] + [b2u[b] for b in range(256)]
        merges += extend_merges(base, merges, n_merges - len(merges))
    tokens = [b2u[b] for b in range(256)] + [a + b for a, b in merges]
    n_special0 = len(tokens)
    tokens += specials
    types = [TT_NORMAL] * n_special0 + [TT_CONTROL] * len(specials)
    out = {
        "flavor": flavor, "tokens": tokens, "scores": None, "types": types,
        "merges": merges, "learned_merges": merges,
        "specials": {n_special0 + i: s for i, s in enumerate(specials)},
    }
    if flavor == "qwen2":
        out.update(bos=n_special0, eos=n_special0 + 2, unk=None, add_bos=False, pad=n_special0)
    else:
        out.update(bos=n_special0, eos=n_special0 + 1, unk=None, add_bos=True)
    return out


def build(kind, vocab_size, arch="llama"):
    if kind == "spm":
        return build_spm(vocab_size)
    return build_bpe(vocab_size, "qwen2" if arch == "qwen2" else "llama3")


# ---------------------------------------------------------------- HF files

def _added(tok_id, content):
    return {"id": tok_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def tokenizer_json(tk):
    tokens = tk["tokens"]
    vocab = {t: i for i, t in enumerate(tokens)}
    added = [_added(i, s) for i, s in sorted(tk["specials"].items())]
    merges = ["%s %s" % (a, b) for a, b in tk["merges"]]
    bos_name = tokens[tk["bos"]] if tk.get("add_bos") else None
    if bos_name:
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos_name, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bos_name, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bos_name, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos_name: {"id": bos_name, "ids": [tk["bos"]], "tokens": [bos_name]}}}
    if tk["flavor"] == "spm":
        return {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": SPACE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
            "pre_tokenizer": None,
            "post_processor": post,
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                      "vocab": vocab, "merges": merges},
        }
    qwen = tk["flavor"] == "qwen2"
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"} if qwen else None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX if qwen else LLAMA3_REGEX},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": not qwen, "use_regex": False}]},
        "post_processor": post if bos_name else
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": not qwen,
                  "vocab": vocab, "merges": merges},
    }


def tokenizer_config(tk, arch, ctx):
    tokens = tk["tokens"]
    decoder = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True} for i, s in sorted(tk["specials"].items())}
    cfg = {
        "add_bos_token": bool(tk.get("add_bos")),
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": tokens[tk["bos"]] if tk.get("add_bos") else None,
        "eos_token": tokens[tk["eos"]],
        "clean_up_tokenization_spaces": False,
        "model_max_length": ctx,
        "tokenizer_class": "LlamaTokenizerFast" if tk["flavor"] == "spm" else "PreTrainedTokenizerFast",
        "chat_template": CHATML_TEMPLATE if arch == "qwen2" else LLAMA2_CHAT_TEMPLATE,
    }
    if tk["flavor"] == "spm":
        cfg["unk_token"] = "<unk>"
        cfg["legacy"] = True
    if tk.get("pad") is not None:
        cfg["pad_token"] = tokens[tk["pad"]]
    return cfg


# ---------------------------------------------------------------- encoding

class Encoder:
    """Encodes text with the Hugging Face semantics of the tokenizer.json
    files written above (BPE by merge rank; byte fallback; specials split out
    first when special=True). Used to check llama.cpp's and llmc's tokenizers."""

    def __init__(self, tk):
        self.tk = tk
        self.vocab = {t: i for i, t in enumerate(tk["tokens"])}
        self.ranks = {p: i for i, p in enumerate(tk["merges"])}
        self.b2u = bytes_to_unicode()
        self.special = {s: i for i, s in tk["specials"].items()}

    def _bpe(self, symbols):
        syms = list(symbols)
        while len(syms) > 1:
            best = None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        return syms

    def _encode_text(self, text):
        if not text:
            return []
        if self.tk["flavor"] == "spm":
            s = SPACE + text.replace(" ", SPACE)
            syms = []
            for ch in s:
                if ch in self.vocab:
                    syms.append(ch)
                else:
                    syms.extend("<0x%02X>" % b for b in ch.encode("utf-8"))
            out = []
            # byte-fallback tokens never merge: run BPE between them
            run = []
            for sy in syms + [None]:
                if sy is None or (sy.startswith("<0x") and len(sy) == 6 and sy not in self.ranks):
                    if run:
                        out.extend(self._bpe(run))
                        run = []
                    if sy is not None:
                        out.append(sy)
                else:
                    run.append(sy)
            return [self.vocab[t] for t in out]
        if self.tk["flavor"] == "qwen2":
            text = unicodedata.normalize("NFC", text)
        out = []
        for piece in pre_tokenize(text, self.tk["flavor"]):
            word = "".join(self.b2u[b] for b in piece.encode("utf-8"))
            if self.tk["flavor"] == "llama3" and word in self.vocab:   # ignore_merges
                out.append(self.vocab[word])
                continue
            out.extend(self.vocab[t] for t in self._bpe(word))
        return out

    def encode(self, text, add_bos=None, special=False):
        if add_bos is None:
            add_bos = bool(self.tk.get("add_bos"))
        ids = [self.tk["bos"]] if add_bos else []
        if not special or not self.special:
            return ids + self._encode_text(text)
        pat = "(" + "|".join(re.escape(s) for s in sorted(self.special, key=len, reverse=True)) + ")"
        for part in re.split(pat, text):
            if part in self.special:
                ids.append(self.special[part])
            else:
                ids.extend(self._encode_text(part))
        return ids

    def decode(self, ids):
        toks = [self.tk["tokens"][i] if i < len(self.tk["tokens"]) else "" for i in ids]
        if self.tk["flavor"] == "spm":
            bs = bytearray()
            for t in toks:
                if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
                    bs.append(int(t[3:5], 16))
                elif t in ("<s>", "</s>", "<unk>"):
                    continue
                else:
                    bs.extend(t.replace(SPACE, " ").encode("utf-8"))
            s = bs.decode("utf-8", errors="replace")
            return s[1:] if s.startswith(" ") else s
        u2b = {v: k for k, v in self.b2u.items()}
        bs = bytearray()
        for i, t in zip(ids, toks):
            if i in self.tk["specials"]:
                bs.extend(t.encode("utf-8"))
            else:
                bs.extend(u2b[c] for c in t)
        return bs.decode("utf-8", errors="replace")
