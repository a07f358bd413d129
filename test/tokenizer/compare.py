#!/usr/bin/env python3
"""Compares two tokenizer commands on every string of a corpus.

  compare.py CORPUS --work DIR --left CMD --right CMD [--flags "..."]
             [--joined SEPARATOR]

CMD is a command prefix that, given `--text-file F` and the --flags, prints
one JSON object {"tokens": [...]} on stdout: `llmc tokenize MODEL --json` or
`node bench/llamacpp/oracle.mjs tokenize MODEL.gguf`.

The corpus has one string per line (see Inputs/corpus.txt for the escapes;
\\xNN is a raw byte, which is how invalid UTF-8 is written). Each string is
written to its own file, byte for byte, without a trailing newline.

--joined SEP tokenizes all strings at once, joined by SEP (written with the
corpus escapes). With a special token's text as SEP and --special in --flags,
llama.cpp and llmc tokenize the text between two special tokens on its own
(for SentencePiece models each piece gets its own leading "\u2581", as at the
start of a text), so one run checks every string as if alone, without
starting node once per string.

Prints one summary line, "compared N strings: all equal" or the mismatches,
and exits non-zero on any mismatch or failure.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "s": b" ", "\\": b"\\"}


def decode_line(line):
    out = bytearray()
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            n = line[i + 1]
            if n in ESCAPES:
                out += ESCAPES[n]
                i += 2
                continue
            if n == "x":
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
            raise SystemExit("compare.py: unknown escape \\%s in %r" % (n, line))
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def read_corpus(path):
    strings = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            strings.append(decode_line(line))
    return strings


def tokenize(cmd, flags, path):
    argv = shlex.split(cmd) + ["--text-file", path] + shlex.split(flags)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise SystemExit("compare.py: %s failed (%d): %s" % (
            " ".join(argv), proc.returncode, proc.stderr.decode(errors="replace").strip()))
    lines = proc.stdout.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])["tokens"]
    except (IndexError, ValueError, KeyError):
        raise SystemExit("compare.py: %s printed no {\"tokens\": [...]}: %r" % (
            " ".join(argv), proc.stdout[:200]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--work", required=True)
    ap.add_argument("--left", required=True)
    ap.add_argument("--right", required=True)
    ap.add_argument("--flags", default="")
    ap.add_argument("--joined", metavar="SEPARATOR")
    args = ap.parse_args()

    strings = read_corpus(args.corpus)
    os.makedirs(args.work, exist_ok=True)
    if args.joined:
        texts = [decode_line(args.joined).join(strings)]
    else:
        texts = strings

    mismatches = 0
    for i, text in enumerate(texts):
        path = os.path.join(args.work, "text%03d.txt" % i)
        with open(path, "wb") as f:
            f.write(text)
        left = tokenize(args.left, args.flags, path)
        right = tokenize(args.right, args.flags, path)
        if left != right:
            mismatches += 1
            at = next((k for k, (a, b) in enumerate(zip(left, right)) if a != b),
                      min(len(left), len(right)))
            shown = text if not args.joined else text[:0]
            print("MISMATCH %s%r: first difference at token %d\n  left:  %s\n  right: %s" % (
                "" if args.joined else "string %d " % i, shown, at, left, right))
    what = "%d strings%s" % (len(strings), " (joined by %s)" % args.joined if args.joined else "")
    if mismatches:
        print("compared %s: %d differ" % (what, mismatches))
        sys.exit(1)
    print("compared %s: all equal" % what)


if __name__ == "__main__":
    main()
