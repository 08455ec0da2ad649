// Report rendering (JSON schema, text), diff and check on constructed runs.
#include "analysis/analysis.h"
#include "analysis/check.h"
#include "analysis/diff.h"
#include "output/report_html.h"
#include "output/report_json.h"
#include "output/report_text.h"
#include "scenarios.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace hk::analyze;
using hk::synth::Stream;
using nlohmann::json;

namespace {

Report analyse(void (*build)(Stream&, uint64_t, size_t), uint64_t n) {
  Analysis a("synthetic.hkt");
  a.add_meta({{"start_mono_ns", "1000000000"}, {"bpf", "1"}, {"command", "bench \"quoted\"\tx"}});
  Stream s([&](uint32_t pid, std::span<const hk_event> ev, std::span<const hk_sys_record> sys) {
    if (!sys.empty()) a.add_syscalls(sys);
    if (!ev.empty()) a.add_events(pid, ev);
  });
  build(s, n, 4096);
  hk_trace_footer f{};
  f.end_mono_ns = s.now() + 1000;
  a.add_footer(f);
  return a.finish();
}

void expect_counts(const json& obj, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    ASSERT_TRUE(obj.contains(k)) << "missing " << k;
    EXPECT_TRUE(obj.at(k).is_number()) << k;
    EXPECT_GE(obj.at(k).get<double>(), 0) << k;
  }
}

}  // namespace

TEST(ReportJson, FollowsTheDocumentedSchema) {
  const Report r = analyse(hk::synth::seed_drain_off, 50);
  const json j = json::parse(render_json(r));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("format_version").get<double>(), kReportFormatVersion);
  EXPECT_EQ(j.at("trace").at("command").get<std::string>(), "bench \"quoted\"\tx");
  expect_counts(j.at("trace"), {"wall_ns", "allocator_events", "kernel_records", "processes", "threads"});

  ASSERT_TRUE(j.at("diagnoses").is_array());
  ASSERT_EQ(j.at("diagnoses").size(), r.diagnoses.size());
  for (const json& d : j.at("diagnoses")) {
    for (const char* k : {"id", "severity", "summary", "explanation", "fix"}) EXPECT_TRUE(d.at(k).is_string()) << k;
    EXPECT_TRUE(d.at("severity").get<std::string>() == "critical" || d.at("severity").get<std::string>() == "warning" ||
                d.at("severity").get<std::string>() == "info");
    ASSERT_TRUE(d.at("evidence").is_object());
    for (const auto& [k, v] : d.at("evidence").items()) EXPECT_TRUE(v.is_number()) << k;
  }
  EXPECT_EQ(j.at("diagnoses").at(0).at("id").get<std::string>(), "lru_unreachable");

  ASSERT_TRUE(j.at("syscalls").contains("mmap"));
  expect_counts(j.at("syscalls").at("mmap"), {"count", "errors", "allocator", "outside", "total_ns", "avg_ns", "max_ns"});
  EXPECT_EQ(j.at("syscalls").at("mmap").at("count").get<double>(), 50);
  expect_counts(j.at("syscall_totals"), {"count", "total_ns", "share_pct"});

  expect_counts(j.at("allocator"), {"superslab_map", "superslab_unmap", "lru_push", "lru_hit", "lru_miss", "lru_evict",
                                 "slab_empty", "drain", "slab_acquire", "peak_mapped_bytes"});
  EXPECT_EQ(j.at("allocator").at("lru_miss").get<double>(), 50);
  EXPECT_TRUE(j.at("allocator").at("lru_hit_rate").is_number());

  expect_counts(j.at("join"), {"matched", "kernel_only", "allocator_only", "lost_to_drops"});
  EXPECT_EQ(j.at("join").at("matched").get<double>(), 50);
  EXPECT_EQ(j.at("join").at("rate").get<double>(), 1.0);
  ASSERT_TRUE(j.at("accounting").is_array());
  EXPECT_EQ(j.at("accounting").size(), 4u);
  expect_counts(j.at("accounting").at(0).at("worst"), {"used", "parked", "live", "cache_capacity"});
  expect_counts(j.at("drops"), {"ring_dropped", "kernel_lost", "total"});
  EXPECT_TRUE(j.at("outside").at("sites").is_array());
}

TEST(ReportJson, UndefinedRatesAreNull) {
  Analysis a("empty");
  const json j = json::parse(render_json(a.finish()));
  EXPECT_TRUE(j.at("allocator").at("lru_hit_rate").is_null());
  EXPECT_TRUE(j.at("join").at("rate").is_null());
  EXPECT_FALSE(j.at("join").at("available").is_null());
}

TEST(ReportText, SaysWhatHappenedAndColoursOnlyOnRequest) {
  const Report r = analyse(hk::synth::seed_drain_off, 50);
  const std::string plain = render_text(r, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_NE(plain.find("[lru_unreachable] LRU unreachable: 50 LRU lookups, 0 pushes"), std::string::npos) << plain;
  EXPECT_NE(plain.find("HAKMEM_TLS_SLL_DRAIN_INTERVAL=1024"), std::string::npos);
  EXPECT_NE(plain.find("Syscalls, measured in the kernel"), std::string::npos);
  EXPECT_NE(render_text(r, true).find("\x1b[1;31mCRITICAL"), std::string::npos);
}

TEST(Diff, BeforeAfterTableAndDiagnosesGone) {
  const Report before = analyse(hk::synth::seed_drain_off, 100);
  const Report after = analyse(hk::synth::healthy, 100);
  const ReportDiff d = diff_reports(before, after);
  EXPECT_EQ(d.gone, (std::vector<std::string>{"accounting_gap", "lru_unreachable", "stuck_slabs"}));
  EXPECT_TRUE(d.appeared.empty());
  const DiffRow* mmap = nullptr;
  for (const DiffRow& row : d.rows)
    if (row.metric == "syscalls.mmap") mmap = &row;
  ASSERT_NE(mmap, nullptr);
  EXPECT_EQ(*mmap->before, 100);
  EXPECT_EQ(*mmap->after, 24);  // 20 loader-style mappings + 4 SuperSlabs
  EXPECT_EQ(*mmap->change(), -76);
  EXPECT_DOUBLE_EQ(*mmap->change_pct(), -76.0);
  const std::string text = render_diff_text(d, "off.hkt", "on.hkt", false);
  EXPECT_NE(text.find("-76.0%"), std::string::npos) << text;
  const json j = json::parse(render_diff_json(d, "off.hkt", "on.hkt"));
  EXPECT_EQ(j.at("metrics").at("syscalls.mmap").at("change").get<double>(), -76);
  EXPECT_EQ(j.at("gone").size(), 3u);
}

TEST(Check, EachLimitPassesOrFailsWithItsNumbers) {
  const Report bad = analyse(hk::synth::seed_drain_off, 100);
  CheckLimits l;
  l.max_syscalls = 50;
  l.max_syscall_share_pct = 100.0;
  l.min_lru_hit_rate = 0.5;
  l.forbid = {"lru_unreachable", "brk_trim_churn"};
  const auto res = run_checks(bad, l);
  ASSERT_EQ(res.size(), 5u);
  EXPECT_FALSE(res[0].ok);
  EXPECT_EQ(res[0].detail, "100 memory syscalls > 50");
  EXPECT_TRUE(res[1].ok);
  EXPECT_FALSE(res[2].ok);
  EXPECT_FALSE(res[3].ok);
  EXPECT_EQ(res[3].name, "forbid lru_unreachable");
  EXPECT_TRUE(res[4].ok);

  const Report good = analyse(hk::synth::healthy, 100);
  l.max_syscalls = 100;
  for (const CheckResult& c : run_checks(good, l)) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

// The HTML page: self-contained (no external reference), its diagnoses
// present, and its chart data well-formed: every column as long as the
// grid, at most TimeSeries::kMaxBuckets points.
TEST(ReportHtml, IsSelfContainedAndItsChartDataIsWellFormed) {
  const Report r = analyse(hk::synth::seed_drain_off, 50);
  const std::string page = render_html(r);
  for (const char* external : {"src=\"http", "href=\"http", "src=\"//", "@import", "url(http"})
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  EXPECT_NE(page.find("id=\"diag-lru_unreachable\""), std::string::npos);
  const std::string open = "<script id=\"hk-data\" type=\"application/json\">";
  const size_t at = page.find(open);
  ASSERT_NE(at, std::string::npos);
  const size_t end = page.find("</script>", at);
  const json data = json::parse(page.substr(at + open.size(), end - at - open.size()));
  ASSERT_FALSE(data.at("charts").empty());
  for (const json& c : data.at("charts")) {
    const json& cols = c.at("columns");
    ASSERT_FALSE(cols.empty()) << c.at("id");
    EXPECT_EQ(c.at("labels").size(), cols.size() + 1) << c.at("id");
    for (const json& col : cols) {
      EXPECT_EQ(col.size(), r.series.buckets()) << c.at("id");
      EXPECT_LE(col.size(), TimeSeries::kMaxBuckets);
    }
  }
  // Every chart named in the page has its data, and the other way round.
  size_t divs = 0;
  for (size_t p = 0; (p = page.find("class=\"chart\"", p)) != std::string::npos; ++p) ++divs;
  EXPECT_EQ(divs, data.at("charts").size());
}
