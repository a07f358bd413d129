//===- CPUDevice.h - running programs on the host CPU ------------------------------===//

#ifndef LLMC_RUNTIME_DEVICE_CPU_CPUDEVICE_H
#define LLMC_RUNTIME_DEVICE_CPU_CPUDEVICE_H

#include "runtime/device/Device.h"

namespace llmc {
std::unique_ptr<Device> createCPUDevice();
} // namespace llmc

#endif // LLMC_RUNTIME_DEVICE_CPU_CPUDEVICE_H
