#!/usr/bin/python3
"""Compares perplexities (JSON objects with "perplexity" (or "ppl") and
"tokens_scored", as `llmc perplexity --json` and `oracle.mjs perplexity`
print them) against
bounds on the relative increase over a reference.

    check_perplexity.py REF.json NAME=FILE.json:MAX_PERCENT [...]

MAX_PERCENT bounds |ppl / ref - 1| x 100 when prefixed with "~" (closeness of
two implementations), else ppl / ref - 1 (a loss; getting better is fine).
Both runs must have scored the same number of tokens. Prints a table; exits 1
when a bound is exceeded.
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().strip().splitlines()[-1]
    run = json.loads(text)
    if "perplexity" not in run and "ppl" in run:  # oracle.mjs's name
        run["perplexity"] = run["ppl"]
    return run


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ref = load(sys.argv[1])
    print("%-22s perplexity %.4f over %d tokens" %
          ("reference", ref["perplexity"], ref["tokens_scored"]))
    failures = 0
    for spec in sys.argv[2:]:
        name, rest = spec.split("=", 1)
        path, bound = rest.rsplit(":", 1)
        two_sided = bound.startswith("~")
        limit = float(bound.lstrip("~"))
        run = load(path)
        change = (run["perplexity"] / ref["perplexity"] - 1) * 100
        measure = abs(change) if two_sided else change
        ok = measure <= limit and run["tokens_scored"] == ref["tokens_scored"]
        failures += not ok
        print("%s %-17s perplexity %.4f (%+.3f%%, bound %s%.2f%%) over %d tokens" %
              ("OK  " if ok else "FAIL", name, run["perplexity"], change,
               "+-" if two_sided else "+", limit, run["tokens_scored"]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
