#!/usr/bin/python3
"""llmc and llama.cpp on GGUF files quantized by llama.cpp's own
llama-quantize, measured against the f32 model they were made from.

For each seed: tools/gen-model writes an f32 GGUF of the given preset;
llama-quantize (llama.cpp built natively from ../shared/anchor) writes each
type; llmc compiles and runs each file, llama.cpp (node-llama-cpp, f32 KV cache
so that only the weights' quantization differs) evaluates it, and the float64
numpy reference gives the f32 model's logits (the truth) and, on weights
dequantized by llama.cpp's gguf-py, the exact logits of each quantized file.
Nothing in the chain from the f32 file to the quantized file and its
dequantized weights is llmc's.

Prints one row per (type, seed): rms error, max error and argmax agreement
against the f32 model, for llmc and for llama.cpp, and llmc's distance to the
exact logits of the quantized file. Then, per type, the bounds:
  - llmc's rms error averaged over the seeds <= --rms-ratio x llama.cpp's;
  - llmc's max error on every seed <= --max-ratio x llama.cpp's on that seed;
  - llmc's argmax agreement on every seed >= llama.cpp's - 1, counted on the
    rows where the quantized file's exact logits keep the f32 model's argmax
    (where the file itself moves it, following the file is not an error).

  llamacpp_quants.py --llama-bin DIR --gguf-py DIR --work DIR
                     [--types Q8_0,Q4_0,Q4_K_M,Q6_K] [--seeds 1,2,3,4,5]
                     [--preset small] [--prompt-len 64] [--markdown]
"""
import argparse
import os
import random
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..")
GEN_MODEL = os.path.join(SRC, "tools", "gen-model", "gen_model.py")
REFERENCE = os.path.join(SRC, "test", "reference", "reference.py")
LLAMACPP = os.path.join(SRC, "bench", "llamacpp", "oracle.mjs")
PY = "/usr/bin/python3"


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("llamacpp_quants: %s failed (exit %d):\n%s" % (" ".join(cmd), r.returncode,
                                                               (r.stderr or r.stdout)[-2000:]))
    return r.stdout


def logits(path, rows):
    x = np.fromfile(path, dtype="<f4").astype(np.float64)
    return x.reshape(rows, -1)


def errors(x, truth, kept=None):
    """rms and max error against `truth`, and on how many of the rows where
    the quantized file's own exact logits keep the f32 model's argmax (`kept`)
    x keeps it too."""
    d = x - truth
    same = np.argmax(x, axis=1) == np.argmax(truth, axis=1)
    return {"rms": float(np.sqrt(np.mean(d * d))), "max": float(np.max(np.abs(d))),
            "agree": int(np.sum(same & kept)) if kept is not None else int(np.sum(same))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-bin", required=True, help="folder with llama-quantize")
    ap.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py folder")
    ap.add_argument("--work", required=True)
    ap.add_argument("--llmc", default="llmc")
    ap.add_argument("--types", default="Q8_0,Q4_0,Q4_K_M,Q6_K")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--rms-ratio", type=float, default=1.05)
    ap.add_argument("--max-ratio", type=float, default=1.25)
    ap.add_argument("--relax", action="append", default=[], metavar="TYPE:MAX_RATIO:AGREE_GAP",
                    help="a known gap for one type (its cause named where the bound is set): "
                         "the max-error ratio and agreement gap it is held to instead")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()
    types = args.types.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.work, exist_ok=True)
    quantize = os.path.join(args.llama_bin, "llama-quantize")

    rows = {}  # (type, seed) -> {"llmc": errors, "llamacpp": errors, "exact": rms}
    for seed in seeds:
        f32 = os.path.join(args.work, "s%d-f32.gguf" % seed)
        sh([PY, GEN_MODEL, "--preset", args.preset, "--seed", str(seed), "--format", "gguf",
            "--gguf-type", "f32", "--quiet", "--out", f32])
        rng = random.Random(100 + seed)
        vocab = int(sh([PY, "-c", "import sys; sys.path.insert(0, %r); import model_gen; "
                        "print(model_gen.PRESETS[%r]['vocab'])"
                        % (os.path.join(SRC, "tools", "gen-model"), args.preset)]))
        prompt = [1] + [rng.randrange(3, vocab) for _ in range(args.prompt_len - 1)]
        ids = ",".join(map(str, prompt))
        n = len(prompt)
        truth_path = os.path.join(args.work, "s%d-f32.ref.bin" % seed)
        sh([PY, REFERENCE, f32, "--tokens", ids, "--dump-logits", truth_path])
        truth = logits(truth_path, n)
        for t in types:
            q = os.path.join(args.work, "s%d-%s.gguf" % (seed, t))
            sh([quantize, f32, q, t])
            base = q[:-len(".gguf")]
            sh([PY, REFERENCE, q, "--gguf-py", args.gguf_py, "--tokens", ids,
                "--dump-logits", base + ".exact.bin"])
            sh([args.llmc, "compile", q, "-o", base + ".llmc"])
            sh([args.llmc, "run", base + ".llmc", "--tokens", ids, "-n", "0",
                "--dump-logits", base + ".llmc.bin"])
            sh(["node", LLAMACPP, "logits", q, "--tokens", ids, "--kv-type", "f32",
                "--out", base + ".llamacpp.bin"])
            ours, theirs = logits(base + ".llmc.bin", n), logits(base + ".llamacpp.bin", n)
            exact = logits(base + ".exact.bin", n)
            kept = np.argmax(exact, axis=1) == np.argmax(truth, axis=1)
            rows[(t, seed)] = {"llmc": errors(ours, truth, kept),
                               "llamacpp": errors(theirs, truth, kept), "kept": int(kept.sum()),
                               "exact_llmc": errors(ours, exact)["rms"],
                               "exact_llamacpp": errors(theirs, exact)["rms"],
                               "exact_truth": errors(exact, truth)["rms"]}

    if args.markdown:
        print("| type | seed | llmc rms | llama.cpp rms | llmc max | llama.cpp max | llmc agree | "
              "llama.cpp agree | exact rms | llmc vs exact | llama.cpp vs exact |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    else:
        print("%-7s %4s | %9s %9s | %8s %8s | %5s %5s | %9s %9s %9s" % (
            "type", "seed", "llmc rms", "llama rms", "llmc max", "llama max", "llmc", "llama",
            "exact rms", "llmc-ex", "llama-ex"))
    for (t, seed), r in rows.items():
        a, b = r["llmc"], r["llamacpp"]
        cells = (t, seed, a["rms"], b["rms"], a["max"], b["max"], a["agree"], b["agree"],
                 r["exact_truth"], r["exact_llmc"], r["exact_llamacpp"])
        if args.markdown:
            print("| %s | %d | %.4f | %.4f | %.3f | %.3f | %d/%d | %d/%d | %.4f | %.4f | %.4f |" % (
                cells[:6] + (a["agree"], r["kept"], b["agree"], r["kept"]) + cells[8:]))
        else:
            print("%-7s %4d | %9.4f %9.4f | %8.3f %8.3f | %5d %5d | %9.4f %9.4f %9.4f" % cells)
    print("(errors against the f32 model's logits over %d positions; agree: the f32 model's argmax "
          "kept, counted on the rows where the file's exact logits keep it (elsewhere the file itself "
          "moved it); exact: the float64 reference on gguf-py's dequantized weights)" % args.prompt_len)

    relaxed = {}
    for r in args.relax:
        name, max_ratio, gap = r.split(":")
        relaxed[name] = (float(max_ratio), int(gap))
    ok = True
    for t in types:
        max_bound, gap_bound = relaxed.get(t, (args.max_ratio, -1))
        mine = [rows[(t, s)]["llmc"] for s in seeds]
        peer = [rows[(t, s)]["llamacpp"] for s in seeds]
        rms_ratio = np.mean([m["rms"] for m in mine]) / np.mean([p["rms"] for p in peer])
        max_ratio = max(m["max"] / p["max"] for m, p in zip(mine, peer))
        agree_gap = min(m["agree"] - p["agree"] for m, p in zip(mine, peer))
        good = rms_ratio <= args.rms_ratio and max_ratio <= max_bound and agree_gap >= gap_bound
        print("%s: mean rms llmc/llama.cpp %.3f (bound %.2f); worst max ratio %.3f (bound %.2f); "
              "agreement llmc - llama.cpp >= %d (bound %d)%s: %s" % (
                  t, rms_ratio, args.rms_ratio, max_ratio, max_bound, agree_gap, gap_bound,
                  " [relaxed]" if t in relaxed else "", "ok" if good else "FAIL"))
        ok = ok and good
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
