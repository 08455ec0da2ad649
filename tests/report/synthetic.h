// Synthetic recordings: builds allocator event and kernel syscall streams
// that agree with each other the way a real recording does (the allocator's
// HK_EV_OS_* event follows its syscall on the same tid with the same
// address and length), for unit tests and for the report benchmark's
// generator.
//
// Contract: one builder per stream, one thread. Time advances by `step_ns`
// per record. Records accumulate until flush(), which hands them to the
// sink and clears them, so a stream of any length needs constant memory.
#pragma once

#include <hakmem/events.h>
#include <hakmem/syscall_record.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace hk::synth {

// One allocator event and one memory syscall record as the preload and the
// probe write them; the Stream and tests that need exact times build on these.
inline hk_event allocator_event(uint64_t ts_ns, uint16_t type, uint32_t tid, uint8_t cls, uint8_t reason,
                                uint64_t addr, uint64_t len, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  hk_event e{};
  e.ts_ns = ts_ns;
  e.tid = tid;
  e.type = type;
  e.cls = cls;
  e.reason = reason;
  e.addr = addr;
  e.len = len;
  e.a = a;
  e.b = b;
  e.c = c;
  return e;
}

inline hk_sys_record syscall_record(uint64_t seq, uint32_t pid, uint32_t tid, uint32_t nr, uint64_t a0,
                                    uint64_t a1, int64_t ret, uint64_t enter_ns, uint64_t exit_ns) {
  hk_sys_record r{};
  r.seq = seq;
  r.enter_ns = enter_ns;
  r.exit_ns = exit_ns;
  r.pid = pid;
  r.tid = tid;
  r.kind = HK_SYS_CALL;
  r.nr = nr;
  r.args[0] = a0;
  r.args[1] = a1;
  r.ret = ret;
  return r;
}

class Stream {
 public:
  using Sink = std::function<void(uint32_t pid, std::span<const hk_event>, std::span<const hk_sys_record>)>;

  explicit Stream(Sink sink, uint32_t pid = 4242, uint64_t start_ns = 1'000'000'000)
      : sink_(std::move(sink)), pid_(pid), now_(start_ns) {}

  uint64_t step_ns = 1'000;
  uint64_t now() const { return now_; }
  void advance(uint64_t ns) { now_ += ns; }
  uint32_t pid() const { return pid_; }
  uint64_t event_count() const { return total_events_; }
  uint64_t syscall_count() const { return total_sys_; }
  size_t pending() const { return events_.size() + sys_.size(); }

  void event(uint16_t type, uint32_t tid, uint8_t cls = HK_CLASS_NONE, uint8_t reason = 0, uint64_t addr = 0,
             uint64_t len = 0, uint64_t a = 0, uint64_t b = 0, uint64_t c = 0) {
    events_.push_back(allocator_event(tick(), type, tid, cls, reason, addr, len, a, b, c));
    ++total_events_;
  }

  void syscall(uint32_t tid, uint32_t nr, uint64_t a0, uint64_t a1, int64_t ret, uint64_t caller = 0,
               uint64_t latency_ns = 500) {
    const uint64_t enter = tick();
    hk_sys_record r = syscall_record(seq_++, pid_, tid, nr, a0, a1, ret, enter, enter + latency_ns);
    now_ = r.exit_ns;
    r.caller = caller;
    r.stack_id = -1;
    sys_.push_back(r);
    ++total_sys_;
  }

  void lose_syscall() { ++seq_; }  // a record the probe could not deliver

  void config(uint64_t drain, uint64_t lru_cap, uint64_t sll_cap = 256, uint64_t ss = 1 << 20,
              uint64_t slab = 64 << 10) {
    event(HK_EV_CONFIG, pid_, HK_CLASS_NONE, 0, drain, lru_cap, sll_cap, ss, slab);
  }
  // The allocator's own syscalls: kernel record, then its event.
  void os_map(uint32_t tid, uint64_t addr, uint64_t len, uint8_t reason, bool kernel_sees = true) {
    if (kernel_sees) syscall(tid, HK_NR_MMAP, 0, len, static_cast<int64_t>(addr));
    event(HK_EV_OS_MMAP, tid, HK_CLASS_NONE, reason, addr, len, addr);
  }
  void os_unmap(uint32_t tid, uint64_t addr, uint64_t len, uint8_t reason, bool kernel_sees = true) {
    if (kernel_sees) syscall(tid, HK_NR_MUNMAP, addr, len, 0);
    event(HK_EV_OS_MUNMAP, tid, HK_CLASS_NONE, reason, addr, len, 0);
  }
  void ss_map(uint32_t tid, uint64_t addr, uint64_t size, uint64_t mapped_after) {
    os_map(tid, addr, size, HK_OS_SUPERSLAB);
    event(HK_EV_SS_MAP, tid, HK_CLASS_NONE, HK_SS_NEW, addr, size, mapped_after);
  }
  void ss_unmap(uint32_t tid, uint64_t addr, uint64_t size, uint8_t reason, uint64_t mapped_after) {
    os_unmap(tid, addr, size, HK_OS_SUPERSLAB);
    event(HK_EV_SS_UNMAP, tid, HK_CLASS_NONE, reason, addr, size, mapped_after);
  }
  void snapshot(uint8_t cls, uint64_t block, uint64_t used, uint64_t parked, uint64_t cache_capacity = 0) {
    event(HK_EV_SNAPSHOT, pid_, cls, 0, cache_capacity, block, used, parked, used > parked ? used - parked : 0);
  }
  // Code outside the allocator (loader, libc, program).
  void foreign_mmap(uint32_t tid, uint64_t addr, uint64_t len, uint64_t caller) {
    syscall(tid, HK_NR_MMAP, 0, len, static_cast<int64_t>(addr), caller);
  }
  void foreign_munmap(uint32_t tid, uint64_t addr, uint64_t len, uint64_t caller) {
    syscall(tid, HK_NR_MUNMAP, addr, len, 0, caller);
  }
  void brk(uint32_t tid, uint64_t new_break, uint64_t caller = 0) {
    syscall(tid, HK_NR_BRK, new_break, 0, static_cast<int64_t>(new_break), caller);
  }

  void flush() {
    if (events_.empty() && sys_.empty()) return;
    sink_(pid_, events_, sys_);
    events_.clear();
    sys_.clear();
  }

 private:
  uint64_t tick() { return now_ += step_ns; }
  Sink sink_;
  uint32_t pid_;
  uint64_t now_;
  uint64_t seq_ = 0, total_events_ = 0, total_sys_ = 0;
  std::vector<hk_event> events_;
  std::vector<hk_sys_record> sys_;
};

}  // namespace hk::synth
