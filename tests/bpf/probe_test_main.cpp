// main() of the BPF probe tests: they need a process that can load BPF.
// Without one the binary prints why and exits 77 (ctest: Skipped), unless
// HAKMEM_REQUIRE_BPF=1 asks for a failure instead (CI runs as root).
#include "syscall_probe.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) {
    std::string why;
    int code = 0;
    if (!hk::bpf::SyscallProbe::open({}, &why, &code)) {
      const char* require = std::getenv("HAKMEM_REQUIRE_BPF");
      const bool required = require && std::strcmp(require, "1") == 0;
      std::fprintf(stderr, "%s BPF probe tests: %s (exit code %d)\n",
                   required ? "FAILED (HAKMEM_REQUIRE_BPF=1):" : "skipping", why.c_str(),
                   code);
      return required ? 1 : 77;
    }
  }
  return RUN_ALL_TESTS();
}
