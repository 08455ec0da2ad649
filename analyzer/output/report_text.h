// Text rendering of a Report, for people: the diagnoses first (what
// happened and what to fix), then the evidence tables.
//
// Contract: pure function of the Report, any thread. ANSI colour is added
// only when `colour` is true; the caller passes isatty(stdout).
#pragma once

#include "analysis/report.h"

#include <string>

namespace hk::analyze {

std::string render_text(const Report& r, bool colour);

}  // namespace hk::analyze
