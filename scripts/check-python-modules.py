#!/usr/bin/python3
"""Checks that /usr/bin/python3 can import the modules the tests use, as a
fresh machine's interpreter would: run it isolated (python3 -I), and import
every submodule this script calls explicitly (a bare interpreter has not
imported importlib.util for us). Prints one line naming what is missing and
the Debian packages to install, and exits 1.

  check-python-modules.py MODULE...
"""
import importlib.util
import sys

DEBIAN_PACKAGE = {"numpy": "python3-numpy", "jinja2": "python3-jinja2",
                  "sentencepiece": "python3-sentencepiece", "yaml": "python3-yaml"}


def main(modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        packages = " ".join(DEBIAN_PACKAGE.get(m, "?") for m in missing)
        sys.exit("setup: %s cannot import: %s (apt-get install %s)"
                 % (sys.executable, ", ".join(missing), packages))
    print("setup: %s imports %s" % (sys.executable, ", ".join(modules)))


if __name__ == "__main__":
    main(sys.argv[1:])
