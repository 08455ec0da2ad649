// glibc's brk heap at another trim threshold (MALLOC_TRIM_THRESHOLD_), from
// a --no-preload trace.
//
// The trace has the break's moves, not the mallocs: a grow to B says the
// heap's in-use end had reached about B - top_pad (sysmalloc asks for the
// request plus M_TOP_PAD, 128 KiB), and a trim to B says it had fallen to
// about B - top_pad (systrim keeps the pad). Those are the points the model
// replays: a grow point makes the model's break grow only when the in-use
// end is past it, and a trim point trims only when the top chunk (break
// minus in-use end) reaches the threshold. A higher threshold than the
// recorded one is predicted this way: every free that the model could trim
// at, the recorded run trimmed at as well, so the trace saw it (a free that
// would trim only because the model's top is bigger than the recorded one
// is the exception, and the note says so). A lower threshold would trim at
// frees the recorded run did not trim at, which the trace does not show:
// such rows say so. Other syscalls stay as recorded; setting the variable
// also stops glibc's dynamic thresholds, which the note mentions when the
// trace shows a freed mapping that may have raised them.
#include "analysis/report.h"
#include "analysis/whatif.h"

#include <fmt/format.h>

#include <unordered_map>

namespace hk::analyze {
namespace {

constexpr uint64_t kTopPad = 128u << 10;          // glibc's DEFAULT_TOP_PAD
constexpr uint64_t kDynamicMin = 128u << 10;      // DEFAULT_MMAP_THRESHOLD_MIN
constexpr uint64_t kDynamicMax = 32u << 20;       // DEFAULT_MMAP_THRESHOLD_MAX (64-bit)

// One heap's break: where it is, where it peaked, and what growing back
// below that peak cost.
struct Break {
  uint64_t at = 0, peak = 0, regrown = 0;
  void move(uint64_t to) {
    if (to > at && at < peak) regrown += std::min(to, peak) - at;
    at = to;
    peak = std::max(peak, at);
  }
};

class TrimModel final : public WhatIfModel {
 public:
  // follow: the break moves as recorded (the recorded row's peak).
  TrimModel(uint64_t threshold, bool follow) : t_(threshold), follow_(follow) {}

  void on_event(uint32_t, const hk_event&) override {}

  void on_syscall(const hk_sys_record& s) override {
    if (s.kind == HK_SYS_EXIT || s.kind == HK_SYS_EXEC) {
      heaps_.erase(s.pid);
      add_bytes(s.pid, -bytes_[s.pid]);  // its mappings and heap went with it
      bytes_.erase(s.pid);
      return;
    }
    if (s.kind != HK_SYS_CALL) return;
    switch (s.nr) {
      case HK_NR_MMAP:
        ++other_calls_;
        if (s.ret >= 0) {
          add_bytes(s.pid, int64_t(s.args[1]));
          if (s.args[1] >= kDynamicMin && s.args[1] <= kDynamicMax) maybe_chunks_[s.pid][uint64_t(s.ret)] = s.args[1];
        }
        break;
      case HK_NR_MUNMAP:
        ++other_calls_;
        if (s.ret == 0) {
          add_bytes(s.pid, -int64_t(s.args[1]));
          auto it = maybe_chunks_.find(s.pid);
          if (it != maybe_chunks_.end() && it->second.erase(s.args[0])) ++freed_chunks_;
        }
        break;
      case HK_NR_MREMAP:
      case HK_NR_MADVISE:
        ++other_calls_;
        break;
      case HK_NR_BRK:
        brk(s);
        break;
      default:
        return;
    }
  }

  WhatIfRow finish(const Report& r) override {
    WhatIfRow row(Knob::trim_threshold, t_);
    if (recorded_brk_ == 0) {
      row.needs = "a --no-preload trace of a program on glibc's heap (this one has no brk calls)";
      return row;
    }
    const uint64_t recorded = recorded_setting(Knob::trim_threshold, r).value_or(kDynamicMin);
    if (t_ < recorded && trims_ > 0 && !follow_) {
      row.needs = fmt::format("the frees that did not trim at the recorded threshold ({} bytes): a lower one "
                              "would trim at some of them, and the trace has only the trims",
                              recorded);
      return row;
    }
    WhatIfCounts c;
    c.brk_calls = brk_calls_;
    c.memory_syscalls = other_calls_ + brk_calls_;
    c.peak_mapped_bytes = peak_;
    if (r.trace.has_kernel && r.trace.meta.count("bpf.faults") && r.trace.meta.at("bpf.faults") == "1") {
      const uint64_t total = r.faults.total().faults, regrow = r.faults.brk_regrow_faults().faults;
      if (recorded_regrown_ == 0) {
        if (model_regrown_ == 0) c.faults = total;
      } else {
        const double per_byte = double(regrow) / double(recorded_regrown_);
        c.faults = total - regrow + uint64_t(per_byte * double(model_regrown_) + 0.5);
      }
    }
    row.counts = c;
    row.note = "trims only where the recorded run trimmed";
    if (freed_chunks_)
      row.note += fmt::format("; {} freed mappings of 128 KiB-32 MiB may have raised glibc's dynamic thresholds, "
                              "which the variable stops",
                              freed_chunks_);
    return row;
  }

 private:
  struct Heap {
    uint64_t base = 0;
    Break recorded, model;
  };

  void brk(const hk_sys_record& s) {
    ++recorded_brk_;
    const uint64_t to = uint64_t(s.ret);
    auto [it, first] = heaps_.try_emplace(s.pid);
    Heap& h = it->second;
    if (first || s.ret < 0 || to == h.recorded.at) {  // the first call, a query or a failure
      ++brk_calls_;
      if (first && s.ret >= 0) h.base = to, h.recorded = h.model = Break{to, to, 0};
      return;
    }
    const uint64_t in_use = to > kTopPad ? to - kTopPad : 0;
    const bool grow = to > h.recorded.at;
    if (!grow) ++trims_;
    const Heap before = h;
    if (follow_ || (grow ? in_use > h.model.at : h.model.at - std::min(h.model.at, in_use) >= t_)) {
      ++brk_calls_;
      h.model.move(to);
    }
    h.recorded.move(to);
    recorded_regrown_ += h.recorded.regrown - before.recorded.regrown;
    model_regrown_ += h.model.regrown - before.model.regrown;
    add_bytes(s.pid, int64_t(h.model.at) - int64_t(before.model.at));
  }
  void add_bytes(uint32_t pid, int64_t delta) {
    bytes_[pid] += delta;
    total_ += delta;
    if (total_ > 0 && uint64_t(total_) > peak_) peak_ = uint64_t(total_);
  }

  uint64_t t_;
  bool follow_;
  std::unordered_map<uint32_t, Heap> heaps_;
  std::unordered_map<uint32_t, std::unordered_map<uint64_t, uint64_t>> maybe_chunks_;
  uint64_t freed_chunks_ = 0;
  uint64_t other_calls_ = 0, brk_calls_ = 0, recorded_brk_ = 0, trims_ = 0;
  uint64_t recorded_regrown_ = 0, model_regrown_ = 0;
  // Per process: net mmap'd bytes plus the model's heap above its start.
  std::unordered_map<uint32_t, int64_t> bytes_;
  int64_t total_ = 0;
  uint64_t peak_ = 0;
};

}  // namespace

std::unique_ptr<WhatIfModel> make_trim_model(uint64_t threshold, bool follow_recording) {
  return std::make_unique<TrimModel>(threshold, follow_recording);
}

}  // namespace hk::analyze
