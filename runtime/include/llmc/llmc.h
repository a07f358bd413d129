/* llmc.h - the llmc runtime's C API.
 *
 * The runtime loads an artifact written by `llmc compile` and runs it. It does
 * not depend on MLIR or LLVM. Artifacts are trusted code: model.so is loaded
 * into the calling process.
 */
#ifndef LLMC_LLMC_H
#define LLMC_LLMC_H

#ifdef __cplusplus
extern "C" {
#endif

/* The API version: bumped when a declaration of this header changes. */
#define LLMC_API_VERSION 1

/* Returns LLMC_API_VERSION of the library that is linked. */
int llmc_api_version(void);

/* The release version of the library, e.g. "0.1.0". */
const char *llmc_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* LLMC_LLMC_H */
