"""Runs a Python script as a fresh machine's /usr/bin/python3 would: this file
is started with `python3 -I -S` (no site, no .pth files, no user packages), so
nothing has been imported for the script; only Debian's dist-packages are put
on the path. Fails if the interpreter is not bare after all.

  python3 -I -S bare_python.py SCRIPT ARG...
"""
import sys

preloaded = [m for m in ("importlib.util", "site") if m in sys.modules]
if preloaded:
    sys.exit("bare_python: not a bare interpreter, already imported: " + ", ".join(preloaded))
sys.path.append("/usr/lib/python3/dist-packages")
script = sys.argv[1]
sys.argv = sys.argv[1:]
with open(script, encoding="utf-8") as f:
    code = compile(f.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
