// Diagnoses: turns a report's numbers into named findings, each with a
// stable id, a severity, the evidence, a plain explanation and the fix.
//
// Contract: diagnose() is a pure function of the Report's metrics (it reads
// everything but Report::diagnoses) and is deterministic. Each diagnosis has
// its thresholds as named constants in diagnoses.cpp, chosen so that none
// fires on a healthy run; ids never change meaning once published (CI gates
// on them with `check --forbid ID`).
#pragma once

#include "analysis/report.h"

#include <string>
#include <vector>

namespace hk::analyze {

std::vector<Diagnosis> diagnose(const Report& r);

// Every id diagnose() can produce, in the order it reports them.
const std::vector<std::string>& diagnosis_ids();

}  // namespace hk::analyze
