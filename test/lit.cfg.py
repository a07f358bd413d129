# lit configuration for llmc. Run through scripts/test.sh, or:
#   /usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py build/test
import os
import lit.formats

config.name = "llmc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test", ".py.test"]
config.excludes = ["unit", "reference", "fuzz", "lit.cfg.py", "lit.site.cfg.py.in",
                   "CMakeLists.txt", "Inputs", "README.md"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_binary_dir, "test")

# FileCheck variables are scoped to one CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope --dump-input=fail"
for var in ["HOME", "TMPDIR", "CI", "LLMC_SLOW_TESTS", "VK_ICD_FILENAMES", "VK_DRIVER_FILES"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

# llmc's tools first, then the system, then LLVM's (FileCheck, not, count).
config.environment["PATH"] = os.pathsep.join(
    [config.llmc_tools_dir, os.environ.get("PATH", ""), config.llvm_tools_dir])

config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%llmc_src", config.llmc_source_dir))
config.substitutions.append(("%gen_model", config.python_executable + " " +
                             os.path.join(config.llmc_source_dir, "tools", "gen-model", "gen_model.py")))
config.substitutions.append(("%reference", config.python_executable + " " +
                             os.path.join(config.llmc_source_dir, "test", "reference", "reference.py")))

if config.llmc_have_compiler:
    config.available_features.add("compiler")
if os.environ.get("CI") == "true":
    config.available_features.add("ci")

# llama.cpp (node-llama-cpp from npm) as an oracle: scripts/setup.sh installs
# it where Node is 20 or newer. Under CI=true a missing oracle fails the run.
_in_ci = os.environ.get("CI") == "true"
if os.path.isdir(os.path.join(config.llmc_source_dir, "bench", "llamacpp", "node_modules", "node-llama-cpp")):
    config.available_features.add("llamacpp")
elif _in_ci:
    lit_config.fatal("CI=true requires node-llama-cpp in bench/llamacpp (scripts/setup.sh; Node 20 or newer)")
else:
    lit_config.note("skipping the tests that need llama.cpp through npm (feature 'llamacpp'): "
                    "node-llama-cpp is not installed (it needs Node 20 or newer)")

# llama.cpp built natively from ../shared/anchor (scripts/setup.sh writes where
# to .cache/llamacpp-native.env): llama-quantize makes test models in llama.cpp's
# own formats and gguf-py dequantizes them for the reference.
def _llamacpp_native():
    env = {}
    path = os.path.join(config.llmc_source_dir, ".cache", "llamacpp-native.env")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    quantize = os.path.join(env.get("LLAMACPP_BIN", ""), "llama-quantize")
    gguf_py = env.get("LLAMACPP_GGUF_PY", "")
    if not os.access(quantize, os.X_OK) or not os.path.isdir(os.path.join(gguf_py, "gguf")):
        return None
    return env
_native = _llamacpp_native()
if _native:
    config.available_features.add("llamacpp-native")
    config.substitutions.append(("%llamacpp_bin", _native["LLAMACPP_BIN"]))
    config.substitutions.append(("%gguf_py", _native["LLAMACPP_GGUF_PY"]))
elif _in_ci:
    lit_config.fatal("CI=true requires llama.cpp built from ../shared/anchor (scripts/setup.sh)")
else:
    lit_config.note("skipping the tests that need llama-quantize and gguf-py (feature "
                    "'llamacpp-native'): scripts/setup.sh has not built llama.cpp from ../shared/anchor")
config.substitutions.append(("%llamacpp", "node " + os.path.join(config.llmc_source_dir, "bench", "llamacpp", "oracle.mjs")))

# An NVIDIA GPU with its driver (`nvidia-smi -L` lists one): the CUDA device
# can run; tests of its no-GPU errors are then unsupported.
def _has_nvidia_gpu():
    import shutil
    import subprocess
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU " in out.stdout
if _has_nvidia_gpu():
    config.available_features.add("cuda-gpu")

# A Vulkan device (`vulkaninfo --summary` lists one; lavapipe in CI): the
# Vulkan device tests run. Under CI=true a missing device fails the run.
def _vulkan_devices():
    import shutil
    import subprocess
    tool = shutil.which("vulkaninfo")
    if not tool:
        return "vulkaninfo not found (Debian package vulkan-tools)"
    try:
        out = subprocess.run([tool, "--summary"], capture_output=True, text=True,
                             timeout=60, env=dict(os.environ))
    except (OSError, subprocess.SubprocessError) as e:
        return "vulkaninfo failed: %s" % e
    if out.returncode != 0 or "deviceName" not in out.stdout:
        return "vulkaninfo --summary lists no device (install mesa-vulkan-drivers for lavapipe)"
    return None
_vulkan_missing = _vulkan_devices()
if _vulkan_missing is None:
    config.available_features.add("vulkan")
elif os.environ.get("CI") == "true":
    lit_config.fatal("CI=true requires a Vulkan device (lavapipe): " + _vulkan_missing)
else:
    lit_config.note("skipping the tests that need Vulkan (feature 'vulkan'): " + _vulkan_missing)

# ptxas from the CUDA toolkit: every PTX module of a compiled model is
# assembled by it (llmc compile --require-ptxas). Under CI=true it must exist.
def _find_ptxas():
    import shutil
    for var in ["CUDA_HOME", "CUDA_PATH"]:
        if os.environ.get(var):
            candidate = os.path.join(os.environ[var], "bin", "ptxas")
            if os.access(candidate, os.X_OK):
                return candidate
    if os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
        return "/usr/local/cuda/bin/ptxas"
    return shutil.which("ptxas")
_ptxas = _find_ptxas()
if _ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", _ptxas))
elif os.environ.get("CI") == "true":
    lit_config.fatal("CI=true requires ptxas (the CUDA toolkit at /usr/local/cuda or CUDA_HOME)")
else:
    lit_config.note("skipping the tests that need ptxas (feature 'ptxas'): no CUDA toolkit")
for var in ["CUDA_HOME", "CUDA_PATH"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
