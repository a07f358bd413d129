#!/usr/bin/python3
"""llmc against llama.cpp on the same GGUF file, side by side in one run.

    bench/compare.py [--preset tinyllama] [--type q4_0] [--prompt-len 128]
                     [--gen 128] [--reps 3] [--threads 2] [--work build/bench]
                     [--llmc build/bin/llmc] [--json OUT.json]

Writes a model with tools/gen-model (the TinyLlama-1.1B shape by default,
random weights, GGUF in the given type; kept in --work for the next run),
compiles it with `llmc compile` for this CPU, then alternates llama.cpp
(bench/llamacpp/oracle.mjs bench: node-llama-cpp 3.22.1's prebuilt CPU
build) and `llmc bench`, --reps times each, on the same threads. Each
figure is the median over the repetitions; ratios are llmc / llama.cpp.
`llmc bench` also measures the read bandwidth (a vector sum over 1 GiB on
the same threads) and reports decode as a fraction of the roofline
(bytes per token = the weights in their GGUF format + the KV cache read).

Performance is measured here, never in tests: the machine is shared, so run
it when it is otherwise idle and read the ratios, which are measured in the
same minutes.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tinyllama")
    ap.add_argument("--type", default="q4_0", choices=["f16", "q8_0", "q4_0", "q4_k_m"])
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--llmc", default=os.path.join(ROOT, "build", "bin", "llmc"))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    gguf = os.path.join(args.work, "%s-%s.gguf" % (args.preset, args.type))
    if not os.path.exists(gguf):
        print("writing %s" % gguf, flush=True)
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gen-model", "gen_model.py"),
                        "--preset", args.preset, "--seed", "1", "--format", "gguf",
                        "--gguf-type", args.type, "--out", gguf + ".tmp"], check=True)
        os.replace(gguf + ".tmp", gguf)
    artifact = os.path.join(args.work, "%s-%s.llmc" % (args.preset, args.type))
    t0 = time.time()
    subprocess.run([args.llmc, "compile", gguf, "--target", "cpu", "-o", artifact],
                   check=True, stdout=subprocess.DEVNULL)
    compile_s = time.time() - t0

    oracle = ["node", os.path.join(ROOT, "bench", "llamacpp", "oracle.mjs"), "bench", gguf,
              "--prompt-len", str(args.prompt_len), "--gen", str(args.gen),
              "--threads", str(args.threads)]
    ours = [args.llmc, "bench", artifact, "--prompt-len", str(args.prompt_len),
            "--gen", str(args.gen), "--reps", "1", "--threads", str(args.threads), "--json"]
    peer, mine = [], []
    for r in range(args.reps):
        print("repetition %d/%d" % (r + 1, args.reps), flush=True)
        peer.append(run_json(oracle))
        mine.append(run_json(ours))

    def med(runs, key):
        return statistics.median(run[key] for run in runs)

    result = {
        "model": os.path.basename(gguf), "threads": args.threads,
        "prompt_len": args.prompt_len, "gen": args.gen, "reps": args.reps,
        "compile_s": compile_s,
        "llamacpp": {"prefill_tok_s": med(peer, "prefill_tok_s"),
                     "decode_tok_s": med(peer, "decode_tok_s")},
        "llmc": {"prefill_tok_s": med(mine, "prefill_tok_s"),
                 "decode_tok_s": med(mine, "decode_tok_s"),
                 "decode_roofline_fraction": med(mine, "decode_roofline_fraction"),
                 "bandwidth_gb_s": med(mine, "bandwidth_gb_s"),
                 "bytes_per_token": mine[0]["bytes_per_token"],
                 "peak_rss_mib": max(run["peak_rss_mib"] for run in mine)},
    }
    roofline = result["llmc"]["bandwidth_gb_s"] * 1e9 / result["llmc"]["bytes_per_token"]
    result["ratio"] = {k: result["llmc"][k] / result["llamacpp"][k]
                       for k in ("prefill_tok_s", "decode_tok_s")}

    print()
    print("%s, %d threads, prompt %d, decode %d, median of %d; llmc compile %.1f s" %
          (result["model"], args.threads, args.prompt_len, args.gen, args.reps, compile_s))
    print("bandwidth %.1f GB/s (measured by llmc bench), %.1f MB read per decoded token: "
          "roofline %.1f tok/s" % (result["llmc"]["bandwidth_gb_s"],
                                   result["llmc"]["bytes_per_token"] / 1e6, roofline))
    # Only llmc's roofline fraction is printed: its bytes per token are
    # llmc's reads (f32 KV cache, K-quants counted as the q8_0 they become),
    # not llama.cpp's.
    print("%-10s %14s %14s %10s" % ("", "prefill tok/s", "decode tok/s", "roofline"))
    r = result["llamacpp"]
    print("%-10s %14.1f %14.2f" % ("llamacpp", r["prefill_tok_s"], r["decode_tok_s"]))
    r = result["llmc"]
    print("%-10s %14.1f %14.2f %9.0f%%" % ("llmc", r["prefill_tok_s"], r["decode_tok_s"],
                                          100 * r["decode_roofline_fraction"]))
    print("%-10s %13.2fx %13.2fx" % ("llmc/llama", result["ratio"]["prefill_tok_s"],
                                      result["ratio"]["decode_tok_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
