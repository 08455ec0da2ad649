// TraceWriter/TraceReader: round trip, truncation at every byte, hostile files;
// Timeline over a trace file in `events`' order (syscalls by enter time):
// merge order and its bounded window.
#include "analysis/timeline.h"
#include "trace/trace_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace hk::analyze;

namespace {

class TempDir {
 public:
  TempDir() {
    // tmpfs: thousands of small files are created here.
    char t[] = "/dev/shm/hk-trace-test.XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

hk_event event(uint64_t ts, uint16_t type, uint64_t addr) {
  hk_event e{};
  e.commit = 0xdeadbeef;  // ring-only: must read back as zero
  e.ts_ns = ts;
  e.tid = 7;
  e.type = type;
  e.cls = 3;
  e.addr = addr;
  e.len = 4096;
  e.a = 1;
  e.b = 2;
  e.c = 3;
  return e;
}

hk_sys_record syscall(uint64_t enter, uint32_t nr) {
  hk_sys_record r{};
  r.seq = enter;
  r.enter_ns = enter;
  r.exit_ns = enter + 10;
  r.pid = 10;
  r.tid = 11;
  r.kind = HK_SYS_CALL;
  r.nr = nr;
  r.args[0] = 0x7f0000000000;
  r.args[1] = 1 << 20;
  r.ret = 0x7f0000000000;
  return r;
}

std::vector<unsigned char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& path, const unsigned char* p, size_t n) {
  // A fresh file each time: ext4 flushes a file truncated and rewritten on
  // close, which makes thousands of rewrites slow.
  fs::remove(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(p), std::streamsize(n));
}

// A small complete trace; `ends` gets the file size after each chunk.
void write_sample(const std::string& path, std::vector<uint64_t>* ends = nullptr) {
  auto mark = [&] {
    if (ends) ends->push_back(fs::file_size(path));
  };
  TraceWriter w(path, {{"command", "prog 'a\nb' c\\d"}, {"start_mono_ns", "1000"}});
  mark();
  hk_trace_ring_info ri{};
  ri.pid = 10;
  ri.state = 1;
  ri.capacity = 64;
  w.append_ring(ri);
  mark();
  std::vector<hk_event> ev{event(1100, HK_EV_SS_MAP, 0x1000), event(1200, HK_EV_SLAB_ACQUIRE, 0x2000),
                           event(1300, HK_EV_DRAIN, 0)};
  w.append_events(10, ev);
  mark();
  std::vector<hk_sys_record> sys{syscall(1050, HK_NR_MMAP), syscall(1250, HK_NR_MUNMAP)};
  w.append_syscalls(sys);
  mark();
  w.append_meta({{"config.drain_interval", "1024"}});
  mark();
  ri.state = 2;
  ri.records_read = 3;
  w.append_ring(ri);
  mark();
  hk_trace_footer f{};
  f.exit_status = 42;
  f.bpf_lost = 5;
  w.finish(f);
  mark();
}

struct Counts {
  size_t chunks = 0, events = 0, syscalls = 0;
  bool footer = false;
};

Counts read_all(TraceReader& r) {
  Counts c;
  TraceChunk ch;
  while (r.next(ch)) {
    ++c.chunks;
    c.events += ch.events.size();
    c.syscalls += ch.syscalls.size();
    c.footer |= ch.footer.has_value();
  }
  return c;
}

}  // namespace

TEST(TraceFile, RoundTrip) {
  TempDir d;
  const auto path = d.file("t.trace");
  write_sample(path);
  TraceReader r(path);
  EXPECT_EQ(r.meta().at("command"), "prog 'a\nb' c\\d");
  EXPECT_EQ(r.meta().at("start_mono_ns"), "1000");
  TraceChunk c;
  ASSERT_TRUE(r.next(c));
  ASSERT_EQ(c.type, HK_CHUNK_RING);
  ASSERT_TRUE(c.ring);
  EXPECT_EQ(c.ring->pid, 10u);
  EXPECT_EQ(c.ring->state, 1u);
  ASSERT_TRUE(r.next(c));
  ASSERT_EQ(c.type, HK_CHUNK_EVENTS);
  EXPECT_EQ(c.source_pid, 10u);
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].commit, 0u);
  EXPECT_EQ(c.events[1].ts_ns, 1200u);
  EXPECT_EQ(c.events[1].type, HK_EV_SLAB_ACQUIRE);
  EXPECT_EQ(c.events[1].addr, 0x2000u);
  EXPECT_EQ(c.events[2].c, 3u);
  ASSERT_TRUE(r.next(c));
  ASSERT_EQ(c.type, HK_CHUNK_SYSCALLS);
  ASSERT_EQ(c.syscalls.size(), 2u);
  EXPECT_EQ(c.syscalls[1].nr, uint32_t(HK_NR_MUNMAP));
  EXPECT_EQ(c.syscalls[0].args[1], 1u << 20);
  ASSERT_TRUE(r.next(c));
  ASSERT_EQ(c.type, HK_CHUNK_META);
  EXPECT_EQ(c.meta.at("config.drain_interval"), "1024");
  EXPECT_EQ(r.meta().at("config.drain_interval"), "1024");
  ASSERT_TRUE(r.next(c));
  ASSERT_TRUE(c.ring);
  EXPECT_EQ(c.ring->state, 2u);
  EXPECT_EQ(c.ring->records_read, 3u);
  ASSERT_TRUE(r.next(c));
  ASSERT_TRUE(c.footer);
  EXPECT_EQ(c.footer->exit_status, 42);
  EXPECT_EQ(c.footer->bpf_lost, 5u);
  EXPECT_EQ(c.footer->events, 3u);
  EXPECT_EQ(c.footer->syscalls, 2u);
  EXPECT_EQ(c.footer->chunks, 6u);
  EXPECT_FALSE(r.next(c));
  EXPECT_FALSE(r.truncated());
}

TEST(TraceFile, CutAtEveryByteReadsUpToTheLastWholeChunk) {
  TempDir d;
  const auto path = d.file("t.trace");
  std::vector<uint64_t> ends;
  write_sample(path, &ends);
  const auto bytes = slurp(path);
  ASSERT_EQ(bytes.size(), ends.back());
  const auto cut = d.file("cut.trace");
  for (size_t n = 0; n < bytes.size(); ++n) {
    spit(cut, bytes.data(), n);
    size_t whole = 0;  // chunks entirely inside the prefix
    for (uint64_t e : ends) whole += e <= n;
    try {
      TraceReader r(cut);
      Counts c = read_all(r);
      // The first chunk (META) is consumed by the constructor.
      EXPECT_EQ(c.chunks + (whole > 0), whole) << "cut at " << n;
      EXPECT_FALSE(c.footer) << "cut at " << n;
      EXPECT_TRUE(r.truncated()) << "cut at " << n;
      EXPECT_EQ(r.truncation_reason().find('\n'), std::string::npos);
    } catch (const TraceError& e) {
      ADD_FAILURE() << "cut at " << n << " gave an error: " << e.what();
    }
  }
}

namespace {

// Rewrites chunk `index` of a copy of the sample through `edit`.
std::string damaged(const TempDir& d, size_t index,
                    const std::function<void(hk_trace_chunk_header&, unsigned char* payload)>& edit) {
  const auto src = d.file("t.trace");
  write_sample(src);
  auto bytes = slurp(src);
  size_t off = sizeof(hk_trace_file_header);
  for (size_t i = 0;; ++i) {
    hk_trace_chunk_header h;
    std::memcpy(&h, bytes.data() + off, sizeof h);
    if (i == index) {
      edit(h, bytes.data() + off + sizeof h);
      std::memcpy(bytes.data() + off, &h, sizeof h);
      break;
    }
    off += sizeof h + h.payload_len;
  }
  const auto out = d.file("bad.trace");
  spit(out, bytes.data(), bytes.size());
  return out;
}

// A hostile file must give exactly one TraceError with a one-line message.
void expect_one_line_error(const std::string& path) {
  try {
    TraceReader r(path);
    read_all(r);
    ADD_FAILURE() << "no error for " << path;
  } catch (const TraceError& e) {
    std::string msg = e.what();
    EXPECT_FALSE(msg.empty());
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(TraceFile, HostileFilesGiveOneLineErrors) {
  TempDir d;
  std::mt19937_64 rng(1);
  std::vector<unsigned char> noise(4096);
  for (auto& b : noise) b = uint8_t(rng());
  spit(d.file("noise"), noise.data(), noise.size());
  expect_one_line_error(d.file("noise"));
  expect_one_line_error(d.file("missing"));
  expect_one_line_error("/");

  expect_one_line_error(damaged(d, 2, [](auto& h, auto*) { h.payload_len = 0xffffffffu; }));
  expect_one_line_error(damaged(d, 2, [](auto& h, auto*) { h.record_count = 0x7fffffffu; }));
  expect_one_line_error(damaged(d, 2, [](auto& h, auto*) { h.magic ^= 1; }));
  expect_one_line_error(damaged(d, 2, [](auto& h, auto*) { h.seq = 99; }));
  expect_one_line_error(damaged(d, 2, [](auto&, auto* p) { p[5] ^= 0x40; }));  // CRC
  expect_one_line_error(damaged(d, 1, [](auto& h, auto*) { h.record_count = 2; }));
  expect_one_line_error(damaged(d, 0, [](auto& h, auto*) { h.type = HK_CHUNK_EVENTS; }));
  // A footer whose counts disagree with the file: chunks were lost or spliced.
  expect_one_line_error(damaged(d, 6, [](auto& h, auto* p) {
    hk_trace_footer f;
    std::memcpy(&f, p, sizeof f);
    f.events = 1000;
    std::memcpy(p, &f, sizeof f);
    // Keep the CRC right, so the footer check is what fails.
    h.crc32 = uint32_t(crc32(0L, p, h.payload_len));
  }));

  // A newer format version is refused by name.
  write_sample(d.file("t.trace"));
  auto bytes = slurp(d.file("t.trace"));
  uint32_t v = 2;
  std::memcpy(bytes.data() + 8, &v, sizeof v);
  spit(d.file("v2"), bytes.data(), bytes.size());
  expect_one_line_error(d.file("v2"));
}

TEST(TraceFile, RandomDamageNeverCrashes) {
  TempDir d;
  write_sample(d.file("t.trace"));
  const auto good = slurp(d.file("t.trace"));
  std::mt19937_64 rng(7);
  for (int round = 0; round < 1000; ++round) {
    auto bytes = good;
    int flips = 1 + int(rng() % 8);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = uint8_t(rng());
    size_t len = rng() % 4 == 0 ? rng() % bytes.size() : bytes.size();
    spit(d.file("r"), bytes.data(), len);
    try {
      TraceReader r(d.file("r"));
      read_all(r);
    } catch (const TraceError& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

// Feeds a whole trace file through a Timeline that orders syscalls by enter
// time, as `events` does, and collects the times it hands out.
struct EnterTimes : TimelineSink {
  std::vector<uint64_t> times;
  uint64_t out_of_order = 0;
  void on_event(uint32_t, const hk_event& e) override { times.push_back(e.ts_ns); }
  void on_syscall(const hk_sys_record& r) override { times.push_back(r.enter_ns); }

  EnterTimes(const std::string& path, uint64_t slack_ns) {
    TraceReader r(path);
    Timeline m(*this, TimelineLimits{slack_ns, size_t{1} << 20}, SyscallTime::enter);
    TraceChunk c;
    while (r.next(c)) m.push_chunk(c);
    m.finish();
    out_of_order = m.out_of_order();
  }
};

TEST(Timeline, MergesFileSourcesByEnterTime) {
  TempDir d;
  const auto path = d.file("m.trace");
  {
    TraceWriter w(path, {{"start_mono_ns", "0"}});
    // Chunks interleave in time, as the recorder's per-source batches do,
    // and a kernel chunk holds records out of enter order.
    std::vector<hk_event> a{event(100, HK_EV_SS_MAP, 1), event(300, HK_EV_SS_MAP, 2)};
    std::vector<hk_sys_record> k{syscall(250, HK_NR_MMAP), syscall(50, HK_NR_MMAP)};
    std::vector<hk_event> b{event(200, HK_EV_SS_UNMAP, 3), event(400, HK_EV_SS_UNMAP, 4)};
    w.append_events(1, a);
    w.append_syscalls(k);
    w.append_events(2, b);
    w.finish({});
  }
  EnterTimes m(path, 1'000'000'000);
  EXPECT_EQ(m.times, (std::vector<uint64_t>{50, 100, 200, 250, 300, 400}));
  EXPECT_EQ(m.out_of_order, 0u);
}

TEST(Timeline, FileRecordsBeyondTheWindowComeOutLateNotLost) {
  TempDir d;
  const auto path = d.file("w.trace");
  {
    TraceWriter w(path, {});
    // The first chunk spans more than the window, so its first record is
    // released before the older chunk is even read.
    std::vector<hk_event> newer{event(5'000'000'000, HK_EV_SS_MAP, 1),
                                event(7'000'000'000, HK_EV_SS_MAP, 2)};
    std::vector<hk_event> older{event(1'000'000'000, HK_EV_SS_MAP, 3)};
    w.append_events(1, newer);
    w.append_events(2, older);
    w.finish({});
  }
  EnterTimes m(path, 1'000'000);  // 1 ms window
  EXPECT_EQ(m.times.size(), 3u);
  EXPECT_EQ(m.out_of_order, 1u);
}
