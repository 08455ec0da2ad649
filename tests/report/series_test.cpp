// SeriesCollector: the charts' levels follow the records (summed over
// processes, dropped when a process goes), counts add up, and a brk heap is
// measured from the process's first break.
#include "analysis/series.h"
#include "synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

using namespace hk::analyze;

namespace {
using hk::synth::allocator_event;
using hk::synth::syscall_record;
hk_event ev(uint16_t type, uint64_t ts, uint64_t a = 0, uint64_t len = 0) {
  return allocator_event(ts, type, 1, HK_CLASS_NONE, 0, 0, len, a);
}
hk_sys_record sys(uint32_t nr, uint32_t pid, uint64_t enter, uint64_t exit, int64_t ret, uint64_t len = 0) {
  return syscall_record(0, pid, pid, nr, 0, len, ret, enter, exit);
}
double last(const TimeSeries& ts, const char* name) {
  const auto v = ts.values(ts.find(name));
  return v.back();
}
}  // namespace

TEST(Series, LevelsAreSummedOverProcessesAndDropWhenOneGoes) {
  SeriesCollector c;
  c.start(0);
  c.on_event(1, ev(HK_EV_OS_MMAP, 100, 0x1000, 4096));
  c.on_event(2, ev(HK_EV_OS_MMAP, 200, 0x2000, 8192));
  c.on_event(1, ev(HK_EV_SS_MAP, 300, 3));
  c.on_event(2, ev(HK_EV_SS_MAP, 400, 2));
  c.on_event(1, ev(HK_EV_OS_MMAP, 500, uint64_t(-12), 1 << 20));  // failed: maps nothing
  TimeSeries early = c.finish(600);
  EXPECT_EQ(last(early, series::kMappedBytes), 4096 + 8192);
  EXPECT_EQ(last(early, series::kSuperSlabs), 5);

  SeriesCollector d;
  d.start(0);
  d.on_event(1, ev(HK_EV_OS_MMAP, 100, 0x1000, 4096));
  d.on_event(2, ev(HK_EV_OS_MMAP, 200, 0x2000, 8192));
  // In a later bucket than the maps: a bucket shows its highest sample,
  // the buckets after it its last one.
  d.process_gone(2, 5 * TimeSeries::kInitialWidthNs);
  const TimeSeries ts = d.finish(10 * TimeSeries::kInitialWidthNs);
  EXPECT_EQ(last(ts, series::kMappedBytes), 4096);
}

TEST(Series, SyscallsCountPerNameAndTheHeapStartsAtTheFirstBreak) {
  SeriesCollector c;
  c.start(0);
  c.on_syscall(sys(HK_NR_BRK, 7, 10, 20, 0x10000));           // brk(0): the start
  c.on_syscall(sys(HK_NR_BRK, 7, 30, 40, 0x30000));           // grown by 128 KiB
  c.on_syscall(sys(HK_NR_MMAP, 7, 50, 90, 0x7f0000, 65536));  // 40 ns in the kernel
  c.on_syscall(sys(HK_NR_MMAP, 7, 100, 101, -12, 65536));     // failed: no bytes
  const TimeSeries ts = c.finish(200);
  EXPECT_EQ(last(ts, series::kHeapBytes), 0x20000);
  EXPECT_EQ(last(ts, series::kKernelMappedBytes), 65536);
  const auto calls = ts.values(ts.find(std::string(series::kSysCalls) + "mmap"));
  EXPECT_EQ(std::accumulate(calls.begin(), calls.end(), 0.0), 2);
  const auto ns = ts.values(ts.find(std::string(series::kSysNs) + "mmap"));
  EXPECT_EQ(std::accumulate(ns.begin(), ns.end(), 0.0), 41);
  EXPECT_FALSE(ts.has_data(ts.find(series::kSuperSlabs)));
}
