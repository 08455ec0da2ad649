#include "analysis/diff.h"

#include "output/json_dump.h"
#include "output/report_json.h"
#include "output/text_table.h"
#include "output/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace hk::analyze {

std::optional<double> DiffRow::change() const {
  if (!before || !after) return std::nullopt;
  return *after - *before;
}

std::optional<double> DiffRow::change_pct() const {
  if (!before || !after || *before == 0) return std::nullopt;
  return 100.0 * (*after - *before) / std::fabs(*before);
}

namespace {

std::optional<double> hit_rate(const Report& r) {
  const double h = r.allocator.lru_hit_rate();
  return h < 0 ? std::nullopt : std::optional<double>(h);
}

std::optional<double> join_rate(const Report& r) {
  const double j = r.join.rate();
  return !r.join.available || j < 0 ? std::nullopt : std::optional<double>(j);
}

uint64_t worst_parked(const Report& r) {
  uint64_t w = 0;
  for (const auto& [cls, c] : r.accounting.classes()) w = std::max(w, c.worst.parked);
  return w;
}

uint64_t syscall_count(const Report& r, uint32_t nr) {
  auto it = r.syscalls.rows().find(nr);
  return it == r.syscalls.rows().end() ? 0 : it->second.count;
}

uint64_t align_trims(const Report& r) {
  uint64_t n = 0;
  for (const auto& [p, c] : r.allocator.align_trims_by_purpose) n += c;
  return n;
}

std::string cell(const std::optional<double>& v, Unit u) {
  if (!v) return "n/a";
  const double x = *v;
  switch (u) {
    case Unit::ns: return x < 0 ? fmt::format("-{}", format_ns(uint64_t(-x))) : format_ns(uint64_t(x));
    case Unit::bytes: return x < 0 ? fmt::format("-{}", format_bytes(uint64_t(-x))) : format_bytes(uint64_t(x));
    case Unit::percent: return fmt::format("{:.1f}%", x);
    case Unit::ratio: return fmt::format("{:.3f}", x);
    case Unit::count: return fmt::format("{}", int64_t(x));
  }
  return "";
}

std::string signed_cell(const std::optional<double>& v, Unit u) {
  if (!v) return "n/a";
  // A change of a percentage is in percentage points, not percent.
  if (u == Unit::percent) return fmt::format("{:+.1f} pp", *v);
  const std::string s = cell(v, u);
  return *v > 0 ? fmt::format("+{}", s) : s;
}

}  // namespace

ReportDiff diff_reports(const Report& a, const Report& b) {
  ReportDiff d;
  auto add = [&](std::string metric, std::string label, Unit u, std::optional<double> x, std::optional<double> y) {
    d.rows.push_back(DiffRow{std::move(metric), std::move(label), u, x, y});
  };
  auto count = [&](std::string metric, std::string label, auto get) {
    add(std::move(metric), std::move(label), Unit::count, double(get(a)), double(get(b)));
  };
  add("wall_ns", "wall time", Unit::ns, double(a.trace.wall_ns()), double(b.trace.wall_ns()));
  const bool kernel = a.trace.has_kernel && b.trace.has_kernel;
  auto kernel_only = [&](double v) { return kernel ? std::optional<double>(v) : std::nullopt; };
  add("syscalls.total", "memory syscalls", Unit::count, kernel_only(double(a.syscalls.total_calls())),
      kernel_only(double(b.syscalls.total_calls())));
  for (uint32_t nr : {HK_NR_MMAP, HK_NR_MUNMAP, HK_NR_MADVISE, HK_NR_BRK, HK_NR_MREMAP})
    add("syscalls." + syscall_name(nr), "  " + syscall_name(nr) + " calls", Unit::count,
        kernel_only(double(syscall_count(a, nr))), kernel_only(double(syscall_count(b, nr))));
  add("syscalls.total_ns", "syscall time", Unit::ns, kernel_only(double(a.syscalls.total_ns())),
      kernel_only(double(b.syscalls.total_ns())));
  add("syscalls.share_pct", "syscall share of wall", Unit::percent, kernel_only(a.syscall_share_pct()),
      kernel_only(b.syscall_share_pct()));
  count("allocator.superslab_map", "SuperSlab maps", [](const Report& r) { return r.allocator.count(HK_EV_SS_MAP); });
  count("allocator.superslab_unmap", "SuperSlab unmaps",
        [](const Report& r) { return r.allocator.count(HK_EV_SS_UNMAP); });
  count("allocator.lru_push", "LRU pushes", [](const Report& r) { return r.allocator.count(HK_EV_LRU_PUSH); });
  count("allocator.lru_hit", "LRU hits", [](const Report& r) { return r.allocator.count(HK_EV_LRU_POP_HIT); });
  count("allocator.lru_miss", "LRU misses", [](const Report& r) { return r.allocator.count(HK_EV_LRU_POP_MISS); });
  add("allocator.lru_hit_rate", "LRU hit rate", Unit::ratio, hit_rate(a), hit_rate(b));
  count("allocator.slab_empty", "slabs emptied", [](const Report& r) { return r.allocator.count(HK_EV_SLAB_EMPTY); });
  count("allocator.drain", "drains", [](const Report& r) { return r.allocator.count(HK_EV_DRAIN); });
  count("allocator.large_map", "large maps", [](const Report& r) { return r.allocator.count(HK_EV_LARGE_MAP); });
  count("allocator.align_trims", "alignment trims", align_trims);
  add("allocator.peak_mapped_bytes", "peak mapped", Unit::bytes, double(a.allocator.peak_mapped_bytes),
      double(b.allocator.peak_mapped_bytes));
  count("accounting.worst_parked", "worst parked blocks", worst_parked);
  add("join.rate", "join rate", Unit::ratio, join_rate(a), join_rate(b));
  count("outside.churn_pairs", "foreign mmap churn pairs", [](const Report& r) { return r.outside.churn_pairs(); });
  count("outside.brk_cycles", "brk trim cycles", [](const Report& r) { return r.outside.brk().cycles; });
  count("drops.total", "dropped records", [](const Report& r) { return r.drops.total(); });

  std::set<std::string> ia, ib;
  for (const Diagnosis& x : a.diagnoses) ia.insert(x.id);
  for (const Diagnosis& x : b.diagnoses) ib.insert(x.id);
  for (const std::string& id : ib) (ia.count(id) ? d.kept : d.appeared).push_back(id);
  for (const std::string& id : ia)
    if (!ib.count(id)) d.gone.push_back(id);
  return d;
}

std::string render_diff_text(const ReportDiff& d, const std::string& an, const std::string& bn, bool colour) {
  std::string out = fmt::format("{}hakmem diff{}\n  A  {}\n  B  {}\n\n", colour ? "\x1b[1m" : "",
                                colour ? "\x1b[0m" : "", an, bn);
  TextTable t({"metric", "A", "B", "change", "%"});
  for (const DiffRow& r : d.rows) {
    const auto p = r.change_pct();
    t.add({r.label, cell(r.before, r.unit), cell(r.after, r.unit), signed_cell(r.change(), r.unit),
           p ? fmt::format("{:+.1f}%", *p) : ""});
  }
  out += t.render() + "\n";
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& id : v) s += (s.empty() ? "" : ", ") + id;
    return s.empty() ? std::string("none") : s;
  };
  out += fmt::format("Diagnoses\n  gone:     {}\n  appeared: {}\n  kept:     {}\n", list(d.gone), list(d.appeared),
                     list(d.kept));
  return out;
}

std::string render_diff_json(const ReportDiff& d, const std::string& an, const std::string& bn) {
  using Json = nlohmann::ordered_json;
  auto opt = [](const std::optional<double>& v) { return v ? json_number(*v) : Json(nullptr); };
  Json metrics = Json::object();
  for (const DiffRow& r : d.rows)
    metrics[r.metric] = {{"before", opt(r.before)},
                         {"after", opt(r.after)},
                         {"change", opt(r.change())},
                         {"change_pct", opt(r.change_pct())}};
  Json j = {{"format_version", kReportFormatVersion}, {"before", an}, {"after", bn}, {"metrics", std::move(metrics)}};
  for (auto [name, ids] : {std::pair{"appeared", &d.appeared}, {"gone", &d.gone}, {"kept", &d.kept}}) j[name] = *ids;
  return dump_json(j);
}

}  // namespace hk::analyze
