//===- llmc.cpp - the C API ------------------------------------------------===//

#include "llmc/llmc.h"

extern "C" {
int llmc_api_version(void) { return LLMC_API_VERSION; }
const char *llmc_version_string(void) { return LLMC_VERSION_STRING; }
}
