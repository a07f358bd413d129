#!/usr/bin/python3
"""Runs an llmc artifact and an independent oracle on the same tokens and
compares every logit row llmc computed: the prompt positions (prefill) and one
row per decode step, all within one absolute tolerance. The oracle evaluates
the same token sequence (the prompt, then the tokens llmc generated), so decode
steps are checked on their numbers even after a near-tie; llmc's greedy token
at each step must be the oracle's argmax wherever the oracle's top-1/top-2
margin is above --margin.

  compare_run.py --artifact OUT --model MODEL --prompt-len N [--decode D]
                 [--batch B] [--poison] [--atol X] [--margin M] [--seed S]
                 [--oracle reference|llamacpp] [--oracle-arg ARG ...]
                 [--llmc-arg ARG ...] [--same-as OTHER [--same-as-arg ARG ...]]

--tie-codes T --tie-atol Y: for llmc's int8 activations (q8/q4 on the CPU,
with --oracle-arg=--act-quant), an activation within float32 error of a code
boundary may round one way in llmc and the other in the reference, and the
flip reaches later rows through the KV cache. The reference reports, per row,
how close (in code units) anything the row depends on came to a boundary;
rows closer than T may exceed --atol, each within Y. Every other row is held
to --atol. Both counts are printed.
--batch B runs B prompts of different lengths (N, N-3, N-6, ...) in one
`llmc run`, so every decode step is one @decode call over B sequences.
The oracle is the numpy reference (test/reference/reference.py) or llama.cpp
(bench/llamacpp/oracle.mjs) on the same GGUF file. --same-as runs a second
artifact (e.g. the CPU target's) on the same prompts and requires the same
greedy tokens as ours up to the oracle's first near-tie.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "reference", "reference.py")
LLAMACPP = os.path.join(HERE, "..", "..", "bench", "llamacpp", "oracle.mjs")


def run_json(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def llmc_run(args, artifact, prompts, extra, dump=None):
    cmd = [args.llmc, "run", artifact, "-n", str(args.decode), "--json", "--ignore-eos"]
    for p in prompts:
        cmd += ["--tokens", ",".join(map(str, p))]
    if dump:
        cmd += ["--dump-logits", dump]
    out = run_json(cmd + extra)
    seqs = out["sequences"] if len(prompts) > 1 else [out]
    for s in seqs:
        s.setdefault("device", out.get("device", "?"))
    return seqs


def oracle_rows(args, tokens, path):
    """The oracle's logits of every position of `tokens`, [len x vocab], and
    per row how close an int8 activation came to a rounding tie (or None)."""
    ids = ",".join(map(str, tokens))
    if args.oracle == "reference":
        ties = ["--dump-ties", path + ".ties"] if args.tie_codes else []
        subprocess.run(["/usr/bin/python3", REFERENCE, args.model, "--tokens", ids,
                        "--dump-logits", path] + ties + args.oracle_arg,
                       check=True, capture_output=True, text=True)
        rows = np.fromfile(path, dtype="<f4").astype(np.float64).reshape(len(tokens), -1)
        return rows, (np.fromfile(path + ".ties", dtype="<f8") if ties else None)
    else:
        subprocess.run(["node", LLAMACPP, "logits", args.model, "--tokens", ids,
                        "--out", path] + args.oracle_arg,
                       check=True, capture_output=True, text=True)
    rows = np.fromfile(path, dtype="<f4").astype(np.float64)
    return rows.reshape(len(tokens), -1), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmc", default="llmc")
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-len", type=int, required=True)
    ap.add_argument("--decode", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--poison", action="store_true")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--tie-codes", type=float, default=0.0)
    ap.add_argument("--tie-atol", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--oracle", choices=["reference", "llamacpp"], default="reference")
    ap.add_argument("--oracle-arg", action="append", default=[])
    ap.add_argument("--llmc-arg", action="append", default=[])
    ap.add_argument("--same-as")
    ap.add_argument("--same-as-arg", action="append", default=[])
    args = ap.parse_args()

    rng = random.Random(args.seed)
    lengths = [max(1, args.prompt_len - 3 * i) for i in range(args.batch)]
    prompts = [[1] + [rng.randrange(3, args.vocab) for _ in range(n - 1)] for n in lengths]
    extra = args.llmc_arg + (["--poison"] if args.poison else [])
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "llmc.bin")
        ours = llmc_run(args, args.artifact, prompts, extra, dump)
        gens = [o["generated_tokens"] for o in ours]
        # llmc's rows: per sequence, its prompt positions then one row per
        # decode step (no row after the last generated token).
        counts = [len(p) + max(len(g) - 1, 0) for p, g in zip(prompts, gens)]
        a = np.fromfile(dump, dtype="<f4")
        if a.size % sum(counts):
            print(f"FAIL: llmc dumped {a.size} floats, not a whole number of "
                  f"{sum(counts)} rows (prompt + generated - 1 per sequence)")
            sys.exit(1)
        a = a.reshape(sum(counts), -1).astype(np.float64)
        refs = [oracle_rows(args, p + g[:-1], os.path.join(tmp, "ref%d.bin" % i))
                for i, (p, g) in enumerate(zip(prompts, gens))]
        others = (llmc_run(args, args.same_as, prompts, args.same_as_arg)
                  if args.same_as else None)

    b = np.concatenate([r for r, _ in refs])
    ties = (np.concatenate([t for _, t in refs]) if args.tie_codes
            else np.full(len(b), np.inf))
    if a.shape != b.shape:
        print(f"FAIL: llmc rows {a.shape} vs oracle rows {b.shape}")
        sys.exit(1)
    is_decode = np.concatenate([np.arange(c) >= len(p) for p, c in zip(prompts, counts)])
    err = np.abs(a - b)
    row_err = err.max(axis=1)
    nan = bool(np.isnan(a).any())
    near_tie = ties < args.tie_codes
    held = ~near_tie  # rows held to --atol

    def worst(mask):
        return float(row_err[mask].max()) if mask.any() else 0.0
    print(f"{args.oracle}: prompt {sum(lengths)} tokens: max |logit diff| "
          f"{worst(held & ~is_decode):.3g} (atol {args.atol:g}, largest |logit| "
          f"{float(np.max(np.abs(b))):.3g})")
    if is_decode.any():
        print(f"{args.oracle}: decode {int(is_decode.sum())} steps"
              f"{' in batches of %d' % args.batch if args.batch > 1 else ''}: "
              f"max |logit diff| {worst(held & is_decode):.3g} (atol {args.atol:g})")
    if args.tie_codes:
        beyond = near_tie & (row_err > args.atol)
        print(f"rows depending on an int8 code within {args.tie_codes:g} of a rounding tie: "
              f"{int(near_tie.sum())} of {len(b)}; beyond atol: {int(beyond.sum())} "
              f"(worst {worst(near_tie):.3g}, allowed {args.tie_atol:g})")
        if worst(near_tie) > args.tie_atol:
            ok = False
    if nan or worst(held) > args.atol or not ok:
        print("FAIL: logits differ beyond the tolerance" + (" (NaN)" if nan else ""))
        ok = False

    # Every row llmc computed: argmax agrees where the oracle is not near a tie.
    top2 = np.sort(b, axis=1)[:, -2:]
    margins = top2[:, 1] - top2[:, 0]
    # A row near an int8 tie may be off by up to --tie-atol: its argmax is
    # checked only where the margin exceeds twice that.
    need = np.where(near_tie, np.maximum(args.margin, 2 * args.tie_atol), args.margin)
    clear = margins > need
    agree = np.argmax(a, axis=1) == np.argmax(b, axis=1)
    print(f"prompt argmax agree on {int(np.sum(agree & clear & ~is_decode))}/"
          f"{int(np.sum(clear & ~is_decode))} rows with a margin above {args.margin}")
    if not np.all(agree[clear]):
        print("FAIL: argmax differs on a clear row")
        ok = False

    # Greedy decoding: each generated token is the oracle's argmax of the row
    # it was sampled from (the last prompt row, then each decode row).
    checked = ties = 0
    first_tie = None
    start = 0
    for p, g, c in zip(prompts, gens, counts):
        rows = b[start + len(p) - 1:start + c]
        for i, token in enumerate(g):
            if not clear[start + len(p) - 1 + i]:
                ties += 1
                first_tie = i if first_tie is None else min(first_tie, i)
                continue
            if token != int(np.argmax(rows[i])):
                print(f"FAIL: greedy token {i}: llmc {token}, oracle's argmax "
                      f"{int(np.argmax(rows[i]))}")
                ok = False
            checked += 1
        start += c
    total = sum(len(g) for g in gens)
    print(f"greedy decode: {checked}/{total} tokens are the oracle's argmax "
          f"({ties} near-ties skipped)")
    if args.decode and total and checked == 0:
        print("FAIL: every step was a near-tie; nothing was checked")
        ok = False
    if others is not None:
        same = 0
        for g, o in zip(gens, others):
            for i, (x, y) in enumerate(zip(g, o["generated_tokens"])):
                if first_tie is not None and i >= first_tie:
                    break
                if x != y:
                    print(f"FAIL: greedy token {i}: llmc {x}, {args.same_as} {y}")
                    ok = False
                    break
                same += 1
        print(f"same as {os.path.basename(args.same_as)} ({others[0].get('device', '?')}): "
              f"{same}/{total} greedy tokens before any near-tie")
    if args.decode and any(len(g) != args.decode for g in gens):
        print(f"FAIL: llmc generated {[len(g) for g in gens]} tokens, expected {args.decode}")
        ok = False
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
