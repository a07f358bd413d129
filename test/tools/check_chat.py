#!/usr/bin/python3
"""Checks `llmc chat --json` transcripts against jinja2 and against a run
without the KV cache reuse.

    check_chat.py --config MODEL/tokenizer_config.json [--system TEXT]
                  [--fresh FRESH.jsonl --llmc LLMC --artifact OUT] CHAT.jsonl

For every turn of CHAT.jsonl (one JSON object per turn, as `llmc chat --json`
prints them):
  * its prompt is jinja2's rendering, under transformers' settings
    (test/chat/compare_jinja.py), of the conversation so far: the system
    message, the earlier user messages and replies as llmc reported them,
    the new user message, add_generation_prompt=True;
  * turns after the first reuse the KV cache: when the previous prompt is a
    prefix of this one (as with prefix-stable templates), at least the
    previous prompt's tokens come from the cache;
  * with --fresh, the same messages sent with `llmc chat --no-cache` (every
    turn prefilled from scratch, nothing reused) give the same reply tokens.
    Chunked and whole prefills round differently, so a first difference is
    accepted only at a near-tie: `llmc run --dump-logits` on the prompt and
    the common reply prefix must show the two tokens' logits within 1e-3
    (then the later turns, whose prompts differ, are not compared).
Prints one line per turn and exits 1 on any failure.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "chat"))
from compare_jinja import render_jinja  # noqa: E402

NEAR_TIE = 1e-3


def special(config, name):
    value = config.get(name) or ""
    return value.get("content", "") if isinstance(value, dict) else value


def read_turns(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def logits_at(llmc, artifact, ids):
    """The logits after the last of `ids` (llmc run --dump-logits)."""
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "logits.bin")
        subprocess.run([llmc, "run", artifact, "--tokens",
                        ",".join(map(str, ids)), "-n", "0", "--dump-logits",
                        path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        logits = np.fromfile(path, dtype=np.float32)
    return logits.reshape(len(ids), -1)[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--system", default="")
    ap.add_argument("--fresh")
    ap.add_argument("--llmc")
    ap.add_argument("--artifact")
    ap.add_argument("chat")
    args = ap.parse_args()

    with open(args.config, encoding="utf-8") as f:
        config = json.load(f)
    source = config["chat_template"]
    turns = read_turns(args.chat)
    fresh = read_turns(args.fresh) if args.fresh else None
    if fresh is not None and len(fresh) != len(turns):
        sys.exit("FAIL: %d turns with the cache, %d without" %
                 (len(turns), len(fresh)))

    failures = 0
    messages = [{"role": "system", "content": args.system}] if args.system else []
    previous = None
    compare = fresh is not None
    for i, turn in enumerate(turns):
        n = i + 1
        messages.append({"role": "user", "content": turn["user"]})
        expected, error = render_jinja(source, {
            "messages": messages, "add_generation_prompt": True,
            "bos_token": special(config, "bos_token"),
            "eos_token": special(config, "eos_token")})
        problems = []
        if error:
            problems.append("jinja2 failed: " + error)
        elif turn["prompt"] != expected:
            problems.append("prompt differs from jinja2's:\n  llmc:  %r\n"
                            "  jinja: %r" % (turn["prompt"], expected))
        if turn["prompt_tokens"] != len(turn["prompt_ids"]):
            problems.append("prompt_tokens is not the number of prompt_ids")
        if previous is not None and turn["prompt"].startswith(previous["prompt"]) \
                and turn["reused_tokens"] < previous["prompt_tokens"]:
            problems.append("only %d tokens reused, the previous prompt had %d" %
                            (turn["reused_tokens"], previous["prompt_tokens"]))
        note = ""
        if compare:
            other = fresh[i]
            if other["reused_tokens"] != 0:
                problems.append("--no-cache reused %d tokens" %
                                other["reused_tokens"])
            if other["prompt_ids"] != turn["prompt_ids"]:
                problems.append("--no-cache saw another prompt")
            a, b = turn["generated_tokens"], other["generated_tokens"]
            if a != b:
                k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]),
                         None)
                if k is None:
                    problems.append("replies of different lengths: %r vs %r" %
                                    (a, b))
                else:
                    logits = logits_at(args.llmc, args.artifact,
                                       turn["prompt_ids"] + a[:k])
                    gap = abs(float(logits[a[k]]) - float(logits[b[k]]))
                    if gap > NEAR_TIE:
                        problems.append(
                            "reply token %d: %d with the cache, %d without "
                            "(logit gap %.2e, not a near-tie)" % (k, a[k], b[k], gap))
                    else:
                        note = " (near-tie at reply token %d, gap %.1e; later " \
                               "turns not compared)" % (k, gap)
                        compare = False
            else:
                note = " (same %d reply tokens without the cache)" % len(a)
        if problems:
            failures += 1
            print("FAIL turn %d: %s" % (n, "; ".join(problems)))
        else:
            print("OK   turn %d: prompt %d tokens, %d from the cache%s" %
                  (n, turn["prompt_tokens"], turn["reused_tokens"], note))
        messages.append({"role": "assistant", "content": turn["reply"]})
        previous = turn
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
