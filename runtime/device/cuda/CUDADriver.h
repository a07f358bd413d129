//===- CUDADriver.h - the CUDA driver API, loaded at run time -------------------===//
//
// llmc never links libcuda and never includes the CUDA toolkit's headers: the
// runtime must build and run on machines without either. This header declares
// the few types, enums and entry points the CUDA device uses, with the driver
// API's documented ABI (cuda.h), and loads them with dlopen("libcuda.so.1").
// Where the driver exports versioned names (cuMemAlloc_v2, cuMemcpyHtoD_v2,
// cuStreamBeginCapture_v2...), those are the ones resolved, as cuda.h's
// macros would.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_CUDA_CUDADRIVER_H
#define LLMC_RUNTIME_DEVICE_CUDA_CUDADRIVER_H

#include "runtime/support/Status.h"

#include <cstddef>
#include <memory>
#include <string>

namespace llmc::cuda {

// Types (cuda.h: opaque handles are pointers to incomplete structs).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
using CUjit_option = int;
using CUdevice_attribute = int;
using CUfunction_attribute = int;
using CUstreamCaptureMode = int;

static_assert(sizeof(CUdeviceptr) == 8, "CUdeviceptr is 64-bit");

// CUresult values used by name.
enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_DEINITIALIZED = 4,
  CUDA_ERROR_STUB_LIBRARY = 34,
  CUDA_ERROR_INSUFFICIENT_DRIVER = 35,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
};

// CUdevice_attribute.
enum : CUdevice_attribute {
  CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z = 7,
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,       // kHz
  CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37, // bits
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};

// CUfunction_attribute.
enum : CUfunction_attribute {
  CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
  CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
  CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
};

// CUjit_option.
enum : CUjit_option {
  CU_JIT_INFO_LOG_BUFFER = 3,
  CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

// Flags.
enum : unsigned {
  CU_STREAM_NON_BLOCKING = 0x1,
  CU_EVENT_DISABLE_TIMING = 0x2,
};
enum : CUstreamCaptureMode {
  CU_STREAM_CAPTURE_MODE_GLOBAL = 0,
  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
  CU_STREAM_CAPTURE_MODE_RELAXED = 2,
};

/// The entry points, resolved from one loaded driver library.
struct Driver {
  void *library = nullptr;
  std::string libraryName;
  int version = 0; // cuDriverGetVersion: 1000 * major + 10 * minor

  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuDriverGetVersion)(int *version) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;

  CUresult (*cuDeviceGetCount)(int *count) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *device, int ordinal) = nullptr;
  CUresult (*cuDeviceGetName)(char *name, int len, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *value, CUdevice_attribute,
                                   CUdevice) = nullptr;
  CUresult (*cuDeviceTotalMem)(size_t *bytes, CUdevice) = nullptr; // _v2

  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr; // _v2
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuMemGetInfo)(size_t *free, size_t *total) = nullptr; // _v2

  CUresult (*cuStreamCreate)(CUstream *, unsigned flags) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr; // _v2
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuEventCreate)(CUevent *, unsigned flags) = nullptr;
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr; // _v2

  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *image,
                                 unsigned numOptions, CUjit_option *options,
                                 void **optionValues) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *name) = nullptr;
  CUresult (*cuFuncGetAttribute)(int *value, CUfunction_attribute,
                                 CUfunction) = nullptr;

  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t bytes) = nullptr; // _v2
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;                  // _v2
  CUresult (*cuMemAllocHost)(void **, size_t bytes) = nullptr;   // _v2
  CUresult (*cuMemFreeHost)(void *) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr dst, const void *src,
                           size_t bytes) = nullptr; // _v2
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes,
                                CUstream) = nullptr; // _v2
  CUresult (*cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes,
                                CUstream) = nullptr; // _v2
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char value,
                         size_t count) = nullptr; // _v2
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char value, size_t count,
                              CUstream) = nullptr;

  CUresult (*cuLaunchKernel)(CUfunction, unsigned gridX, unsigned gridY,
                             unsigned gridZ, unsigned blockX, unsigned blockY,
                             unsigned blockZ, unsigned sharedMemBytes, CUstream,
                             void **kernelParams, void **extra) = nullptr;

  CUresult (*cuStreamBeginCapture)(CUstream, CUstreamCaptureMode) = nullptr; // _v2
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *) = nullptr;
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long flags) = nullptr;
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream) = nullptr;
  CUresult (*cuGraphExecDestroy)(CUgraphExec) = nullptr;
  CUresult (*cuGraphDestroy)(CUgraph) = nullptr;

  Driver() = default;
  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;
  ~Driver();

  /// "CUDA_ERROR_OUT_OF_MEMORY: out of memory" (the driver's own text when
  /// it has one, else the name from a built-in table, else the number).
  std::string errorText(CUresult result) const;
  /// An error Status "cuda: WHAT: <errorText>" (ok for CUDA_SUCCESS).
  Status check(CUresult result, const std::string &what) const;
};

/// Opens `library` (a name for dlopen or a path), resolves every entry point
/// and calls cuInit(0). One line on failure:
///   "cuda: no NVIDIA driver (libcuda.so.1 not found)"
///   "cuda: no CUDA device (...)"
///   "cuda: the NVIDIA driver lacks cuXxx; llmc needs a CUDA 12 driver or newer"
/// Not cached: each call loads the library again (tests use this).
Result<std::unique_ptr<Driver>> openDriver(const std::string &library);

/// The process-wide driver, loaded once from "libcuda.so.1" (the library
/// named by LLMC_CUDA_DRIVER, when set). Thread-safe; the first result,
/// success or error, is kept.
Result<const Driver *> driver();

/// Names of the CUresult values llmc reports (nullptr for others).
const char *errorName(CUresult result);

} // namespace llmc::cuda

#endif // LLMC_RUNTIME_DEVICE_CUDA_CUDADRIVER_H
