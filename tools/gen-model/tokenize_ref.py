#!/usr/bin/python3
"""Reference tokenizer for the generator's tokenizers (Python, independent of
llmc's C++): reads a Hugging Face folder's tokenizer.json or a GGUF file's
tokenizer metadata and encodes text with the Hugging Face / llama.cpp
semantics of the three flavours the generator writes (spm = Llama-2 BPE with
byte fallback; bpe = Llama-3 byte-level BPE; qwen2 = Qwen2 byte-level BPE).

  tokenize_ref.py MODEL --text-file F [--no-bos] [--special]   -> {"tokens": [...]}
  tokenize_ref.py MODEL --decode 1,2,3                         -> {"text": "..."}

It refuses tokenizer.json files that use other features.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gguf  # noqa: E402
import tokenizer_gen as T  # noqa: E402


def from_tokenizer_json(path):
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError("%s: only BPE models are supported" % path)
    vocab = model["vocab"]
    n = max(vocab.values()) + 1
    tokens = [""] * n
    for t, i in vocab.items():
        tokens[i] = t
    specials = {}
    for a in tj.get("added_tokens", []):
        if a["id"] >= len(tokens):
            tokens.extend([""] * (a["id"] + 1 - len(tokens)))
        tokens[a["id"]] = a["content"]
        specials[a["id"]] = a["content"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges", [])]
    pre = json.dumps(tj.get("pre_tokenizer"))
    if model.get("byte_fallback") and tj.get("pre_tokenizer") is None:
        flavor = "spm"
    elif json.dumps(T.LLAMA3_REGEX) in pre:
        flavor = "llama3"
    elif json.dumps(T.QWEN2_REGEX) in pre:
        flavor = "qwen2"
    else:
        raise ValueError("%s: not one of the generator's tokenizer flavours" % path)
    bos, add_bos = None, False
    pp = tj.get("post_processor") or {}
    if pp.get("type") == "TemplateProcessing":
        first = pp["single"][0]
        if "SpecialToken" in first:
            name = first["SpecialToken"]["id"]
            bos, add_bos = pp["special_tokens"][name]["ids"][0], True
    return {"flavor": flavor, "tokens": tokens, "merges": merges, "specials": specials,
            "bos": bos, "add_bos": add_bos}


def from_gguf(path):
    r = gguf.Reader(path)
    m = r.meta
    tokens = list(m["tokenizer.ggml.tokens"])
    types = [int(t) for t in m.get("tokenizer.ggml.token_type", [T.TT_NORMAL] * len(tokens))]
    kind = m["tokenizer.ggml.model"]
    bos = m.get("tokenizer.ggml.bos_token_id")
    add_bos = bool(m.get("tokenizer.ggml.add_bos_token", kind == "llama"))
    if kind == "llama":
        scores = [float(s) for s in m["tokenizer.ggml.scores"]]
        ids = {t: i for i, t in enumerate(tokens)}
        splits = []
        for i, t in enumerate(tokens):
            if types[i] != T.TT_NORMAL or len(t) < 2:
                continue
            for k in range(1, len(t)):
                a, b = t[:k], t[k:]
                if ids.get(a) is not None and ids.get(b) is not None and \
                        types[ids[a]] == T.TT_NORMAL and types[ids[b]] == T.TT_NORMAL:
                    splits.append((-scores[i], i, a, b))
        splits.sort()
        specials = {i: t for i, t in enumerate(tokens) if types[i] in (T.TT_CONTROL, T.TT_UNKNOWN, T.TT_USER_DEFINED)}
        return {"flavor": "spm", "tokens": tokens, "merges": [(a, b) for _, _, a, b in splits],
                "specials": specials, "bos": bos, "add_bos": add_bos}
    if kind == "gpt2":
        pre = m.get("tokenizer.ggml.pre", "default")
        flavor = {"llama-bpe": "llama3", "qwen2": "qwen2"}.get(pre)
        if flavor is None:
            raise ValueError("%s: unsupported tokenizer.ggml.pre %r" % (path, pre))
        merges = [tuple(s.split(" ", 1)) for s in m["tokenizer.ggml.merges"]]
        specials = {i: t for i, t in enumerate(tokens) if types[i] in (T.TT_CONTROL, T.TT_USER_DEFINED)}
        return {"flavor": flavor, "tokens": tokens, "merges": merges, "specials": specials,
                "bos": bos, "add_bos": add_bos}
    raise ValueError("%s: unsupported tokenizer.ggml.model %r" % (path, kind))


def load(path):
    if os.path.isdir(path):
        return from_tokenizer_json(os.path.join(path, "tokenizer.json"))
    if path.endswith(".json"):
        return from_tokenizer_json(path)
    return from_gguf(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="HF folder, tokenizer.json or .gguf")
    ap.add_argument("--text-file")
    ap.add_argument("--no-bos", action="store_true")
    ap.add_argument("--special", action="store_true", help="match special tokens' text")
    ap.add_argument("--decode", help="comma-separated ids to decode instead")
    args = ap.parse_args(argv)
    try:
        tk = load(args.model)
    except (ValueError, KeyError, OSError, gguf.GGUFError) as e:
        raise SystemExit("tokenize_ref: %s" % e)
    enc = T.Encoder(tk)
    if args.decode is not None:
        print(json.dumps({"text": enc.decode([int(x) for x in args.decode.split(",") if x.strip()])},
                         ensure_ascii=False))
        return
    if not args.text_file:
        raise SystemExit("tokenize_ref: give --text-file or --decode")
    with open(args.text_file, encoding="utf-8") as f:
        text = f.read()
    add_bos = tk["add_bos"] and not args.no_bos and tk["bos"] is not None
    print(json.dumps({"tokens": enc.encode(text, add_bos=add_bos, special=args.special)}, separators=(",", ":")))


if __name__ == "__main__":
    main()
