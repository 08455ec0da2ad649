// HTML rendering of a Report: one self-contained page (the charting
// library, its data and the page's script inlined; no network) with, in
// this order, the diagnoses with their evidence and fix, the timeline of
// mapped memory, memory syscalls per time window with their latency, the
// LRU, the accounting gap per size class (worst first), the strace -c
// style table and the top call sites outside the allocator.
//
// Contract: pure function of the Report, any thread. A chart is drawn only
// for series the trace has (Report::series); what does not apply (say the
// allocator's charts of a --no-preload trace) is named in one line instead,
// never shown as an empty chart. The page's size is bounded by the series'
// points (TimeSeries::kMaxBuckets each), not by the trace's length. Once it
// has drawn, the page's script sets window.__hk_checks (each chart's
// canvas size, non-blank pixels and pixels in its series' colours) and the
// performance mark "hk-drawn", which tests/report/html_test.py reads.
#pragma once

#include "analysis/report.h"

#include <string>

namespace hk::analyze {

std::string render_html(const Report& r);

}  // namespace hk::analyze
