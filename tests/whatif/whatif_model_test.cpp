// whatif's models on what they can be checked against without running a
// program: at the recorded setting a model must give back the recorded
// counts (checked-in traces), a hand-built stream gives the LRU's exact
// arithmetic, and rows the trace cannot predict say what they need.
#include "analysis/analysis.h"
#include "analysis/whatif.h"
#include "report/synthetic.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace hk::analyze {
namespace {

const std::string kData = HK_REPORT_DATA_DIR;

// Runs one model over a trace in time order, as the Analysis does.
WhatIfRow replay(const std::string& path, std::unique_ptr<WhatIfModel> model) {
  struct Sink : TimelineSink {
    WhatIfModel* m;
    void on_event(uint32_t pid, const hk_event& ev) override { m->on_event(pid, ev); }
    void on_syscall(const hk_sys_record& rec) override { m->on_syscall(rec); }
  } sink;
  sink.m = model.get();
  Timeline timeline(sink);
  TraceReader reader(path);
  TraceChunk chunk;
  while (reader.next(chunk)) timeline.push_chunk(chunk);
  timeline.finish();
  return model->finish(analyze_trace(path));
}

const WhatIfRow& recorded_row(const Report& r, Knob k) {
  for (const WhatIfRow& row : r.whatif)
    if (row.knob == k && row.recorded) return row;
  throw std::runtime_error("no recorded row");
}

void expect_same(const WhatIfCounts& predicted, const WhatIfCounts& measured) {
  EXPECT_EQ(predicted.superslab_maps, measured.superslab_maps);
  EXPECT_EQ(predicted.superslab_unmaps, measured.superslab_unmaps);
  EXPECT_EQ(predicted.large_maps, measured.large_maps);
  EXPECT_EQ(predicted.large_unmaps, measured.large_unmaps);
  EXPECT_EQ(predicted.brk_calls, measured.brk_calls);
  EXPECT_EQ(predicted.memory_syscalls, measured.memory_syscalls);
  EXPECT_EQ(predicted.peak_mapped_bytes, measured.peak_mapped_bytes);
}

// The model made for the recorded setting of `name`'s trace gives back
// what the trace measured.
void expect_recorded_reproduced(const char* name, Knob k,
                                const std::function<std::unique_ptr<WhatIfModel>(uint64_t)>& make) {
  SCOPED_TRACE(name);
  const std::string path = kData + "/" + name + ".hkt";
  const Report r = analyze_trace(path);
  const WhatIfRow& m = recorded_row(r, k);
  const WhatIfRow p = replay(path, make(m.value));
  ASSERT_TRUE(p.counts) << p.needs;
  expect_same(*p.counts, *m.counts);
}

TEST(WhatIf, AtTheRecordedSettingEachModelGivesTheRecordedCounts) {
  for (const char* name : {"superslab_churn", "fill_free_all_drain_off", "seed_drain_on"})
    expect_recorded_reproduced(name, Knob::lru_cap, make_lru_model);
  expect_recorded_reproduced("large_block_churn", Knob::large_cache, make_large_cache_model);
  for (const char* name : {"brk_trim_churn", "brk_trim_regrow"})
    expect_recorded_reproduced(name, Knob::trim_threshold, [](uint64_t t) { return make_trim_model(t); });
}

// Two SuperSlabs needed, both freed, then three needed: a cap of 1 keeps one
// (the other unmapped at its free), so the second round maps two again.
TEST(WhatIf, LruArithmetic) {
  auto model = [](uint64_t cap) {
    auto m = make_lru_model(cap);
    uint64_t t = 1;
    auto ev = [&](uint16_t type) { m->on_event(1, synth::allocator_event(t++, type, 1, HK_CLASS_NONE, 0, 0, 0, 0)); };
    for (int i = 0; i < 2; ++i) ev(HK_EV_LRU_POP_MISS);
    for (int i = 0; i < 2; ++i) ev(HK_EV_LRU_PUSH);
    ev(HK_EV_LRU_POP_HIT);
    for (int i = 0; i < 2; ++i) ev(HK_EV_LRU_POP_MISS);
    return m->finish(Report{});
  };
  const WhatIfRow zero = model(0), one = model(1), four = model(4);
  EXPECT_EQ(zero.counts->superslab_maps, 5u);
  EXPECT_EQ(zero.counts->superslab_unmaps, 2u);
  EXPECT_EQ(one.counts->superslab_maps, 4u);
  EXPECT_EQ(one.counts->superslab_unmaps, 1u);
  EXPECT_EQ(four.counts->superslab_maps, 3u);
  EXPECT_EQ(four.counts->superslab_unmaps, 0u);
  EXPECT_EQ(four.counts->peak_mapped_bytes, 3u * (2u << 20));
}

TEST(WhatIf, AnAttachedTraceKeepsWhatWasMappedBeforeInEveryRow) {
  // attach's first record: 5 MiB mapped before the ring opened. Each row's
  // peak is the replay's own plus those bytes.
  auto peak = [](uint64_t cap, bool attached) {
    auto m = make_lru_model(cap);
    if (attached) m->on_event(1, synth::allocator_event(1, HK_EV_ATTACH, 1, HK_CLASS_NONE, 0, 1, 5u << 20, 2));
    m->on_event(1, synth::allocator_event(2, HK_EV_LRU_POP_MISS, 1, HK_CLASS_NONE, 0, 0, 0, 0));
    return m->finish(Report{}).counts->peak_mapped_bytes;
  };
  for (uint64_t cap : {0u, 4u}) EXPECT_EQ(peak(cap, true), peak(cap, false) + (5u << 20)) << "cap " << cap;
}

TEST(WhatIf, RowsTheTraceCannotPredictSayWhatTheyNeed) {
  WhatIfRequest q;
  q.trim_thresholds = {64u << 10, 1u << 20};
  q.mmap_thresholds = {1u << 20};
  q.lru_caps = {4};
  const Report glibc = analyze_trace(kData + "/brk_trim_churn.hkt", {}, {}, q);
  for (const WhatIfRow& row : glibc.whatif) {
    if (row.recorded) continue;
    SCOPED_TRACE(std::string(knob_name(row.knob)) + "=" + std::to_string(row.value));
    const bool predictable = row.knob == Knob::trim_threshold && row.value >= (128u << 10);
    EXPECT_EQ(bool(row.counts), predictable) << row.needs;
    if (!row.counts) {
      EXPECT_FALSE(row.needs.empty());
    }
  }
  // A large cache that reused a mapping logged no free: the request stream
  // is not in the trace.
  auto large = make_large_cache_model(256u << 20);
  large->on_event(1, synth::allocator_event(1, HK_EV_LARGE_MAP, 1, HK_CLASS_NONE, 0, 1u << 30, 1u << 20, 1u << 20));
  large->on_event(1, synth::allocator_event(2, HK_EV_LARGE_REUSE, 1, HK_CLASS_NONE, 0, 1u << 30, 1u << 20,
                                            1u << 20, 0, 1));
  const WhatIfRow row = large->finish(Report{});
  EXPECT_FALSE(row.counts);
  EXPECT_NE(row.needs.find("every large malloc and free"), std::string::npos) << row.needs;
}

TEST(WhatIf, SettingsParseAsTheAllocatorReadsThem) {
  EXPECT_EQ(parse_setting("64M"), 64u << 20);
  EXPECT_EQ(parse_setting("512k"), 512u << 10);
  EXPECT_EQ(parse_setting("16"), 16u);
  EXPECT_FALSE(parse_setting(""));
  EXPECT_FALSE(parse_setting("4x"));
  EXPECT_FALSE(parse_setting("M"));
}

}  // namespace
}  // namespace hk::analyze
