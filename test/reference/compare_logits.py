#!/usr/bin/python3
"""Compare two raw float32 logit dumps ([rows x vocab], little endian, as
written by reference.py --dump-logits and oracle.mjs logits).

  compare_logits.py A B --vocab V [--atol X] [--rtol Y] [--margin M] [--last]
                    [--quantile Q] [--json]
  compare_logits.py --greedy A.json B.json [--margin M] [--min-agree K]

Prints the maximum absolute difference, the maximum relative difference (a
row's max |A-B| divided by the range max-min of B's row), and the argmax
agreement over the rows whose top-1 minus top-2 margin in B exceeds M.
Exits 1 when max abs > atol, max rel > rtol, or a clear row's argmax differs;
2 on bad input. --last compares only the last row of each file (e.g. a
prompt dump against a last-position-only dump). --quantile Q judges the
Q-quantile (0..1) of the rows' max differences instead of the worst row
(e.g. 0.5: the median row), for comparisons where rare rows legitimately
jump (rounding flips in quantized activations).

--greedy compares two greedy runs, JSON objects with "generated" and
"margins" (reference.py --json, oracle.mjs greedy): the tokens must agree
up to and including the first step whose margin in B is <= M (after a
near-tie the two may legitimately diverge). Exit 1 on a disagreement at a
clear step, or when fewer than K leading tokens were checked and agree.
"""
import argparse
import json
import os
import sys

import numpy as np


def load(path, vocab):
    n = os.path.getsize(path)
    if n % (4 * vocab):
        print("compare_logits: %s: %d bytes is not a whole number of rows of %d float32" % (path, n, vocab),
              file=sys.stderr)
        sys.exit(2)
    return np.fromfile(path, dtype="<f4").reshape(-1, vocab).astype(np.float64)


def greedy(args):
    with open(args.a) as f:
        a = json.load(f)
    with open(args.b) as f:
        b = json.load(f)
    ga, gb, mb = a["generated"], b["generated"], b["margins"]
    n = min(len(ga), len(gb))
    checked = 0
    for i in range(n):
        checked += 1
        if ga[i] != gb[i]:
            if mb[i] > args.margin:
                print("greedy: step %d differs: %d vs %d (margin in B %.4f > %g); A %s B %s" % (
                    i, ga[i], gb[i], mb[i], args.margin, ga, gb))
                sys.exit(1)
            break
        if mb[i] <= args.margin:
            break
    agree = 0
    while agree < n and ga[agree] == gb[agree]:
        agree += 1
    ok = min(agree, checked) >= args.min_agree
    print("greedy: %d/%d tokens agree; %d steps checked (stops after the first margin <= %g) -> %s" % (
        agree, n, checked, args.margin, "OK" if ok else "FAIL (fewer than %d checked)" % args.min_agree))
    sys.exit(0 if ok else 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--greedy", action="store_true")
    ap.add_argument("--min-agree", type=int, default=1)
    ap.add_argument("--quantile", type=float)
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--margin", type=float, default=0.5)
    ap.add_argument("--last", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.greedy:
        greedy(args)
    if not args.vocab:
        ap.error("--vocab is required")
    A, B = load(args.a, args.vocab), load(args.b, args.vocab)
    if args.last:
        A, B = A[-1:], B[-1:]
    if A.shape != B.shape:
        print("compare_logits: row counts differ: %d vs %d" % (A.shape[0], B.shape[0]), file=sys.stderr)
        sys.exit(2)
    if A.shape[0] == 0:
        print("compare_logits: empty dumps", file=sys.stderr)
        sys.exit(2)
    finite = np.isfinite(A) & np.isfinite(B)
    if not finite.all():
        print("compare_logits: non-finite values in %d entries" % (~finite).sum(), file=sys.stderr)
        sys.exit(1)
    d = np.abs(A - B)
    abs_rows = d.max(axis=1)
    rng = B.max(axis=1) - B.min(axis=1)
    rel_rows = abs_rows / np.maximum(rng, 1e-30)
    if args.quantile is None:
        max_abs, max_rel = float(abs_rows.max()), float(rel_rows.max())
    else:
        max_abs = float(np.quantile(abs_rows, args.quantile))
        max_rel = float(np.quantile(rel_rows, args.quantile))
    top2 = np.sort(B, axis=1)[:, -2:]
    margins = top2[:, 1] - top2[:, 0]
    clear = margins > args.margin
    agree = np.argmax(A, axis=1) == np.argmax(B, axis=1)
    n_clear = int(clear.sum())
    n_agree = int((agree & clear).sum())
    ok = max_abs <= args.atol and max_rel <= args.rtol and n_agree == n_clear
    res = {"rows": int(A.shape[0]), "quantile": args.quantile, "max_abs": max_abs, "max_rel": max_rel,
           "argmax_agree_clear": n_agree, "clear_rows": n_clear,
           "argmax_agree_all": int(agree.sum()), "ok": ok}
    if args.json:
        print(json.dumps(res))
    else:
        what = "" if args.quantile is None else " (quantile %g of rows)" % args.quantile
        print("rows %d%s  max abs diff %.3g (atol %g)  max rel diff %.3g (rtol %g)  argmax agree %d/%d clear rows"
              " (margin > %g), %d/%d all rows  -> %s" % (
                  A.shape[0], what, max_abs, args.atol, max_rel, args.rtol, n_agree, n_clear, args.margin,
                  int(agree.sum()), A.shape[0], "OK" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
