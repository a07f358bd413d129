#!/usr/bin/env python3
"""Writes a GGUF file that holds only tokenizer metadata, for the tests of
llmc's GGUF tokenizer conversion and its error messages:

  write_gguf_tokenizer.py --out F [--model gpt2|llama|NAME] [--pre NAME]
                          [--scores N] [--merge "a b"]...

gpt2: the 256 byte-level tokens and the given merges; llama: <unk> <s> </s>,
the 256 "<0xNN>" byte tokens and "▁"; --scores N writes only N scores.
Uses the generator's GGUF writer (tools/gen-model/gguf.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tools", "gen-model"))
import gguf  # noqa: E402


def byte_level_tokens():
    keep = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    out, n = [], 0
    for b in range(256):
        if b in keep:
            out.append(chr(b))
        else:
            out.append(chr(256 + n))
            n += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="gpt2")
    ap.add_argument("--pre")
    ap.add_argument("--scores", type=int)
    ap.add_argument("--merge", action="append", default=[])
    args = ap.parse_args()

    w = gguf.Writer(args.out)
    w.add("general.architecture", gguf.STRING, "llama")
    w.add("tokenizer.ggml.model", gguf.STRING, args.model)
    if args.model == "llama":
        tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["\u2581"]
        types = [2, 3, 3] + [6] * 256 + [1]
    else:
        tokens = byte_level_tokens()
        types = [1] * 256
    w.add("tokenizer.ggml.tokens", gguf.ARRAY, tokens, gguf.STRING)
    w.add("tokenizer.ggml.token_type", gguf.ARRAY, types, gguf.INT32)
    n_scores = len(tokens) if args.scores is None else args.scores
    w.add("tokenizer.ggml.scores", gguf.ARRAY, [0.0] * n_scores, gguf.FLOAT32)
    if args.model != "llama":
        w.add("tokenizer.ggml.merges", gguf.ARRAY, args.merge, gguf.STRING)
    if args.pre is not None:
        w.add("tokenizer.ggml.pre", gguf.STRING, args.pre)
    w.write_header()
    w.close()


if __name__ == "__main__":
    main()
