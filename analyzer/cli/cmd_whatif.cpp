// `hakmem-analyze whatif TRACE [--lru-cap N,...] [--large-cache BYTES,...]
// [--trim-threshold BYTES,...] [--mmap-threshold BYTES,...]
// [--purge-delay MS,...] [--format text|json]`: the trace replayed at other
// settings of the allocator's knobs (analysis/whatif.h), one row per
// setting with the recorded one marked. Without a knob option, the knobs of
// the trace's allocator at a few settings. Exit 0 when the rows were
// printed (a row may say what it needs), 2 on a bad setting or an unusable
// trace.
#include "analysis/analysis.h"
#include "cli/command.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "output/whatif_render.h"

#include <fmt/format.h>

#include <cstdio>

namespace hk::analyze {
namespace {

struct WhatIfOptions {
  std::string file, format = "text";
  std::vector<std::string> lru, large, trim, mmap, purge;
};

// "0,4,16" (CLI11 splits on the commas) into settings; false names the bad one.
bool parse_list(const std::vector<std::string>& in, std::vector<uint64_t>& out, const char* option) {
  for (const std::string& s : in) {
    const std::optional<uint64_t> v = parse_setting(s);
    if (!v) {
      fmt::print(stderr, "hakmem-analyze whatif: {} {}: expected a number (with k, m or g for bytes)\n", option, s);
      return false;
    }
    out.push_back(*v);
  }
  return true;
}

// The knobs of the trace's own allocator at a few telling settings.
WhatIfRequest default_request(const std::string& file) {
  WhatIfRequest q;
  TraceReader reader(file);
  auto it = reader.meta().find("preload");
  if (it != reader.meta().end() && it->second == "1") {
    q.lru_caps = {0, 4, 16, 64};
    q.large_caches = {0, 64u << 20, 256u << 20};
  } else {
    q.trim_thresholds = {128u << 10, 1u << 20, 16u << 20, 256u << 20};
  }
  return q;
}

Register reg{Command{
    "whatif", "Replay a trace at other settings of the allocator's knobs: maps, syscalls, peak bytes, faults",
    [](CLI::App& sub) -> std::function<int()> {
      auto o = std::make_shared<WhatIfOptions>();
      sub.add_option("TRACE", o->file, "trace file written by `record`")->required();
      sub.add_option("--lru-cap", o->lru, "HAKMEM_SS_LRU_CAP settings, e.g. 0,4,16,64")->delimiter(',');
      sub.add_option("--large-cache", o->large, "HAKMEM_LARGE_CACHE_CAP settings in bytes, e.g. 0,64M,256M")
          ->delimiter(',');
      sub.add_option("--trim-threshold", o->trim,
                     "MALLOC_TRIM_THRESHOLD_ settings for a --no-preload trace of glibc, e.g. 128K,1M")
          ->delimiter(',');
      sub.add_option("--mmap-threshold", o->mmap,
                     "MALLOC_MMAP_THRESHOLD_ settings (rows say what the trace lacks to predict them)")
          ->delimiter(',');
      sub.add_option("--purge-delay", o->purge,
                     "HAKMEM_PURGE_DELAY_MS settings (rows say what the trace lacks to predict them)")
          ->delimiter(',');
      sub.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
      sub.footer("Examples:\n"
                 "  hakmem-analyze whatif run.trace                        # the trace's allocator's knobs\n"
                 "  hakmem-analyze whatif run.trace --lru-cap 0,4,16,64 --format json\n"
                 "  hakmem-analyze whatif glibc.trace --trim-threshold 128K,1M,16M\n"
                 "The row marked * is the recorded setting, measured; the others are predictions.");
      return [o]() {
        WhatIfRequest q;
        if (!parse_list(o->lru, q.lru_caps, "--lru-cap") || !parse_list(o->large, q.large_caches, "--large-cache") ||
            !parse_list(o->trim, q.trim_thresholds, "--trim-threshold") ||
            !parse_list(o->mmap, q.mmap_thresholds, "--mmap-threshold") ||
            !parse_list(o->purge, q.purge_delays_ms, "--purge-delay"))
          return kExitBadInput;
        try {
          if (q.lru_caps.empty() && q.large_caches.empty() && q.trim_thresholds.empty() &&
              q.mmap_thresholds.empty() && q.purge_delays_ms.empty())
            q = default_request(o->file);
          Report r;
          {
            Progress progress(o->file);
            r = analyze_trace(o->file, {}, progress.fn(), q);
          }
          const std::string out =
              o->format == "json" ? render_whatif_json(r.whatif, o->file) : render_whatif_text(r.whatif, o->file);
          std::fwrite(out.data(), 1, out.size(), stdout);
          return kExitOk;
        } catch (const std::exception& e) {
          fmt::print(stderr, "hakmem-analyze whatif: {}: {}\n", o->file, e.what());
          return kExitBadInput;
        }
      };
    }}};

}  // namespace
}  // namespace hk::analyze
