// `hakmem-analyze ring-dump NAME [--json] [--follow]`: prints the records of
// one event ring, live or after its writer died.
#include "cli/command.h"
#include "output/event_format.h"
#include "cli/exit_codes.h"
#include "trace/ring_reader.h"

#include <hakmem/ring_format.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

namespace hk::analyze {

namespace {

namespace fs = std::filesystem;

// NAME may be the ring file itself or the HAKMEM_RING value that made it
// (the writer appends ".<pid>.<mono_ns>"): that resolves if it names one ring.
std::string resolve_ring(const std::string& name) {
  std::error_code ec;
  if (fs::exists(name, ec)) return name;
  const fs::path p(name);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = p.filename().string() + ".";
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0) found.push_back(e.path().string());
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) throw RingError(fmt::format("{}: no such ring", name));
  throw RingError(fmt::format("{}: {} rings match (one per process); name one, e.g. {}", name,
                              found.size(), found.front()));
}

void print_records(const std::vector<hk_event>& evs, bool json) {
  for (const hk_event& ev : evs) {
    const std::string line = json ? format_event_json(ev) : format_event_text(ev);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
}

int run(const std::string& name, bool json, bool follow) {
  try {
    RingReader ring(resolve_ring(name));
    const RingInfo& i = ring.info();
    if (!json)
      fmt::print("# ring pid={} ppid={} mode={} capacity={} start_mono_ns={} start_realtime_ns={}\n",
                 i.pid, i.ppid, i.mode == HK_RING_MODE_FLIGHT ? "flight" : "stream", i.capacity,
                 i.start_mono_ns, i.start_realtime_ns);
    std::vector<hk_event> evs;
    bool alive = ring.writer_alive();
    while (alive) {
      evs.clear();
      ring.poll(evs);
      print_records(evs, json);
      if (!follow) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      alive = ring.writer_alive();
    }
    if (!alive) {
      evs.clear();
      ring.drain_dead(evs);
      print_records(evs, json);
    }
    const char* writer = alive ? "still running"
                         : ring.writer_exited_cleanly() ? "exited cleanly"
                                                        : "gone without a clean exit";
    fmt::print(stderr,
               "hakmem-analyze ring-dump: {} records, {} dropped, {} overwritten, {} torn; writer {} {}\n",
               ring.records_read(), ring.dropped(), ring.overwritten(), ring.torn(), i.pid,
               writer);
    return kExitOk;
  } catch (const RingError& e) {
    fmt::print(stderr, "hakmem-analyze ring-dump: {}\n", e.what());
    return kExitBadInput;
  }
}

const Register reg{Command{
    "ring-dump", "print the records of an event ring (live or left by a dead writer)",
    [](CLI::App& sub) -> std::function<int()> {
      auto name = std::make_shared<std::string>();
      auto json = std::make_shared<bool>(false);
      auto follow = std::make_shared<bool>(false);
      sub.add_option("NAME", *name, "ring file, or the HAKMEM_RING value that made it")
          ->required();
      sub.add_flag("--json", *json, "one JSON object per record");
      sub.add_flag("--follow", *follow, "keep reading until the writer exits");
      sub.footer("Example: HAKMEM_RING=/dev/shm/hk LD_PRELOAD=build/preload/libhakmem.so ./prog &\n"
                 "         hakmem-analyze ring-dump /dev/shm/hk.PID.NS --follow");
      return [=] { return run(*name, *json, *follow); };
    }}};

}  // namespace

}  // namespace hk::analyze
