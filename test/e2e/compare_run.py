#!/usr/bin/python3
"""Runs an llmc artifact and an independent oracle on the same prompt
and compares them: logits of every prompt position within an absolute
tolerance, and greedy continuations token for token up to the first step where
the reference's top-1/top-2 margin is below --margin (after a near-tie the two
may legitimately diverge).

  compare_run.py --artifact OUT --model MODEL --prompt-len N [--decode D]
                 [--poison] [--atol X] [--margin M] [--seed S]
                 [--oracle reference|llamacpp] [--oracle-arg ARG ...]
                 [--llmc-arg ARG ...] [--same-as OTHER [--same-as-arg ARG ...]]

The oracle is the numpy reference (test/reference/reference.py) or llama.cpp
(bench/llamacpp/oracle.mjs) on the same GGUF file. --same-as runs a second
artifact (e.g. the CPU target's) on the same prompt and requires the same
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmc", default="llmc")
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-len", type=int, required=True)
    ap.add_argument("--decode", type=int, default=0)
    ap.add_argument("--poison", action="store_true")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--oracle", choices=["reference", "llamacpp"], default="reference")
    ap.add_argument("--oracle-arg", action="append", default=[])
    ap.add_argument("--llmc-arg", action="append", default=[])
    ap.add_argument("--same-as")
    ap.add_argument("--same-as-arg", action="append", default=[])
    args = ap.parse_args()

    rng = random.Random(args.seed)
    prompt = [1] + [rng.randrange(3, args.vocab) for _ in range(args.prompt_len - 1)]
    tokens = ",".join(map(str, prompt))
    with tempfile.TemporaryDirectory() as tmp:
        ours_path = os.path.join(tmp, "llmc.bin")
        ref_path = os.path.join(tmp, "ref.bin")
        cmd = [args.llmc, "run", args.artifact, "--tokens", tokens, "-n",
               str(args.decode), "--json", "--dump-logits", ours_path,
               "--ignore-eos"] + args.llmc_arg
        if args.poison:
            cmd.append("--poison")
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                         text=True).stdout)
        if args.oracle == "reference":
            ref_cmd = ["/usr/bin/python3", REFERENCE, args.model, "--tokens", tokens,
                       "-n", str(args.decode), "--json", "--dump-logits", ref_path]
            ref = json.loads(subprocess.run(ref_cmd + args.oracle_arg, check=True,
                                            capture_output=True, text=True).stdout)
        else:
            subprocess.run(["node", LLAMACPP, "logits", args.model, "--tokens", tokens,
                            "--out", ref_path] + args.oracle_arg,
                           check=True, capture_output=True, text=True)
            ref = {"generated": [], "margins": []}
            if args.decode:
                ref = json.loads(subprocess.run(
                    ["node", LLAMACPP, "greedy", args.model, "--tokens", tokens,
                     "-n", str(args.decode)] + args.oracle_arg,
                    check=True, capture_output=True, text=True).stdout)
        a = np.fromfile(ours_path, dtype="<f4")
        b = np.fromfile(ref_path, dtype="<f4")
        other = None
        if args.same_as:
            other = json.loads(subprocess.run(
                [args.llmc, "run", args.same_as, "--tokens", tokens, "-n",
                 str(args.decode), "--json", "--ignore-eos"] + args.same_as_arg,
                check=True, capture_output=True, text=True).stdout)

    ok = True
    if a.size != b.size or a.size != len(prompt) * (a.size // len(prompt)):
        print(f"FAIL: logit dumps differ in size: {a.size} vs {b.size}")
        sys.exit(1)
    vocab = a.size // len(prompt)
    a = a.reshape(len(prompt), vocab)
    b = b.reshape(len(prompt), vocab)
    diff = float(np.max(np.abs(a.astype(np.float64) - b)))
    scale = float(np.max(np.abs(b)))
    nan = bool(np.isnan(a).any())
    print(f"{args.oracle}: prompt {len(prompt)} tokens: max |logit diff| {diff:.3g} "
          f"(atol {args.atol:g}, largest |logit| {scale:.3g})")
    if nan or not diff <= args.atol:
        print("FAIL: logits differ beyond the tolerance" + (" (NaN)" if nan else ""))
        ok = False

    # Prompt rows: argmax must agree where the reference is not near a tie.
    top2 = np.sort(b, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > args.margin
    agree = np.argmax(a, axis=1) == np.argmax(b, axis=1)
    print(f"prompt argmax agree on {int(np.sum(agree & clear))}/{int(np.sum(clear))} "
          f"rows with a margin above {args.margin}")
    if not np.all(agree[clear]):
        print("FAIL: argmax differs on a clear row")
        ok = False

    gen_ours, gen_ref, margins = ours["generated_tokens"], ref["generated"], ref["margins"]
    checked = 0
    for i, (x, y) in enumerate(zip(gen_ours, gen_ref)):
        if margins[i] <= args.margin:
            break  # a near-tie: both continuations are right
        if x != y:
            print(f"FAIL: greedy token {i}: llmc {x}, reference {y} (margin {margins[i]:.3f})")
            ok = False
            break
        checked += 1
    print(f"greedy decode: {checked}/{len(gen_ref)} tokens equal before any near-tie")
    if other is not None:
        gen_other = other["generated_tokens"]
        same = 0
        for i, (x, y) in enumerate(zip(gen_ours, gen_other)):
            if i >= len(margins) or margins[i] <= args.margin:
                break
            if x != y:
                print(f"FAIL: greedy token {i}: llmc {x}, {args.same_as} {y}")
                ok = False
                break
            same += 1
        print(f"same as {os.path.basename(args.same_as)} ({other.get('device', '?')}): "
              f"{same}/{len(gen_other)} greedy tokens before any near-tie")
    if args.decode and gen_ref and checked == 0 and margins and margins[0] > args.margin:
        ok = False
    if args.decode and len(gen_ours) != args.decode:
        print(f"FAIL: llmc generated {len(gen_ours)} tokens, expected {args.decode}")
        ok = False
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
