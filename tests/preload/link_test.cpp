// libhakmem.so must depend on libc alone: its NEEDED entries may name only
// libc.so.6 (and the dynamic loader), never libstdc++, libgcc_s or libm.
#include <gtest/gtest.h>

#include <stdio.h>

#include <string>
#include <vector>

namespace {

std::vector<std::string> needed_entries(const char* lib) {
  std::vector<std::string> out;
  const std::string cmd = std::string("readelf -d '") + lib + "' 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    const std::string s(line);
    if (s.find("(NEEDED)") == std::string::npos) continue;
    const auto open = s.find('['), close = s.find(']');
    if (open != std::string::npos && close != std::string::npos)
      out.push_back(s.substr(open + 1, close - open - 1));
  }
  EXPECT_EQ(pclose(f), 0) << "readelf failed on " << lib;
  return out;
}

TEST(Link, NeededIsOnlyLibc) {
  const auto needed = needed_entries(HAKMEM_LIB_PATH);
  ASSERT_FALSE(needed.empty()) << "no NEEDED entries read from " << HAKMEM_LIB_PATH;
  bool has_libc = false;
  for (const auto& n : needed) {
    has_libc |= n == "libc.so.6";
    EXPECT_TRUE(n == "libc.so.6" || n.rfind("ld-linux", 0) == 0) << "unexpected NEEDED " << n;
  }
  EXPECT_TRUE(has_libc);
}

}  // namespace
