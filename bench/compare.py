#!/usr/bin/python3
"""llmc against llama.cpp on the same GGUF file, side by side in one run.

    bench/compare.py [--preset tinyllama] [--type q4_0] [--prompt-len 128]
                     [--gen 64] [--reps 5] [--threads 2] [--work build/bench]
                     [--llmc build/bin/llmc] [--llamacpp-bin DIR] [--no-native]
                     [--no-node] [--json OUT.json]

Writes a model with tools/gen-model (the TinyLlama-1.1B shape by default,
random weights, GGUF in the given type; kept in --work for the next run),
compiles it with `llmc compile` for this CPU, then alternates the peers,
--reps times each, on the same threads:

  - llama.cpp built natively for this machine: `llama-bench` from
    ../shared/anchor/build-llamacpp.sh (commit c392e50, GGML_NATIVE=ON, i.e.
    -march=native), or any llama.cpp binary folder given with --llamacpp-bin;
  - llama.cpp through node-llama-cpp (bench/llamacpp/oracle.mjs bench: its
    prebuilt CPU library, the variant it picks for this CPU);
  - `llmc bench`.

Each figure is the median over the repetitions. For each figure the peer is
the faster of the two llama.cpp builds, and the ratio is llmc / that peer.
`llmc bench` also measures the read bandwidth (a vector sum over 1 GiB on the
same threads) and reports decode as a fraction of the roofline (bytes per
token = llmc's reads: the weights as compiled + the KV cache). The CPU model,
the llama.cpp commits and flags and the threads are printed with the table.

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
NODE_PKG = os.path.join(ROOT, "bench", "llamacpp", "node_modules")


def run_json(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_model():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def native_bin(given):
    """The folder holding llama-bench: --llamacpp-bin, what scripts/setup.sh
    recorded, or the anchor's build (built on first use)."""
    if given:
        return given
    env = os.path.join(ROOT, ".cache", "llamacpp-native.env")
    if os.path.exists(env):
        with open(env, encoding="utf-8") as f:
            for line in f:
                if line.startswith("LLAMACPP_BIN="):
                    return line.strip().split("=", 1)[1]
    anchor = os.path.join(ROOT, "..", "shared", "anchor", "build-llamacpp.sh")
    if os.access(anchor, os.X_OK):
        return subprocess.run([anchor], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return None


def native_build(bindir, record):
    """The commit and flags of a llama.cpp build folder (.../build/bin)."""
    commit = record.get("build_commit", "unknown")
    if commit == "unknown":  # the anchor's tarball is not a git checkout
        import re
        m = re.search(r"/([0-9a-f]{7})-[0-9a-f]{8}/", bindir)
        commit = m.group(1) if m else commit
    flags = []
    cache = os.path.join(bindir, "..", "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            for line in f:
                for key in ("GGML_NATIVE:", "CMAKE_BUILD_TYPE:", "GGML_AVX512:", "BUILD_SHARED_LIBS:"):
                    if line.startswith(key):
                        flags.append(line.strip().replace(":BOOL", "").replace(":STRING", ""))
    return "llama.cpp %s built natively (%s; backends %s)" % (
        commit, ", ".join(flags) or "flags unknown", record.get("backends", "CPU"))


def llama_bench(binary, gguf, args):
    """One repetition of native llama-bench: prefill and decode tok/s."""
    out = subprocess.run([binary, "-m", gguf, "-t", str(args.threads), "-p", str(args.prompt_len),
                          "-n", str(args.gen), "-r", "1", "-o", "json"],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = json.loads(out.stdout)
    pp = [r for r in records if r["n_prompt"] > 0 and r["n_gen"] == 0]
    tg = [r for r in records if r["n_gen"] > 0 and r["n_prompt"] == 0]
    return {"prefill_tok_s": pp[0]["avg_ts"], "decode_tok_s": tg[0]["avg_ts"], "_record": records[0]}


def node_build():
    try:
        with open(os.path.join(NODE_PKG, "node-llama-cpp", "package.json")) as f:
            version = json.load(f)["version"]
        meta = os.path.join(NODE_PKG, "@node-llama-cpp", "linux-x64", "bins", "linux-x64",
                            "_nlcBuildMetadata.json")
        with open(meta) as f:
            release = json.load(f)["buildOptions"]["llamaCpp"]["release"]
        return "node-llama-cpp %s (prebuilt llama.cpp release %s, CPU variant picked at run time)" % (
            version, release)
    except (OSError, KeyError, ValueError):
        return "node-llama-cpp (version unknown)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tinyllama")
    ap.add_argument("--type", default="q4_0", choices=["f16", "q8_0", "q4_0", "q4_k_m"])
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--llmc", default=os.path.join(ROOT, "build", "bin", "llmc"))
    ap.add_argument("--llamacpp-bin", help="a llama.cpp build's binary folder (llama-bench)")
    ap.add_argument("--no-native", action="store_true", help="skip the native llama-bench")
    ap.add_argument("--no-node", action="store_true", help="skip node-llama-cpp")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.reps < 1:
        sys.exit("compare: --reps must be at least 1")

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

    peers = {}  # name -> (description, command or callable)
    if not args.no_native:
        bindir = native_bin(args.llamacpp_bin)
        binary = os.path.join(bindir, "llama-bench") if bindir else None
        if not binary or not os.access(binary, os.X_OK):
            sys.exit("compare: no native llama-bench (run scripts/setup.sh, give --llamacpp-bin, "
                     "or --no-native)")
        peers["llama-bench"] = lambda: llama_bench(binary, gguf, args)
    if not args.no_node:
        if not os.path.isdir(os.path.join(NODE_PKG, "node-llama-cpp")):
            sys.exit("compare: node-llama-cpp is not installed (scripts/setup.sh, or --no-node)")
        oracle = ["node", os.path.join(ROOT, "bench", "llamacpp", "oracle.mjs"), "bench", gguf,
                  "--prompt-len", str(args.prompt_len), "--gen", str(args.gen),
                  "--threads", str(args.threads)]
        peers["node-llama-cpp"] = lambda: run_json(oracle)
    ours = [args.llmc, "bench", artifact, "--prompt-len", str(args.prompt_len),
            "--gen", str(args.gen), "--reps", "1", "--threads", str(args.threads), "--json"]
    runs = {name: [] for name in list(peers) + ["llmc"]}
    for r in range(args.reps):
        print("repetition %d/%d" % (r + 1, args.reps), flush=True)
        for name, run in peers.items():
            runs[name].append(run())
        runs["llmc"].append(run_json(ours))

    def med(name, key):
        return statistics.median(run[key] for run in runs[name])

    result = {
        "model": os.path.basename(gguf), "threads": args.threads, "cpu": cpu_model(),
        "prompt_len": args.prompt_len, "gen": args.gen, "reps": args.reps,
        "compile_s": compile_s, "peers": {},
    }
    if "llama-bench" in runs:
        rec = runs["llama-bench"][0].pop("_record")
        for run in runs["llama-bench"][1:]:
            run.pop("_record", None)
        result["peers"]["llama-bench"] = {"build": native_build(bindir, rec),
                                          "cpu_info": rec.get("cpu_info")}
    if "node-llama-cpp" in runs:
        result["peers"]["node-llama-cpp"] = {"build": node_build()}
    for name in peers:
        result["peers"][name].update({"prefill_tok_s": med(name, "prefill_tok_s"),
                                      "decode_tok_s": med(name, "decode_tok_s"),
                                      "runs": runs[name]})
    result["llmc"] = {"prefill_tok_s": med("llmc", "prefill_tok_s"),
                      "decode_tok_s": med("llmc", "decode_tok_s"),
                      "decode_roofline_fraction": med("llmc", "decode_roofline_fraction"),
                      "bandwidth_gb_s": med("llmc", "bandwidth_gb_s"),
                      "bytes_per_token": runs["llmc"][0]["bytes_per_token"],
                      "peak_rss_mib": max(run["peak_rss_mib"] for run in runs["llmc"]),
                      "runs": [{k: run[k] for k in ("prefill_tok_s", "decode_tok_s")}
                               for run in runs["llmc"]]}
    result["ratio"], result["faster_peer"] = {}, {}
    for key in ("prefill_tok_s", "decode_tok_s"):
        if peers:
            best = max(peers, key=lambda n: result["peers"][n][key])
            result["faster_peer"][key] = best
            result["ratio"][key] = result["llmc"][key] / result["peers"][best][key]

    roofline = result["llmc"]["bandwidth_gb_s"] * 1e9 / result["llmc"]["bytes_per_token"]
    print()
    print("%s, %d threads, prompt %d, decode %d, median of %d alternating runs; llmc compile %.1f s" %
          (result["model"], args.threads, args.prompt_len, args.gen, args.reps, compile_s))
    print("cpu: %s" % result["cpu"])
    for name, peer in result["peers"].items():
        print("%s: %s" % (name, peer["build"]))
    print("bandwidth %.1f GB/s (measured by llmc bench), %.1f MB read per decoded token: "
          "roofline %.1f tok/s" % (result["llmc"]["bandwidth_gb_s"],
                                   result["llmc"]["bytes_per_token"] / 1e6, roofline))
    # Only llmc's roofline fraction is printed: its bytes per token are
    # llmc's reads (f32 KV cache, K-quants counted as the q8_0 they become),
    # not llama.cpp's.
    print("%-16s %14s %14s %10s" % ("", "prefill tok/s", "decode tok/s", "roofline"))
    for name, peer in result["peers"].items():
        print("%-16s %14.1f %14.2f" % (name, peer["prefill_tok_s"], peer["decode_tok_s"]))
    r = result["llmc"]
    print("%-16s %14.1f %14.2f %9.0f%%" % ("llmc", r["prefill_tok_s"], r["decode_tok_s"],
                                          100 * r["decode_roofline_fraction"]))
    if result["ratio"]:
        print("%-16s %13.2fx %13.2fx   (against the faster peer: %s, %s)" % (
            "llmc/peer", result["ratio"]["prefill_tok_s"], result["ratio"]["decode_tok_s"],
            result["faster_peer"]["prefill_tok_s"], result["faster_peer"]["decode_tok_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
