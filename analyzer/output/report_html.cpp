#include "output/report_html.h"

#include "analysis/series.h"
#include "output/chart_library.h"
#include "output/units.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace hk::analyze {

namespace {

using nlohmann::json;

// Accounting-gap charts drawn, worst class first; the table lists them all.
constexpr size_t kGapCharts = 6;

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// Series values as JSON: integers stay integers (most are counts or bytes),
// which keeps the page small; NaN (no value) becomes null, a gap.
json column(const std::vector<double>& v, double scale = 1.0) {
  json a = json::array();
  for (double x : v) {
    if (std::isnan(x)) a.push_back(nullptr);
    else if (x * scale == std::floor(x * scale) && std::fabs(x * scale) < 9e15) a.push_back(static_cast<int64_t>(x * scale));
    else a.push_back(std::round(x * scale * 1000.0) / 1000.0);
  }
  return a;
}

// One chart: a title, a unit for the y axis, and named columns over the
// shared time grid. Empty (no column with data) means: do not draw it.
struct Chart {
  json spec;
  explicit Chart(std::string id, std::string title, std::string ylabel, std::string unit) {
    spec = {{"id", std::move(id)}, {"title", std::move(title)}, {"ylabel", std::move(ylabel)},
            {"unit", std::move(unit)}, {"labels", json::array({"seconds"})}, {"columns", json::array()}};
  }
  Chart& opt(const char* k, json v) {
    spec[k] = std::move(v);
    return *this;
  }
  void add(const std::string& label, json col) {
    spec["labels"].push_back(label);
    spec["columns"].push_back(std::move(col));
  }
  bool empty() const { return spec["columns"].empty(); }
};

class Page {
 public:
  explicit Page(const Report& r) : r_(r), ts_(r.series) {}

  std::string render() {
    head();
    diagnoses();
    timeline();
    syscalls();
    lru();
    accounting();
    tables();
    return finish();
  }

 private:
  // Adds a series to a chart when the trace has it.
  bool add(Chart& c, const std::string& name, const std::string& label, double scale = 1.0) {
    const TimeSeries::Id id = ts_.find(name);
    if (id == TimeSeries::kNone || !ts_.has_data(id)) return false;
    c.add(label, column(ts_.values(id), scale));
    return true;
  }
  void place(Chart& c) {
    if (c.empty()) return;
    body_ += fmt::format("<div class=\"chart\" id=\"{}\"></div>\n", esc(c.spec["id"].get<std::string>()));
    charts_.push_back(c.spec);
  }
  void note(std::string_view text) { body_ += fmt::format("<p class=\"note\">{}</p>\n", esc(text)); }
  void section(std::string_view title) { body_ += fmt::format("<h2>{}</h2>\n", esc(title)); }
  std::string window() const { return format_ns(ts_.width_ns()); }

  void head() {
    const TraceSummary& t = r_.trace;
    body_ += fmt::format("<h1>hakmem report: {}</h1>\n<table class=\"kv\">\n", esc(t.path));
    auto row = [&](std::string_view k, const std::string& v) {
      body_ += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(v));
    };
    if (!t.command.empty()) row("command", t.command);
    if (t.attached_pid)
      row("attached", fmt::format("to pid {}, {} after it started; nothing before is in the trace", t.attached_pid,
                                  format_ns(t.attached_after_ns)));
    row("run", fmt::format("{} wall, {} process(es), {} thread(s){}", format_ns(t.wall_ns()), t.processes, t.threads,
                           t.attached_pid ? "" : fmt::format(", exit status {}", t.exit_status)));
    row("sources", fmt::format("allocator events: {}; kernel records: {}",
                               t.has_allocator ? std::to_string(t.events) : "none (recorded with --no-preload)",
                               t.has_kernel ? std::to_string(t.syscall_records) : "none (recorded with --no-bpf)"));
    const AllocatorConfig& c = r_.allocator.config;
    if (c.seen)
      row("config", fmt::format("drain interval {}, LRU capacity {}, TLS SLL capacity {}, SuperSlab {}, slab {}",
                                c.drain_interval, c.lru_capacity, c.sll_capacity, format_bytes(c.superslab_bytes),
                                format_bytes(c.slab_bytes)));
    if (!t.complete) row("warning", fmt::format("trace is truncated ({}); numbers cover what was written", t.truncation));
    if (ts_.buckets())
      row("charts", fmt::format("{} points per series, one per {} window", ts_.buckets(), window()));
    body_ += "</table>\n";
  }

  void diagnoses() {
    section(r_.diagnoses.empty() ? "Diagnoses: none" : fmt::format("Diagnoses ({})", r_.diagnoses.size()));
    if (r_.diagnoses.empty()) note("No pathology above its threshold.");
    for (const Diagnosis& d : r_.diagnoses) {
      body_ += fmt::format("<div class=\"diag {0}\" id=\"diag-{1}\"><div class=\"sev\">{2}</div>"
                           "<div class=\"summary\"><code>{1}</code> {3}</div>\n",
                           esc(d.severity), esc(d.id), esc(d.severity), esc(d.summary));
      body_ += fmt::format("<p><b>Why:</b> {}</p>\n<p class=\"fix\"><b>Fix:</b> {}</p>\n", esc(d.explanation),
                           esc(d.fix));
      body_ += "<table class=\"evidence\"><tr><th>evidence</th><th>value</th></tr>\n";
      for (const Evidence& e : d.evidence)
        body_ += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td></tr>\n", esc(e.key), e.value);
      body_ += "</table></div>\n";
    }
  }

  void timeline() {
    section("Timeline: mapped memory");
    // Every byte quantity the trace has, on one axis.
    Chart bytes("mem_bytes", "Mapped and resident memory", "bytes", "bytes");
    add(bytes, series::kMappedBytes, "allocator: mapped by its OS calls");
    add(bytes, series::kKernelMappedBytes, "kernel: mmap'd minus munmap'd, any caller");
    add(bytes, series::kHeapBytes, "kernel: brk heap above its start");
    add(bytes, series::kRssBytes, "kernel: resident (RSS)");
    bytes.opt("step", true);
    place(bytes);
    Chart faults("page_faults", fmt::format("User page faults per {} window", window()), "faults", "count");
    add(faults, series::kPageFaults, "page faults");
    place(faults);
    Chart ss("superslabs", "SuperSlabs mapped", "SuperSlabs", "count");
    add(ss, series::kSuperSlabs, "SuperSlabs mapped");
    ss.opt("step", true);
    place(ss);
    if (!r_.trace.has_allocator)
      note("No allocator events (recorded with --no-preload): SuperSlabs, the LRU and the accounting gap do not "
           "apply; the charts show the kernel's view.");
    else if (ss.empty() && bytes.empty())
      note("The allocator mapped nothing while it was recorded.");
  }

  void syscalls() {
    section("Memory syscalls per time window");
    if (!r_.trace.has_kernel) {
      note("No kernel records (recorded with --no-bpf): syscall counts and latencies do not apply.");
      return;
    }
    Chart calls("sys_calls", fmt::format("Calls per {} window, by syscall", window()), "calls", "count");
    calls.opt("stacked", true);
    Chart lat("sys_latency", fmt::format("Latency per call (kernel time), per {} window", window()), "microseconds",
              "us");
    lat.opt("log", true);
    for (const auto& [nr, row] : r_.syscalls.rows()) {
      const std::string name = syscall_name(nr);
      add(calls, series::kSysCalls + name, name);
      const TimeSeries::Id c = ts_.find(series::kSysCalls + name), ns = ts_.find(series::kSysNs + name);
      if (c == TimeSeries::kNone || ns == TimeSeries::kNone || !ts_.has_data(c)) continue;
      std::vector<double> avg = ts_.values(ns);
      const std::vector<double> n = ts_.values(c);
      for (size_t i = 0; i < avg.size(); ++i) avg[i] = n[i] > 0 ? avg[i] / n[i] : std::nan("");
      lat.add(name + " mean", column(avg, 1e-3));
      add(lat, series::kSysMaxNs + name, name + " max", 1e-3);
    }
    place(calls);
    place(lat);
    if (calls.empty()) note("No memory syscalls were recorded.");
  }

  void lru() {
    section("LRU cache of empty SuperSlabs");
    if (!r_.trace.has_allocator) {
      note("Does not apply: no allocator events (recorded with --no-preload).");
      return;
    }
    Chart len("lru_length", "LRU occupancy (SuperSlabs cached)", "SuperSlabs", "count");
    add(len, series::kLruLength, "cached");
    len.opt("step", true);
    place(len);
    Chart traffic("lru_traffic", fmt::format("LRU traffic per {} window", window()), "events", "count");
    add(traffic, series::kLruPush, "pushes");
    add(traffic, series::kLruHit, "pop hits");
    add(traffic, series::kLruMiss, "pop misses");
    add(traffic, series::kLruEvict, "evictions");
    place(traffic);
    if (len.empty() && traffic.empty()) note("No LRU events in this trace.");
    else
      body_ += fmt::format("<p>{} pushes, {} pop hits, {} pop misses, {} evictions.</p>\n",
                           r_.allocator.count(HK_EV_LRU_PUSH), r_.allocator.count(HK_EV_LRU_POP_HIT),
                           r_.allocator.count(HK_EV_LRU_POP_MISS), r_.allocator.count(HK_EV_LRU_EVICT));
  }

  void accounting() {
    section("Accounting gap per size class (worst first)");
    if (!r_.trace.has_allocator) {
      note("Does not apply: no allocator events (recorded with --no-preload).");
      return;
    }
    const auto& classes = r_.accounting.classes();
    if (classes.empty()) {
      note("No accounting snapshots in this trace.");
      return;
    }
    std::vector<std::pair<uint64_t, uint8_t>> order;
    for (const auto& [cls, c] : classes) order.emplace_back(c.worst.parked, cls);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    size_t drawn = 0;
    for (const auto& [parked, cls] : order) {
      if (drawn == kGapCharts || parked == 0) break;
      const ClassAccounting& c = classes.at(cls);
      const std::string k = std::to_string(cls);
      Chart ch("gap_" + k, fmt::format("Class {} ({} blocks): used against parked", cls, format_bytes(c.block_size)),
               "blocks", "count");
      add(ch, series::kClassUsed + k, "counted used by the slabs");
      add(ch, series::kClassParked + k, "parked in thread caches");
      add(ch, series::kClassLive + k, "live");
      ch.opt("step", true);
      if (!ch.empty()) ++drawn;
      place(ch);
    }
    if (drawn == 0) note("No class ever had blocks parked in thread caches at a snapshot.");
    body_ += "<table><tr><th>class</th><th>block</th><th>snapshots</th><th>gap in</th><th>worst parked</th>"
             "<th>used then</th><th>of used</th><th>used / parked / live at the end</th></tr>\n";
    for (const auto& [parked, cls] : order) {
      const ClassAccounting& c = classes.at(cls);
      body_ += fmt::format(
          "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}"
          "</td><td class=\"n\">{}</td><td class=\"n\">{:.1f}%</td><td class=\"n\">{} / {} / {}</td></tr>\n",
          cls, format_bytes(c.block_size), c.snapshots, c.gap_snapshots, c.worst.parked, c.worst.used,
          c.worst.used ? 100.0 * double(c.worst.parked) / double(c.worst.used) : 0.0, c.last.used, c.last.parked,
          c.last.live);
    }
    body_ += "</table>\n<p class=\"note\">\"gap in\": snapshots where parked blocks are at least half of those "
             "counted used.</p>\n";
  }

  void tables() {
    section("Syscalls, as strace -c shows them (measured in the kernel)");
    if (!r_.trace.has_kernel) {
      note("Does not apply: no kernel records (recorded with --no-bpf).");
    } else {
      const double total = static_cast<double>(r_.syscalls.total_ns());
      body_ += "<table id=\"strace\"><tr><th>% time</th><th>seconds</th><th>usecs/call</th><th>calls</th>"
               "<th>errors</th><th>syscall</th><th>allocator</th><th>outside</th><th>max</th></tr>\n";
      std::vector<std::pair<uint32_t, const SyscallRow*>> rows;
      for (const auto& [nr, row] : r_.syscalls.rows()) rows.emplace_back(nr, &row);
      std::sort(rows.begin(), rows.end(),
                [](const auto& a, const auto& b) { return a.second->latency.total() > b.second->latency.total(); });
      for (const auto& [nr, row] : rows)
        body_ += fmt::format(
            "<tr><td class=\"n\">{:.2f}</td><td class=\"n\">{:.6f}</td><td class=\"n\">{}</td><td class=\"n\">{}"
            "</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
            "<td class=\"n\">{}</td></tr>\n",
            total > 0 ? 100.0 * double(row->latency.total()) / total : 0.0, double(row->latency.total()) / 1e9,
            row->latency.mean() / 1000, row->count, row->errors, syscall_name(nr), row->allocator,
            row->count - row->allocator, format_ns(row->latency.max()));
      body_ += fmt::format("<tr class=\"total\"><td class=\"n\">100.00</td><td class=\"n\">{:.6f}</td><td></td>"
                           "<td class=\"n\">{}</td><td></td><td>total</td><td></td><td></td><td></td></tr>\n",
                           total / 1e9, r_.syscalls.total_calls());
      body_ += fmt::format("</table>\n<p>Kernel time in these syscalls: {:.2f}% of the run's wall time.</p>\n",
                           r_.syscall_share_pct());
    }
    section("Top call sites outside the allocator");
    if (r_.outside_sites.empty()) {
      note(r_.trace.has_kernel ? "No memory syscalls from outside the allocator."
                               : "Does not apply: no kernel records (recorded with --no-bpf).");
      return;
    }
    body_ += "<table id=\"sites\"><tr><th>site</th><th>syscall</th><th>calls</th><th>total</th>"
             "<th>churn pairs</th></tr>\n";
    for (const SiteReport& s : r_.outside_sites)
      body_ += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                           "<td class=\"n\">{}</td></tr>\n",
                           esc(s.symbol.empty() ? fmt::format("{:#x} (pid {})", s.site.caller, s.site.pid) : s.symbol),
                           syscall_name(s.site.nr), s.site.calls, format_ns(s.site.total_ns), s.site.churn_pairs);
    body_ += fmt::format("</table>\n<p class=\"note\">{}</p>\n", esc(r_.symbolization));
  }

  std::string finish() {
    const json data = {{"width_s", static_cast<double>(ts_.width_ns()) / 1e9}, {"charts", charts_}};
    std::string blob = data.dump(-1, ' ', false, json::error_handler_t::replace);
    // Inside <script>, only "</" can end the element early; "<\/" is the
    // same JSON string.
    for (size_t at = 0; (at = blob.find("</", at)) != std::string::npos; at += 3) blob.replace(at, 2, "<\\/");
    std::string out;
    out.reserve(body_.size() + blob.size() + std::char_traits<char>::length(kDygraphsJs) + 8192);
    out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    out += fmt::format("<title>hakmem report: {}</title>\n", esc(r_.trace.path));
    out += fmt::format("<!-- charts: dygraphs {} (MIT, libjs-dygraphs), inlined -->\n", kDygraphsVersion);
    out += "<style>";
    out += kDygraphsCss;
    out += kPageCss;
    out += "</style>\n</head><body>\n";
    out += body_;
    out += "<script id=\"hk-data\" type=\"application/json\">";
    out += blob;
    out += "</script>\n<script>";
    out += kDygraphsJs;
    out += "</script>\n<script>";
    out += kPageJs;
    out += "</script>\n</body></html>\n";
    return out;
  }

  static constexpr const char* kPageCss = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } table.kv th { color: #555; font-weight: normal; }
.diag { border-left: 6px solid #888; padding: .4em 1em; margin: 1em 0; background: #fafafa; }
.diag.critical { border-color: #c0392b; } .diag.warning { border-color: #e6a700; } .diag.info { border-color: #2980b9; }
.sev { text-transform: uppercase; font-weight: bold; font-size: .85em; color: #555; }
.summary { font-weight: bold; margin: .2em 0; } .fix { background: #eef7ee; padding: .3em .5em; }
.chart { width: 100%; height: 260px; margin: 1em 0 2.2em 0; } .note { color: #666; font-style: italic; }
)css";

  // Draws every chart from the inlined data, then records what it drew.
  static constexpr const char* kPageJs = R"js(
(function () {
  var data = JSON.parse(document.getElementById('hk-data').textContent);
  var checks = { charts: [], errors: [] };
  window.addEventListener('error', function (e) { checks.errors.push(String(e.message)); });
  function fmtBytes(v) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + u[i];
  }
  function rgb(c) {
    var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c);
    if (m) return [+m[1], +m[2], +m[3]];
    m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : null;
  }
  // Pixels drawn at all, and pixels near one of the series' colours: the
  // marks, as opposed to the grid and axes.
  function inspect(div, colors) {
    var out = { width: 0, height: 0, nonblank: 0, marks: 0 };
    var cols = colors.map(rgb).filter(Boolean);
    div.querySelectorAll('canvas').forEach(function (cv) {
      out.width = Math.max(out.width, cv.width); out.height = Math.max(out.height, cv.height);
      if (!cv.width || !cv.height) return;
      var px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      for (var i = 0; i < px.length; i += 4) {
        if (px[i + 3] === 0) continue;
        out.nonblank++;
        for (var k = 0; k < cols.length; k++) {
          var c = cols[k];
          if (Math.abs(px[i] - c[0]) + Math.abs(px[i + 1] - c[1]) + Math.abs(px[i + 2] - c[2]) < 90) { out.marks++; break; }
        }
      }
    });
    return out;
  }
  data.charts.forEach(function (c) {
    var div = document.getElementById(c.id);
    var rows = [];
    var n = c.columns.length ? c.columns[0].length : 0;
    for (var i = 0; i < n; i++) {
      var row = [i * data.width_s];
      for (var k = 0; k < c.columns.length; k++) row.push(c.columns[k][i]);
      rows.push(row);
    }
    var axis = c.unit === 'bytes' ? { valueFormatter: fmtBytes, axisLabelFormatter: fmtBytes } : {};
    var g = new Dygraph(div, rows, {
      labels: c.labels, title: c.title, ylabel: c.ylabel, xlabel: 'seconds since the recording started',
      stackedGraph: !!c.stacked, fillGraph: !!c.stacked, stepPlot: !!c.step, logscale: !!c.log,
      connectSeparatedPoints: false, drawPoints: n < 40, pointSize: 2, strokeWidth: 1.5,
      legend: 'always', labelsSeparateLines: false, axes: { y: axis }, animatedZooms: false
    });
    var seen = inspect(div, g.getColors());
    seen.id = c.id; seen.series = c.columns.length; seen.points = n;
    checks.charts.push(seen);
  });
  checks.diagnoses = Array.prototype.map.call(document.querySelectorAll('.diag'), function (d) { return d.id; });
  checks.drawn_ms = performance.now();
  performance.mark('hk-drawn');
  window.__hk_checks = checks;
})();
)js";

  const Report& r_;
  const TimeSeries& ts_;
  std::string body_;
  json charts_ = json::array();
};

}  // namespace

std::string render_html(const Report& r) { return Page(r).render(); }

}  // namespace hk::analyze
