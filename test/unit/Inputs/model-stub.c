/* A stand-in for model.so in VulkanTest.cpp: test artifacts for the Vulkan
 * device are written without llmc's compiler (their kernels are the
 * vulkan-kernels.spvasm fixture). When loaded, this library reads
 * program.llmcprog from its own folder into the symbols Artifact::open looks
 * up. Each test artifact holds its own copy, so each is a distinct library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

__attribute__((aligned(16))) unsigned char llmc_program[1 << 20];
uint64_t llmc_program_size = 0;

__attribute__((constructor)) static void llmc_stub_load_program(void) {
  Dl_info info;
  if (!dladdr((void *)&llmc_program_size, &info) || !info.dli_fname)
    return;
  const char *slash = strrchr(info.dli_fname, '/');
  int dir = slash ? (int)(slash - info.dli_fname) : 1;
  char path[4096];
  snprintf(path, sizeof path, "%.*s/program.llmcprog", dir,
           slash ? info.dli_fname : ".");
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(llmc_program, 1, sizeof llmc_program, f);
  fclose(f);
  llmc_program_size = n;
}
