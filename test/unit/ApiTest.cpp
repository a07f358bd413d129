#include "llmc/llmc.h"

#include <gtest/gtest.h>

#include <string>

TEST(Api, VersionMatchesHeader) {
  EXPECT_EQ(llmc_api_version(), LLMC_API_VERSION);
  EXPECT_FALSE(std::string(llmc_version_string()).empty());
}
