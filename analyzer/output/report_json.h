// JSON rendering of a Report (schema: analyzer/output/report_schema.md).
//
// Contract: pure function of the Report, any thread. The output is one JSON
// object whose layout is versioned by kReportFormatVersion: keys are only
// ever added within a version; renaming or removing one bumps it.
#pragma once

#include "analysis/report.h"

#include <string>

namespace hk::analyze {

inline constexpr int kReportFormatVersion = 1;

std::string render_json(const Report& r);

}  // namespace hk::analyze
