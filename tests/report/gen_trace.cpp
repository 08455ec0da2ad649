// gen_trace: writes a synthetic trace file with the project's TraceWriter.
//
//   gen_trace OUT [--scenario bench|seed|healthy|churn|random] [--events N]
//
// `bench` writes N allocator events (plus the matching kernel records) for
// scripts/bench_report.sh; `random` writes N records of random bytes in
// well-formed chunks (hostile content that passes every CRC); the other
// scenarios are small recordings of the seed's shapes for command-level
// tests. Not a test itself.
#include "scenarios.h"
#include "trace/trace_file.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char** argv) {
  CLI::App app{"write a synthetic hakmem trace"};
  std::string out, scenario = "bench";
  uint64_t events = 1'000'000;
  app.add_option("OUT", out, "trace file to write")->required();
  app.add_option("--scenario", scenario)->check(CLI::IsMember({"bench", "seed", "healthy", "churn", "random"}));
  app.add_option("--events", events, "allocator events for the bench scenario");
  CLI11_PARSE(app, argc, argv);

  try {
    const uint32_t pid = 4242;
    const uint64_t start = 1'000'000'000;
    hk::analyze::TraceMeta meta = {{"command", "gen_trace --scenario " + scenario},
                                   {"host", "synthetic"},
                                   {"clock", "CLOCK_MONOTONIC"},
                                   {"start_mono_ns", std::to_string(start)},
                                   {"preload", "1"},
                                   {"bpf", "1"}};
    hk::analyze::TraceWriter w(out, meta);
    hk_trace_ring_info ring{};
    ring.pid = pid;
    ring.state = 1;
    ring.capacity = 1 << 16;
    ring.start_mono_ns = start;
    w.append_ring(ring);
    hk::synth::Stream s(
        [&](uint32_t p, std::span<const hk_event> ev, std::span<const hk_sys_record> sys) {
          // The recorder writes each source's records as separate chunks.
          if (!sys.empty()) w.append_syscalls(sys);
          if (!ev.empty()) w.append_events(p, ev);
        },
        pid, start);
    if (scenario == "random") {
      uint64_t x = 88172645463325252ull;
      auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
      };
      std::vector<hk_event> ev(512);
      std::vector<hk_sys_record> sys(512);
      for (uint64_t done = 0; done < events; done += ev.size()) {
        for (auto* rec : {static_cast<void*>(ev.data()), static_cast<void*>(sys.data())}) {
          auto* w64 = static_cast<uint64_t*>(rec);
          const size_t words = rec == ev.data() ? ev.size() * sizeof(hk_event) / 8 : sys.size() * sizeof(hk_sys_record) / 8;
          for (size_t i = 0; i < words; ++i) w64[i] = next() >> (next() % 64);  // mixed magnitudes
        }
        w.append_events(uint32_t(next() % 5), ev);
        w.append_syscalls(sys);
      }
    } else if (scenario == "bench") {
      hk::synth::bench_mix(s, events);
    }
    else if (scenario == "seed") hk::synth::seed_drain_off(s);
    else if (scenario == "healthy") hk::synth::healthy(s);
    else hk::synth::superslab_churn(s);
    ring.state = 2;
    ring.records_read = s.event_count();
    w.append_ring(ring);
    hk_trace_footer f{};
    f.end_mono_ns = s.now() + 1'000'000;
    w.finish(f);
    fmt::print("gen_trace: {}: {} allocator events, {} kernel records\n", out, w.events_written(), w.syscalls_written());
  } catch (const std::exception& e) {
    fmt::print(stderr, "gen_trace: {}\n", e.what());
    return 2;
  }
  return 0;
}
