#!/usr/bin/python3
"""Runs a command on each file and fails (listing them) if any run fails:

  each.py 'spirv-val --target-env vulkan1.1 {}' FILE...

Prints how many files were checked, so a test sees that the glob matched.
"""
import shlex
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: each.py 'COMMAND {}' FILE...")
    template, files = sys.argv[1], sys.argv[2:]
    failed = []
    for f in files:
        cmd = [arg.replace("{}", f) for arg in shlex.split(template)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(f)
            sys.stderr.write(f"{f}: {run.stdout}{run.stderr}\n")
    print(f"checked {len(files)} files, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
