# The check as it was before issue 12: `import importlib` alone does not make
# importlib.util available; it worked only where something else had imported it.
import importlib, sys
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
print("missing:", missing)
