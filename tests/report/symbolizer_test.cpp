// Symbolizer: names addresses from a maps text stored in the trace.
#include "analysis/symbolizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace hk::analyze;

extern "C" __attribute__((noinline)) int hk_symbolizer_probe_function(int x) { return x * 3 + 1; }

namespace {
std::string self_maps() {
  std::ifstream in("/proc/self/maps");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(Symbolizer, NamesAFunctionFromStoredMaps) {
  const uint32_t pid = static_cast<uint32_t>(getpid());
  Symbolizer s(TraceMeta{{"maps." + std::to_string(pid), self_maps()}});
  ASSERT_TRUE(s.has_layout(pid));
  // A return address points just past a call; name() steps back one byte.
  const auto addr = reinterpret_cast<uint64_t>(&hk_symbolizer_probe_function) + 5;
  const std::string name = s.name(pid, addr);
  EXPECT_NE(name.find("hk_symbolizer_probe_function+0x"), std::string::npos) << name;
  EXPECT_NE(name.find("report_unit_tests"), std::string::npos) << name;
}

TEST(Symbolizer, WithoutMapsAddressesStayRaw) {
  Symbolizer s(TraceMeta{});
  EXPECT_FALSE(s.has_layout(1));
  EXPECT_EQ(s.name(1, 0x401234), "");
}

TEST(Symbolizer, HostileMapsTextIsIgnored) {
  Symbolizer s(TraceMeta{{"maps.7", "zz-yy r-xp nothex 00:00 0 /no/such\n\n--\n1-0 r 0 0 0 /x\n"}});
  EXPECT_EQ(s.name(7, 0x401234), "");
}
