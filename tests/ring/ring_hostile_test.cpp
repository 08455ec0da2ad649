// A ring with random header and slot bytes gets a clean one-line error (or
// is read without harm), never a crash; crafted corruptions are named.
#include "ring_test_support.h"

#include <hakmem/ring_format.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>

namespace {

using hk::analyze::RingError;
using hk::analyze::RingReader;
using hk::test::TempDir;

constexpr uint64_t kCap = 64;
constexpr size_t kFileSize = HK_RING_HEADER_SIZE + kCap * HK_RING_RECORD_SIZE;

struct Image {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kFileSize, 0);
  hk_ring_header& hdr() { return *reinterpret_cast<hk_ring_header*>(bytes.data()); }
  hk_event& slot(uint64_t i) {
    return reinterpret_cast<hk_event*>(bytes.data() + HK_RING_HEADER_SIZE)[i % kCap];
  }
};

// A well-formed dead ring holding `n` committed records (tickets 0..n-1).
Image valid_ring(uint64_t n, uint32_t mode = HK_RING_MODE_STREAM) {
  Image im;
  hk_ring_header& h = im.hdr();
  h.magic = HK_RING_MAGIC;
  h.version = HK_RING_VERSION;
  h.header_size = HK_RING_HEADER_SIZE;
  h.record_size = HK_RING_RECORD_SIZE;
  h.mode = mode;
  h.capacity = kCap;
  h.pid = 0x7fffffff;  // no such process: a dead writer
  h.clock_id = 1;
  h.events_version = HK_EVENTS_VERSION;
  h.head = n;
  for (uint64_t t = (n > kCap ? n - kCap : 0); t < n; t++) {
    hk_event& e = im.slot(t);
    e.commit = HK_RING_COMMIT(t, HK_SLOT_COMMITTED);
    e.type = HK_EV_SLAB_EMPTY;
    e.a = t;
  }
  return im;
}

std::string write_file(const TempDir& dir, const std::string& name, const void* p, size_t n) {
  const std::string path = dir.path() + "/" + name;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, p, n), ssize_t(n));
  close(fd);
  return path;
}

std::string open_error(const std::string& path) {
  try {
    RingReader r(path);
  } catch (const RingError& e) {
    return e.what();
  }
  return "";
}

// Reads everything a ring offers, as a recorder would; errors are fine.
void read_all(const std::string& path) {
  try {
    RingReader r(path);
    r.set_stall_timeout(std::chrono::milliseconds(0));
    std::vector<hk_event> out;
    r.poll(out);
    r.poll(out);
    r.drain_dead(out);
    EXPECT_LE(out.size(), kCap + 0u);
  } catch (const RingError& e) {
    EXPECT_EQ(std::strchr(e.what(), '\n'), nullptr);
  }
}

TEST(RingHostile, ValidRingReads) {
  TempDir dir;
  Image im = valid_ring(10);
  const auto path = write_file(dir, "ok", im.bytes.data(), im.bytes.size());
  RingReader r(path);
  std::vector<hk_event> out;
  r.drain_dead(out);
  ASSERT_EQ(out.size(), 10u);
  for (uint64_t i = 0; i < 10; i++) {
    EXPECT_EQ(out[i].a, i);
    EXPECT_EQ(out[i].commit, 0u);
  }
}

// Given the owner it expects, the reader checks it on the file it opened:
// a valid ring another uid owns is refused, the owner's own reads.
TEST(RingHostile, RingOfAnotherOwnerIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "chown to nobody needs root";
  TempDir dir;
  Image im = valid_ring(10);
  const auto path = write_file(dir, "planted", im.bytes.data(), im.bytes.size());
  EXPECT_NO_THROW(RingReader(path, geteuid()));
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  try {
    RingReader r(path, geteuid());
    FAIL() << "a ring owned by uid 65534 was read as uid " << geteuid() << "'s";
  } catch (const RingError& e) {
    EXPECT_NE(std::string(e.what()).find("owned by uid 65534"), std::string::npos) << e.what();
  }
}

// A ring of the previous event version (an older libhakmem) still reads:
// the analysis counts its records like the current ones.
TEST(RingHostile, PreviousEventVersionReads) {
  TempDir dir;
  Image im = valid_ring(3);
  im.hdr().events_version = 1;
  const auto path = write_file(dir, "v1", im.bytes.data(), im.bytes.size());
  RingReader r(path);
  EXPECT_EQ(r.info().events_version, 1u);
  std::vector<hk_event> out;
  r.drain_dead(out);
  EXPECT_EQ(out.size(), 3u);
}

TEST(RingHostile, EachHeaderFieldIsChecked) {
  TempDir dir;
  struct Case {
    const char* what;
    void (*spoil)(hk_ring_header&);
  } cases[] = {
      {"magic", [](hk_ring_header& h) { h.magic ^= 1; }},
      {"zero", [](hk_ring_header& h) { h.magic = 0; }},
      {"version", [](hk_ring_header& h) { h.version = 99; }},
      {"header size", [](hk_ring_header& h) { h.header_size = 64; }},
      {"record size", [](hk_ring_header& h) { h.record_size = 32; }},
      {"mode", [](hk_ring_header& h) { h.mode = 7; }},
      {"capacity", [](hk_ring_header& h) { h.capacity = 63; }},
      {"bytes", [](hk_ring_header& h) { h.capacity = 128; }},
      {"capacity", [](hk_ring_header& h) { h.capacity = 1ull << 40; }},
      {"event version", [](hk_ring_header& h) { h.events_version = 0; }},
      {"event version", [](hk_ring_header& h) { h.events_version = HK_EVENTS_VERSION + 1; }},
      {"tail", [](hk_ring_header& h) { h.tail = h.head + 1; }},
      {"ahead", [](hk_ring_header& h) { h.head = h.tail + kCap + 1; }},
      {"head", [](hk_ring_header& h) { h.head = ~0ull; }},
  };
  for (const auto& c : cases) {
    Image im = valid_ring(5);
    c.spoil(im.hdr());
    const auto path = write_file(dir, "bad", im.bytes.data(), im.bytes.size());
    const std::string err = open_error(path);
    EXPECT_NE(err.find(c.what), std::string::npos) << c.what << ": got \"" << err << "\"";
    EXPECT_EQ(err.find('\n'), std::string::npos);
  }
}

TEST(RingHostile, ShortOrNonRegularFiles) {
  TempDir dir;
  Image im = valid_ring(1);
  im.bytes.resize(kFileSize + 64);
  for (size_t n : {size_t(0), size_t(8), size_t(HK_RING_HEADER_SIZE - 1), size_t(HK_RING_HEADER_SIZE),
                   kFileSize - 1, kFileSize + 64})
    EXPECT_NE(open_error(write_file(dir, "size", im.bytes.data(), n)), "") << n;
  EXPECT_NE(open_error(dir.path()), "");
  EXPECT_NE(open_error(dir.path() + "/missing"), "");
}

TEST(RingHostile, StreamSlotFromTheFutureIsCorrupt) {
  TempDir dir;
  Image im = valid_ring(5);
  im.slot(2).commit = HK_RING_COMMIT(2 + kCap, HK_SLOT_COMMITTED);
  RingReader r(write_file(dir, "future", im.bytes.data(), im.bytes.size()));
  std::vector<hk_event> out;
  EXPECT_THROW(r.drain_dead(out), RingError);
  EXPECT_EQ(out.size(), 2u);  // what came before the corruption was fine
}

TEST(RingHostile, UnfinishedSlotsAreTornNotReturned) {
  TempDir dir;
  Image im = valid_ring(6);
  im.slot(1).commit = HK_RING_COMMIT(1, HK_SLOT_BUSY);       // claimed, writer died
  im.slot(3).commit = 0;                                     // claimed, never reached
  im.slot(4).commit = HK_RING_COMMIT(4, HK_SLOT_ABANDONED);  // retired by an earlier reader
  const auto path = write_file(dir, "torn", im.bytes.data(), im.bytes.size());
  for (int pass = 0; pass < 2; pass++) {  // a dead ring reads the same twice
    RingReader r(path);
    std::vector<hk_event> out;
    r.drain_dead(out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].a, 0u);
    EXPECT_EQ(out[1].a, 2u);
    EXPECT_EQ(out[2].a, 5u);
    EXPECT_EQ(r.torn(), 3u);
  }
}

TEST(RingHostile, LiveReaderGivesUpOnAStalledSlot) {
  TempDir dir;
  Image im = valid_ring(3);
  im.hdr().pid = uint32_t(getpid());  // "alive": this process maps the file
  im.slot(1).commit = HK_RING_COMMIT(1, HK_SLOT_BUSY);
  const auto path = write_file(dir, "stall", im.bytes.data(), im.bytes.size());
  RingReader r(path);
  ASSERT_TRUE(r.writer_alive());
  r.set_stall_timeout(std::chrono::milliseconds(20));
  std::vector<hk_event> out;
  r.poll(out);
  EXPECT_EQ(out.size(), 1u);  // waits at the BUSY slot
  r.poll(out);
  EXPECT_EQ(out.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  r.poll(out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(r.torn(), 1u);
  // The stalled slot is retired for good and the position published.
  Image after;
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_EQ(pread(fd, after.bytes.data(), after.bytes.size(), 0), ssize_t(kFileSize));
  close(fd);
  EXPECT_EQ(after.slot(1).commit, HK_RING_COMMIT(1, HK_SLOT_ABANDONED));
  EXPECT_EQ(after.hdr().tail, 3u);
}

TEST(RingHostile, FlightLappedReaderCountsOverwritten) {
  TempDir dir;
  Image im = valid_ring(3 * kCap + 5, HK_RING_MODE_FLIGHT);
  RingReader r(write_file(dir, "flight", im.bytes.data(), im.bytes.size()));
  std::vector<hk_event> out;
  r.drain_dead(out);
  ASSERT_EQ(out.size(), kCap);
  EXPECT_EQ(out.front().a, 2 * kCap + 5);
  EXPECT_EQ(out.back().a, 3 * kCap + 4);
  // Lapped before the reader opened it: every ticket is read or counted.
  EXPECT_EQ(r.overwritten(), 2 * kCap + 5);
  EXPECT_EQ(r.records_read() + r.overwritten() + r.torn(), 3 * kCap + 5);
}

TEST(RingHostile, RandomBytesNeverCrash) {
  TempDir dir;
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 3000; iter++) {
    Image im = valid_ring(rng() % (3 * kCap), rng() % 2 ? HK_RING_MODE_STREAM : HK_RING_MODE_FLIGHT);
    const int how = iter % 4;
    if (how == 0) {
      // Everything random, header included.
      for (auto& b : im.bytes) b = uint8_t(rng());
    } else if (how == 1) {
      // Valid identity, random counters and slots.
      for (size_t i = 64; i < im.bytes.size(); i++) im.bytes[i] = uint8_t(rng());
    } else if (how == 2) {
      // Valid counters, random slots with plausible commit words.
      for (size_t i = HK_RING_HEADER_SIZE; i < im.bytes.size(); i++) im.bytes[i] = uint8_t(rng());
      for (uint64_t s = 0; s < kCap; s++)
        im.slot(s).commit = HK_RING_COMMIT(rng() % (4 * kCap), rng() % 4);
    } else {
      // A few flipped bytes anywhere.
      for (int k = 0; k < 4; k++) im.bytes[rng() % im.bytes.size()] ^= uint8_t(1 + rng() % 255);
    }
    read_all(write_file(dir, "random", im.bytes.data(), im.bytes.size()));
  }
}

}  // namespace
