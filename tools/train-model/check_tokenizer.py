#!/usr/bin/python3
"""Check that a model folder's tokenizer.json tokenizes like its sentencepiece
tokenizer.model.

  /usr/bin/python3 tools/train-model/check_tokenizer.py [models/tinypy] [--all-stdlib] [--llmc build/bin/llmc]

tokenizer.json is read by a small pure-Python implementation of the Hugging
Face `tokenizers` pipeline that Llama-2 checkpoints use (normalizer Prepend
"\u2581" + Replace " " -> "\u2581", no pre-tokenizer, BPE with merges applied by
rank (lowest first, leftmost on ties) and byte fallback, decoder Replace /
ByteFallback / Fuse / Strip). Its ids are compared with sentencepiece's on
heldout.txt: line by line, in chunks of 40 lines, and as one string; then
decode(ids) is compared with the text. Special tokens written in the text
("<s>" occurs once in heldout.txt) are not parsed, as sentencepiece, llama.cpp
and `llmc tokenize` without --special do (the `tokenizers` library would
turn that "<s>" into id 1).

--all-stdlib also checks every .py file of the Python standard library (tabs,
non-ASCII, long files). --llmc BIN also compares `BIN tokenize MODEL
--text-file F --json` with sentencepiece on heldout.txt and on a file of
awkward strings (expected: [BOS] + sentencepiece's ids).

Exit status 0 when everything matches.
"""
import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile

SPACE = "\u2581"


class HFLlamaTokenizer:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        m = tj["model"]
        assert m["type"] == "BPE" and m["byte_fallback"] and m["fuse_unk"], "not a Llama-2 style BPE"
        assert tj["pre_tokenizer"] is None
        norms = tj["normalizer"]["normalizers"]
        assert [n["type"] for n in norms] == ["Prepend", "Replace"]
        self.prepend = norms[0]["prepend"]
        self.replace = (norms[1]["pattern"]["String"], norms[1]["content"])
        self.vocab = m["vocab"]
        self.id_to_piece = {i: p for p, i in self.vocab.items()}
        self.unk = self.vocab[m["unk_token"]]
        self.merges = {}
        for rank, mg in enumerate(m["merges"]):
            a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
            key = (self.vocab[a], self.vocab[b])
            if key not in self.merges:
                self.merges[key] = (rank, self.vocab[a + b])
        self.decoders = tj["decoder"]["decoders"]

    def normalize(self, text):
        if not text:
            return text
        return (self.prepend + text).replace(*self.replace)

    def initial_symbols(self, s):
        out = []
        for ch in s:
            i = self.vocab.get(ch)
            if i is not None:
                out.append(i)
                continue
            bs = [self.vocab.get("<0x%02X>" % b) for b in ch.encode("utf-8")]
            if all(b is not None for b in bs):
                out.extend(bs)
            elif out and out[-1] == self.unk:
                pass                                   # fuse_unk
            else:
                out.append(self.unk)
        return out

    def bpe(self, ids):
        """tokenizers' Word::merge_all: a heap of (rank, position) over
        adjacent pairs; stale entries are skipped."""
        n = len(ids)
        c = list(ids)
        alive = [True] * n
        prev = list(range(-1, n - 1))
        nxt = list(range(1, n + 1))
        if n:
            nxt[-1] = -1
        heap = []
        for i in range(n - 1):
            m = self.merges.get((c[i], c[i + 1]))
            if m:
                heap.append((m[0], i, m[1]))
        heapq.heapify(heap)
        while heap:
            rank, pos, new_id = heapq.heappop(heap)
            if not alive[pos] or nxt[pos] == -1:
                continue
            r = nxt[pos]
            m = self.merges.get((c[pos], c[r]))
            if m is None or m[1] != new_id:
                continue
            c[pos] = new_id
            alive[r] = False
            nxt[pos] = nxt[r]
            if nxt[r] != -1:
                prev[nxt[r]] = pos
            p = prev[pos]
            if p >= 0:
                m = self.merges.get((c[p], c[pos]))
                if m:
                    heapq.heappush(heap, (m[0], p, m[1]))
            q = nxt[pos]
            if q != -1:
                m = self.merges.get((c[pos], c[q]))
                if m:
                    heapq.heappush(heap, (m[0], pos, m[1]))
        return [c[i] for i in range(n) if alive[i]]

    def encode(self, text):
        return self.bpe(self.initial_symbols(self.normalize(text)))

    def decode(self, ids):
        toks = [self.id_to_piece[i] for i in ids]
        for d in self.decoders:
            t = d["type"]
            if t == "Replace":
                toks = [x.replace(d["pattern"]["String"], d["content"]) for x in toks]
            elif t == "ByteFallback":
                out, pend = [], []

                def flush():
                    if pend:
                        try:
                            out.append(bytes(pend).decode("utf-8"))
                        except UnicodeDecodeError:
                            out.extend("\ufffd" for _ in pend)
                        pend.clear()
                for x in toks:
                    if len(x) == 6 and x.startswith("<0x") and x.endswith(">"):
                        pend.append(int(x[3:5], 16))
                    else:
                        flush()
                        out.append(x)
                flush()
                toks = out
            elif t == "Fuse":
                toks = ["".join(toks)]
            elif t == "Strip":
                s = "".join(toks)
                ch, a = d["content"], d["start"]
                k = 0
                while k < a and k < len(s) and s[k] == ch:
                    k += 1
                toks = [s[k:len(s) - d["stop"]] if d["stop"] else s[k:]]
            else:
                raise ValueError("decoder " + t)
        return "".join(toks)


EXTRA = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "a",
    "def f(x):\n\treturn x  # tab-indented\r\n\r\n",
    "  leading spaces\n\n\n   \n",
    "caf\u00e9 \u4e2d\u6587 \U0001F600 \x7f \u2581\u2581x",
    "x = [1, 22, 333, 4444, 1e-5, 0xFF]\n    \t  \n",
    "<s> </s> <unk> <0x0A> literally",
    "        " * 20 + "deep\n",
    "\u0000null\u0001",
]


def compare(sp, hf, texts, what, failures, decode=True):
    n_tok = 0
    for t in texts:
        a = sp.encode(t)
        b = hf.encode(t)
        n_tok += len(a)
        if a != b:
            failures.append((what, t, a, b))
            continue
        if decode:
            d = hf.decode(b)
            if d != sp.decode(a):
                failures.append((what + " decode", t, sp.decode(a), d))
    return n_tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("model", nargs="?", default=os.path.join(os.path.dirname(os.path.dirname(here)), "models", "tinypy"))
    ap.add_argument("--all-stdlib", action="store_true")
    ap.add_argument("--llmc", metavar="BIN")
    args = ap.parse_args()

    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "tokenizer.model"))
    hf = HFLlamaTokenizer(os.path.join(args.model, "tokenizer.json"))
    assert len(hf.vocab) == sp.get_piece_size()
    for i in range(sp.get_piece_size()):
        assert hf.vocab[sp.id_to_piece(i)] == i
    with open(os.path.join(args.model, "heldout.txt"), encoding="utf-8", newline="") as f:
        held = f.read()
    failures = []
    lines = held.splitlines(keepends=True)
    n = compare(sp, hf, [l.rstrip("\n") for l in lines], "line", failures)
    print("lines without newline: %d lines, %d tokens" % (len(lines), n))
    n = compare(sp, hf, lines, "line+nl", failures)
    print("lines with newline:    %d lines, %d tokens" % (len(lines), n))
    chunks = ["".join(lines[i:i + 40]) for i in range(0, len(lines), 40)]
    n = compare(sp, hf, chunks, "chunk", failures)
    print("40-line chunks:        %d chunks, %d tokens" % (len(chunks), n))
    n = compare(sp, hf, [held], "whole file", failures)
    print("whole heldout.txt:     %d tokens" % n)
    n = compare(sp, hf, EXTRA, "extra", failures)
    print("awkward strings:       %d strings, %d tokens" % (len(EXTRA), n))
    if args.all_stdlib:
        sys.path.insert(0, here)
        import train
        files = train.list_sources()
        texts = [train.read_text(os.path.join(train.STDLIB, r)) for r in files]
        n = compare(sp, hf, texts, "stdlib file", failures)
        print("all stdlib files:      %d files, %d tokens" % (len(texts), n))

    if args.llmc:
        with tempfile.TemporaryDirectory() as d:
            cases = [("heldout.txt", held), ("awkward", "".join(EXTRA[1:]))]
            for name, text in cases:
                p = os.path.join(d, "in.txt")
                with open(p, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                r = subprocess.run([args.llmc, "tokenize", args.model, "--text-file", p, "--json"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(("llmc " + name, text[:100], "exit %d" % r.returncode, r.stderr[-500:]))
                    continue
                got = json.loads(r.stdout)["tokens"]
                want = [sp.bos_id()] + sp.encode(text)
                if got != want:
                    k = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
                    failures.append(("llmc " + name, "first difference at token %d" % k,
                                     want[max(0, k - 3):k + 5], got[max(0, k - 3):k + 5]))
                print("llmc tokenize %-12s %d tokens: %s" % (name + ":", len(got), "same" if got == want else "DIFFERENT"))

    if failures:
        for what, t, a, b in failures[:10]:
            print("MISMATCH (%s) %r\n  sentencepiece: %s\n  other:         %s" % (what, t[:120], a[:40], b[:40]))
        print("%d mismatches" % len(failures))
        return 1
    print("tokenizer.json matches tokenizer.model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
