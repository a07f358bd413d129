//===- CUDAMockDriver.cpp - a fake libcuda for testing the CUDA device on a CPU ----===//
//
// A shared library exporting the driver API entry points the CUDA device
// resolves (same names, same signatures), so CUDATest can run the device's
// load / run / readOutput / graph logic without a GPU:
//  - device memory is host memory (a CUdeviceptr is a host address);
//  - copies and memsets happen at once (or are recorded under capture);
//  - PTX modules are text: cuModuleGetFunction finds ".entry NAME(" and
//    counts its ".param"s; a module containing "mock_invalid" fails to load
//    with a two-line JIT error log;
//  - launches check each binding's memref descriptor (allocated == aligned,
//    offset 0, stride 1) and run a few mock kernels on the host:
//      copy_words(step, src, dst):  dst[i] = src[i], min(sizes) words
//      add_token(step, data):       data[i] += float(int32 at step + 12)
//    any other kernel does nothing; every launch is logged;
//  - stream capture records launches and memsets into a graph; launching the
//    instantiated graph replays them.
// LLMC_MOCK_CUDA_CC ("80"), LLMC_MOCK_CUDA_FREE_MIB and LLMC_MOCK_CUDA_DEVICES
// shape the device. llmc_cuda_mock_* functions let the test read the log.
//
// The same library doubles as a CUDA artifact's model.so: copied into a
// folder next to a program.bin, it exports that file as llmc_program.
//
//===----------------------------------------------------------------------===//

#include "runtime/device/cuda/CUDADriver.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <string>
#include <vector>

using namespace llmc::cuda;

namespace {
struct Function {
  std::string name;
  int params = 0;
};
struct Module {
  std::string ptx;
  std::vector<Function *> functions;
};
struct Op {
  bool launch = true;
  Function *function = nullptr;
  unsigned grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
  std::vector<uint64_t> params;
  CUdeviceptr ptr = 0;
  unsigned char value = 0;
  size_t bytes = 0;
};
struct Graph {
  std::vector<Op> ops;
};
struct Stream {
  Graph *capture = nullptr;
};

std::string log;
int liveAllocations = 0, liveGraphs = 0, liveModules = 0;
std::map<CUdeviceptr, size_t> allocations;

int envInt(const char *name, int fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

void append(const std::string &line) { log += line + "\n"; }

void execute(const Op &op) {
  if (!op.launch) {
    std::memset(reinterpret_cast<void *>(op.ptr), op.value, op.bytes);
    append("memset " + std::to_string(op.bytes) + " " + std::to_string(op.value));
    return;
  }
  std::string line = "launch " + op.function->name + " " + std::to_string(op.grid[0]) +
                     "x" + std::to_string(op.grid[1]) + "x" + std::to_string(op.grid[2]) +
                     " " + std::to_string(op.block[0]) + "x" + std::to_string(op.block[1]) +
                     "x" + std::to_string(op.block[2]) + " sizes";
  size_t bindings = op.params.size() / 5;
  for (size_t b = 0; b < bindings; ++b) {
    const uint64_t *d = &op.params[5 * b];
    line += (b ? "," : "=") + std::to_string(d[3]);
    if (d[0] != d[1] || d[2] != 0 || d[4] != 1 || d[0] == 0)
      line += "(bad descriptor)";
  }
  append(line);
  auto ptr = [&](size_t b) { return reinterpret_cast<uint8_t *>(op.params[5 * b + 1]); };
  auto size = [&](size_t b) { return op.params[5 * b + 3]; };
  if (op.function->name == "copy_words" && bindings == 3) {
    std::memcpy(ptr(2), ptr(1), 4 * std::min(size(1), size(2)));
  } else if (op.function->name == "add_token" && bindings == 2) {
    int32_t token;
    std::memcpy(&token, ptr(0) + 12, 4);
    auto *data = reinterpret_cast<float *>(ptr(1));
    for (uint64_t i = 0; i < size(1); ++i)
      data[i] += static_cast<float>(token);
  }
}
} // namespace

extern "C" {

// --- introspection for the test ---
__attribute__((visibility("default"))) const char *llmc_cuda_mock_log() {
  return log.c_str();
}
__attribute__((visibility("default"))) void llmc_cuda_mock_clear_log() { log.clear(); }
__attribute__((visibility("default"))) int llmc_cuda_mock_live(const char *what) {
  std::string w(what);
  return w == "allocations" ? liveAllocations
         : w == "graphs"    ? liveGraphs
         : w == "modules"   ? liveModules
                            : -1;
}

// --- the program, when this library is a model.so ---
__attribute__((visibility("default"), aligned(16))) uint8_t llmc_program[1 << 20];
__attribute__((visibility("default"))) uint64_t llmc_program_size = 0;

__attribute__((constructor)) static void llmcMockLoadProgram() {
  Dl_info info;
  if (!::dladdr(reinterpret_cast<void *>(&llmc_program_size), &info) || !info.dli_fname)
    return;
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  path = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) +
         "/program.bin";
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return;
  llmc_program_size = std::fread(llmc_program, 1, sizeof llmc_program, f);
  std::fclose(f);
}

#define MOCK __attribute__((visibility("default")))

MOCK CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
MOCK CUresult cuDriverGetVersion(int *v) {
  *v = 13000;
  return CUDA_SUCCESS;
}
MOCK CUresult cuGetErrorName(CUresult r, const char **s) {
  switch (r) {
  case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return CUDA_SUCCESS;
  case 218: *s = "CUDA_ERROR_INVALID_PTX"; return CUDA_SUCCESS;
  case 500: *s = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
  default: return CUDA_ERROR_INVALID_VALUE;
  }
}
MOCK CUresult cuGetErrorString(CUresult r, const char **s) {
  switch (r) {
  case 2: *s = "out of memory"; return CUDA_SUCCESS;
  case 218: *s = "a PTX JIT compilation failed"; return CUDA_SUCCESS;
  case 500: *s = "named symbol not found"; return CUDA_SUCCESS;
  default: return CUDA_ERROR_INVALID_VALUE;
  }
}
MOCK CUresult cuDeviceGetCount(int *n) {
  *n = envInt("LLMC_MOCK_CUDA_DEVICES", 1);
  return CUDA_SUCCESS;
}
MOCK CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  *d = ordinal;
  return CUDA_SUCCESS;
}
MOCK CUresult cuDeviceGetName(char *name, int len, CUdevice) {
  std::snprintf(name, static_cast<size_t>(len), "Mock GPU");
  return CUDA_SUCCESS;
}
MOCK CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice) {
  int cc = envInt("LLMC_MOCK_CUDA_CC", 80);
  switch (a) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = cc / 10; break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = cc % 10; break;
  case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; break;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
  default: *v = 0; break;
  }
  return CUDA_SUCCESS;
}
MOCK CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice) {
  *bytes = 80ull << 30;
  return CUDA_SUCCESS;
}
MOCK CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice) {
  *c = reinterpret_cast<CUcontext>(0x100);
  return CUDA_SUCCESS;
}
MOCK CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return CUDA_SUCCESS; }
MOCK CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
MOCK CUresult cuCtxSynchronize() { return CUDA_SUCCESS; }
MOCK CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
  *free = static_cast<size_t>(envInt("LLMC_MOCK_CUDA_FREE_MIB", 65536)) << 20;
  *total = 80ull << 30;
  return CUDA_SUCCESS;
}

MOCK CUresult cuStreamCreate(CUstream *s, unsigned) {
  *s = reinterpret_cast<CUstream>(new Stream());
  return CUDA_SUCCESS;
}
MOCK CUresult cuStreamDestroy_v2(CUstream s) {
  delete reinterpret_cast<Stream *>(s);
  return CUDA_SUCCESS;
}
MOCK CUresult cuStreamSynchronize(CUstream s) {
  return reinterpret_cast<Stream *>(s)->capture ? 901 : CUDA_SUCCESS;
}
MOCK CUresult cuEventCreate(CUevent *e, unsigned) {
  *e = reinterpret_cast<CUevent>(new int(0));
  return CUDA_SUCCESS;
}
MOCK CUresult cuEventRecord(CUevent, CUstream s) {
  return reinterpret_cast<Stream *>(s)->capture ? 900 : CUDA_SUCCESS;
}
MOCK CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
MOCK CUresult cuEventDestroy_v2(CUevent e) {
  delete reinterpret_cast<int *>(e);
  return CUDA_SUCCESS;
}

MOCK CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned n,
                                 CUjit_option *options, void **values) {
  std::string ptx(static_cast<const char *>(image));
  if (ptx.find("mock_invalid") != std::string::npos) {
    for (unsigned i = 0; i < n; ++i)
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER) {
        size_t size = 0;
        for (unsigned j = 0; j < n; ++j)
          if (options[j] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
            size = reinterpret_cast<uintptr_t>(values[j]);
        std::snprintf(static_cast<char *>(values[i]), size,
                      "ptxas application ptx input, line 3; error   : mock syntax "
                      "error\nptxas fatal   : Ptx assembly aborted due to errors\n");
      }
    return 218;
  }
  auto *module = new Module();
  module->ptx = ptx;
  *m = reinterpret_cast<CUmodule>(module);
  ++liveModules;
  return CUDA_SUCCESS;
}
MOCK CUresult cuModuleUnload(CUmodule m) {
  auto *module = reinterpret_cast<Module *>(m);
  for (Function *f : module->functions)
    delete f;
  delete module;
  --liveModules;
  return CUDA_SUCCESS;
}
MOCK CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  auto *module = reinterpret_cast<Module *>(m);
  std::string needle = std::string(".entry ") + name + "(";
  size_t at = module->ptx.find(needle);
  if (at == std::string::npos)
    return 500;
  size_t end = module->ptx.find(')', at);
  auto *function = new Function();
  function->name = name;
  for (size_t p = module->ptx.find(".param", at); p < end;
       p = module->ptx.find(".param", p + 1))
    ++function->params;
  module->functions.push_back(function);
  *f = reinterpret_cast<CUfunction>(function);
  return CUDA_SUCCESS;
}
MOCK CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f) {
  auto *function = reinterpret_cast<Function *>(f);
  bool heavy = function->name.find("heavy") != std::string::npos;
  switch (a) {
  case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = heavy ? 256 : 1024; break;
  case CU_FUNC_ATTRIBUTE_NUM_REGS: *v = heavy ? 255 : 32; break;
  default: *v = 0; break;
  }
  return CUDA_SUCCESS;
}

MOCK CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  size_t free = static_cast<size_t>(envInt("LLMC_MOCK_CUDA_FREE_MIB", 65536)) << 20;
  if (bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (bytes > free)
    return CUDA_ERROR_OUT_OF_MEMORY;
  void *host = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!host)
    return CUDA_ERROR_OUT_OF_MEMORY;
  std::memset(host, 0xab, bytes); // like fresh device memory: not zero
  *p = reinterpret_cast<CUdeviceptr>(host);
  allocations[*p] = bytes;
  ++liveAllocations;
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!allocations.erase(p))
    return CUDA_ERROR_INVALID_VALUE;
  std::free(reinterpret_cast<void *>(p));
  --liveAllocations;
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemAllocHost_v2(void **p, size_t bytes) {
  *p = std::malloc(bytes);
  return *p ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
MOCK CUresult cuMemFreeHost(void *p) {
  std::free(p);
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
  std::memcpy(reinterpret_cast<void *>(dst), src, n);
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n,
                                   CUstream s) {
  if (reinterpret_cast<Stream *>(s)->capture)
    return 900; // not captured by llmc: uploads happen before the graph
  std::memcpy(reinterpret_cast<void *>(dst), src, n);
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s) {
  if (reinterpret_cast<Stream *>(s)->capture)
    return 900;
  std::memcpy(dst, reinterpret_cast<void *>(src), n);
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemsetD8_v2(CUdeviceptr p, unsigned char v, size_t n) {
  std::memset(reinterpret_cast<void *>(p), v, n);
  return CUDA_SUCCESS;
}
MOCK CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream s) {
  Op op;
  op.launch = false;
  op.ptr = p;
  op.value = v;
  op.bytes = n;
  if (Graph *g = reinterpret_cast<Stream *>(s)->capture)
    g->ops.push_back(op);
  else
    execute(op);
  return CUDA_SUCCESS;
}
MOCK CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                             unsigned bx, unsigned by, unsigned bz, unsigned shared,
                             CUstream s, void **params, void **extra) {
  auto *function = reinterpret_cast<Function *>(f);
  if (!function || gx == 0 || gy == 0 || gz == 0 || shared != 0 || extra ||
      (function->params && !params))
    return CUDA_ERROR_INVALID_VALUE;
  Op op;
  op.function = function;
  op.grid[0] = gx, op.grid[1] = gy, op.grid[2] = gz;
  op.block[0] = bx, op.block[1] = by, op.block[2] = bz;
  for (int i = 0; i < function->params; ++i) // by value, as the driver does
    op.params.push_back(*static_cast<uint64_t *>(params[i]));
  if (Graph *g = reinterpret_cast<Stream *>(s)->capture) {
    g->ops.push_back(op);
    append("captured " + function->name);
  } else {
    execute(op);
  }
  return CUDA_SUCCESS;
}

MOCK CUresult cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode) {
  auto *stream = reinterpret_cast<Stream *>(s);
  if (stream->capture || mode < 0 || mode > 2)
    return CUDA_ERROR_INVALID_VALUE;
  stream->capture = new Graph();
  append("begin capture");
  return CUDA_SUCCESS;
}
MOCK CUresult cuStreamEndCapture(CUstream s, CUgraph *g) {
  auto *stream = reinterpret_cast<Stream *>(s);
  if (!stream->capture)
    return CUDA_ERROR_INVALID_VALUE;
  *g = reinterpret_cast<CUgraph>(stream->capture);
  stream->capture = nullptr;
  append("end capture");
  return CUDA_SUCCESS;
}
MOCK CUresult cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long) {
  *e = reinterpret_cast<CUgraphExec>(new Graph(*reinterpret_cast<Graph *>(g)));
  ++liveGraphs;
  return CUDA_SUCCESS;
}
MOCK CUresult cuGraphLaunch(CUgraphExec e, CUstream) {
  append("graph launch");
  for (const Op &op : reinterpret_cast<Graph *>(e)->ops)
    execute(op);
  return CUDA_SUCCESS;
}
MOCK CUresult cuGraphExecDestroy(CUgraphExec e) {
  delete reinterpret_cast<Graph *>(e);
  --liveGraphs;
  return CUDA_SUCCESS;
}
MOCK CUresult cuGraphDestroy(CUgraph g) {
  delete reinterpret_cast<Graph *>(g);
  return CUDA_SUCCESS;
}

} // extern "C"
