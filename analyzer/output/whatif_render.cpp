#include "output/whatif_render.h"

#include "output/json_dump.h"
#include "output/text_table.h"
#include "output/units.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace hk::analyze {
namespace {

bool bytes_knob(Knob k) { return k == Knob::large_cache || k == Knob::trim_threshold || k == Knob::mmap_threshold; }

std::string value_text(const WhatIfRow& r) {
  if (bytes_knob(r.knob)) return format_bytes(r.value);
  if (r.knob == Knob::purge_delay) return fmt::format("{} ms", r.value);
  return fmt::format("{}", r.value);
}

}  // namespace

std::string render_whatif_text(const std::vector<WhatIfRow>& rows, const std::string& trace) {
  std::string out = fmt::format(
      "What if: {} replayed at other settings (* = as recorded, measured; ? = the trace cannot tell)\n", trace);
  for (size_t i = 0; i < rows.size();) {
    const Knob k = rows[i].knob;
    const bool kernel = k == Knob::trim_threshold || k == Knob::mmap_threshold;
    out += fmt::format("\n{} ({})\n", knob_name(k), knob_env(k));
    std::vector<std::string> head{"", "setting"};
    if (kernel) head.insert(head.end(), {"brk calls"});
    else head.insert(head.end(), {"SS maps", "SS unmaps", "large maps", "large unmaps"});
    head.insert(head.end(), {"mem syscalls", "peak mapped", "faults"});
    TextTable t(head, "lr");
    // Each note once, with the settings it is about.
    std::vector<std::pair<std::string, std::vector<std::string>>> notes;
    auto note = [&](const std::string& text, const std::string& setting) {
      auto it = std::find_if(notes.begin(), notes.end(), [&](const auto& n) { return n.first == text; });
      if (it == notes.end()) notes.push_back({text, {setting}});
      else it->second.push_back(setting);
    };
    for (; i < rows.size() && rows[i].knob == k; ++i) {
      const WhatIfRow& r = rows[i];
      std::vector<std::string> cells{r.recorded ? "*" : "", value_text(r)};
      if (!r.counts) {
        note("needs " + r.needs, value_text(r));
        cells.resize(head.size(), "?");  // the note below says what the trace lacks
        t.add(cells);
        continue;
      }
      const WhatIfCounts& c = *r.counts;
      if (kernel) cells.push_back(fmt::format("{}", c.brk_calls));
      else
        for (uint64_t n : {c.superslab_maps, c.superslab_unmaps, c.large_maps, c.large_unmaps})
          cells.push_back(fmt::format("{}", n));
      cells.push_back(fmt::format("{}", c.memory_syscalls));
      cells.push_back(format_bytes(c.peak_mapped_bytes));
      cells.push_back(c.faults ? fmt::format("{}", *c.faults) : "-");
      t.add(cells);
      if (!r.note.empty()) note(r.note, value_text(r));
    }
    out += t.render();
    for (const auto& [text, settings] : notes) out += fmt::format("    {}: {}\n", fmt::join(settings, ", "), text);
  }
  return out;
}

std::string render_whatif_json(const std::vector<WhatIfRow>& rows, const std::string& trace) {
  nlohmann::ordered_json j;
  j["trace"] = trace;
  j["rows"] = nlohmann::ordered_json::array();
  for (const WhatIfRow& r : rows) {
    nlohmann::ordered_json o = {{"knob", knob_name(r.knob)}, {"value", r.value}, {"env", knob_env(r.knob)},
                                {"recorded", r.recorded}};
    if (r.counts) {
      const WhatIfCounts& c = *r.counts;
      o["superslab_maps"] = c.superslab_maps;
      o["superslab_unmaps"] = c.superslab_unmaps;
      o["large_maps"] = c.large_maps;
      o["large_unmaps"] = c.large_unmaps;
      o["brk_calls"] = c.brk_calls;
      o["memory_syscalls"] = c.memory_syscalls;
      o["peak_mapped_bytes"] = c.peak_mapped_bytes;
      o["faults"] = c.faults ? nlohmann::ordered_json(*c.faults) : nlohmann::ordered_json();
      if (!r.note.empty()) o["note"] = r.note;
    } else {
      o["needs"] = r.needs;
    }
    j["rows"].push_back(std::move(o));
  }
  return dump_json(j);
}

}  // namespace hk::analyze
