// Perfetto export: a trace file in the Chrome trace event format (JSON), as
// ui.perfetto.dev and chrome://tracing open it.
//
// Contract: `hakmem-analyze export` (cli/cmd_export.cpp) calls
// export_perfetto() on its main thread. The file is read once, through the
// Timeline and the Join as the report reads it, and written as it is read:
// memory stays bounded by their limits and by the number of threads, never
// by the trace's length. What it writes:
//   - per thread, an allocator track (each event an X slice of no length,
//     with its fields as args) and a kernel track (each syscall a B/E slice
//     from enter to exit; fork, exec and exit as instants), named by "M"
//     thread_name records and sorted next to each other;
//   - per process, counter tracks ("C"): mapped bytes (the allocator's OS
//     calls), LRU occupancy, and the accounting gap of each size class
//     (used and parked blocks);
//   - a flow (s on the syscall, f on the event, one id per pair) from each
//     syscall to the allocator OS event the join matched it with.
// Timestamps are microseconds since the recording started. On every track
// they never go backward in file order: a record the timeline could not
// order (rare; Timeline::out_of_order) is moved up to its track's last
// time, and counted. A kernel track holds a syscall back until the join has
// resolved it, so that its flow, when it has one, is known when it is
// written.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace hk::analyze {

struct ExportStats {
  uint64_t events = 0, syscalls = 0, flows = 0, counters = 0;
  uint64_t moved_up = 0;  // records written at their track's last time instead of their own
  uint64_t bytes = 0;
};

// Writes the export of trace `path` to `out`. Throws TraceError when the
// trace is unusable, std::runtime_error when writing fails.
// progress, when set, is told (bytes read, file size) after each chunk.
ExportStats export_perfetto(const std::string& path, std::FILE* out,
                            const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace hk::analyze
