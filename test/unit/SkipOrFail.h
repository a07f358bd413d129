//===- SkipOrFail.h - a missing tool skips a test, or fails it under CI -------===//
//
// Outside CI a test whose tool is missing (lavapipe, the CUDA toolkit's stub)
// skips and says why; under CI=true the same test fails, so CI never passes
// by skipping what it is meant to check.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_UNIT_SKIPORFAIL_H
#define LLMC_TEST_UNIT_SKIPORFAIL_H

#include <cstdlib>
#include <cstring>

namespace llmc::testing {
inline bool inCI() {
  const char *ci = std::getenv("CI");
  return ci && std::strcmp(ci, "true") == 0;
}
} // namespace llmc::testing

/// Skips the test (fails it under CI=true) because of `why`.
#define LLMC_SKIP_OR_FAIL(why)                                                 \
  do {                                                                         \
    if (::llmc::testing::inCI())                                               \
      FAIL() << "CI=true requires it: " << (why);                              \
    GTEST_SKIP() << (why);                                                     \
  } while (0)

#endif // LLMC_TEST_UNIT_SKIPORFAIL_H
