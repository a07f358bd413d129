//===- CUDADriver.cpp - the CUDA driver API, loaded at run time -----------------===//

#include "runtime/device/cuda/CUDADriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace llmc::cuda {

const char *errorName(CUresult result) {
  switch (result) {
  case 0: return "CUDA_SUCCESS";
  case 1: return "CUDA_ERROR_INVALID_VALUE";
  case 2: return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3: return "CUDA_ERROR_NOT_INITIALIZED";
  case 4: return "CUDA_ERROR_DEINITIALIZED";
  case 34: return "CUDA_ERROR_STUB_LIBRARY";
  case 35: return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 36: return "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER";
  case 46: return "CUDA_ERROR_DEVICES_UNAVAILABLE";
  case 100: return "CUDA_ERROR_NO_DEVICE";
  case 101: return "CUDA_ERROR_INVALID_DEVICE";
  case 200: return "CUDA_ERROR_INVALID_IMAGE";
  case 201: return "CUDA_ERROR_INVALID_CONTEXT";
  case 209: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case 218: return "CUDA_ERROR_INVALID_PTX";
  case 221: return "CUDA_ERROR_JIT_COMPILER_NOT_FOUND";
  case 222: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  case 400: return "CUDA_ERROR_INVALID_HANDLE";
  case 500: return "CUDA_ERROR_NOT_FOUND";
  case 700: return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case 701: return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case 702: return "CUDA_ERROR_LAUNCH_TIMEOUT";
  case 716: return "CUDA_ERROR_MISALIGNED_ADDRESS";
  case 719: return "CUDA_ERROR_LAUNCH_FAILED";
  case 900: return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
  case 901: return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
  case 999: return "CUDA_ERROR_UNKNOWN";
  default: return nullptr;
  }
}

Driver::~Driver() {
  // The library stays loaded: the driver keeps process-wide state (contexts,
  // its own threads) that unloading would pull from under them.
}

std::string Driver::errorText(CUresult result) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName && cuGetErrorName(result, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (cuGetErrorString && cuGetErrorString(result, &text) != CUDA_SUCCESS)
    text = nullptr;
  if (!name)
    name = errorName(result);
  std::string out = name ? name : "CUDA error " + std::to_string(result);
  if (text && *text)
    out += std::string(": ") + text;
  return out;
}

Status Driver::check(CUresult result, const std::string &what) const {
  if (result == CUDA_SUCCESS)
    return Status::ok();
  return Status::error("cuda: " + what + ": " + errorText(result));
}

namespace {
/// Resolves the first of `names` the library exports.
template <typename Fn>
bool resolve(void *library, Fn &fn, std::initializer_list<const char *> names) {
  for (const char *name : names)
    if (void *symbol = ::dlsym(library, name)) {
      fn = reinterpret_cast<Fn>(symbol);
      return true;
    }
  return false;
}
} // namespace

Result<std::unique_ptr<Driver>> openDriver(const std::string &library) {
  auto d = std::make_unique<Driver>();
  d->libraryName = library;
  d->library = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!d->library)
    return Status::error("cuda: no NVIDIA driver (" + library + " not found)");

  std::string missing;
  auto need = [&](auto &fn, std::initializer_list<const char *> names) {
    if (!resolve(d->library, fn, names) && missing.empty())
      missing = *names.begin();
  };
  need(d->cuInit, {"cuInit"});
  need(d->cuDriverGetVersion, {"cuDriverGetVersion"});
  need(d->cuGetErrorName, {"cuGetErrorName"});
  need(d->cuGetErrorString, {"cuGetErrorString"});
  need(d->cuDeviceGetCount, {"cuDeviceGetCount"});
  need(d->cuDeviceGet, {"cuDeviceGet"});
  need(d->cuDeviceGetName, {"cuDeviceGetName"});
  need(d->cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  need(d->cuDeviceTotalMem, {"cuDeviceTotalMem_v2"});
  need(d->cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  need(d->cuDevicePrimaryCtxRelease,
       {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"});
  need(d->cuCtxSetCurrent, {"cuCtxSetCurrent"});
  need(d->cuCtxSynchronize, {"cuCtxSynchronize"});
  need(d->cuMemGetInfo, {"cuMemGetInfo_v2"});
  need(d->cuStreamCreate, {"cuStreamCreate"});
  need(d->cuStreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"});
  need(d->cuStreamSynchronize, {"cuStreamSynchronize"});
  need(d->cuEventCreate, {"cuEventCreate"});
  need(d->cuEventRecord, {"cuEventRecord"});
  need(d->cuEventSynchronize, {"cuEventSynchronize"});
  need(d->cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
  need(d->cuModuleLoadDataEx, {"cuModuleLoadDataEx"});
  need(d->cuModuleUnload, {"cuModuleUnload"});
  need(d->cuModuleGetFunction, {"cuModuleGetFunction"});
  need(d->cuFuncGetAttribute, {"cuFuncGetAttribute"});
  need(d->cuMemAlloc, {"cuMemAlloc_v2"});
  need(d->cuMemFree, {"cuMemFree_v2"});
  need(d->cuMemAllocHost, {"cuMemAllocHost_v2"});
  need(d->cuMemFreeHost, {"cuMemFreeHost"});
  need(d->cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
  need(d->cuMemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"});
  need(d->cuMemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"});
  need(d->cuMemsetD8, {"cuMemsetD8_v2"});
  need(d->cuMemsetD8Async, {"cuMemsetD8Async"});
  need(d->cuLaunchKernel, {"cuLaunchKernel"});
  need(d->cuStreamBeginCapture, {"cuStreamBeginCapture_v2"});
  need(d->cuStreamEndCapture, {"cuStreamEndCapture"});
  need(d->cuGraphInstantiateWithFlags, {"cuGraphInstantiateWithFlags"});
  need(d->cuGraphLaunch, {"cuGraphLaunch"});
  need(d->cuGraphExecDestroy, {"cuGraphExecDestroy"});
  need(d->cuGraphDestroy, {"cuGraphDestroy"});
  if (!missing.empty())
    return Status::error("cuda: the NVIDIA driver (" + library + ") lacks " +
                         missing + "; llmc needs a CUDA 12 driver or newer");

  CUresult init = d->cuInit(0);
  if (init == CUDA_ERROR_NO_DEVICE)
    return Status::error("cuda: no CUDA device (the NVIDIA driver found none)");
  if (init == CUDA_ERROR_STUB_LIBRARY)
    return Status::error("cuda: no NVIDIA driver (" + library +
                         " is the CUDA toolkit's stub library)");
  if (init != CUDA_SUCCESS)
    return Status::error("cuda: the NVIDIA driver failed to initialize: " +
                         d->errorText(init));
  if (d->cuDriverGetVersion(&d->version) != CUDA_SUCCESS)
    d->version = 0;
  int count = 0;
  if (d->cuDeviceGetCount(&count) != CUDA_SUCCESS || count <= 0)
    return Status::error("cuda: no CUDA device (the NVIDIA driver found none)");
  return d;
}

Result<const Driver *> driver() {
  static std::once_flag once;
  static std::unique_ptr<Driver> loaded;
  static Status error;
  std::call_once(once, [] {
    const char *name = std::getenv("LLMC_CUDA_DRIVER");
    auto opened = openDriver(name && *name ? name : "libcuda.so.1");
    if (opened.ok())
      loaded = opened.take();
    else
      error = opened.status();
  });
  if (!loaded)
    return error;
  return static_cast<const Driver *>(loaded.get());
}

} // namespace llmc::cuda
