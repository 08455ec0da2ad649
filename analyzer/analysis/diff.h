// Diff: the seed's before/after table, computed from two reports.
//
// Contract: pure function of two Reports, any thread. Each row is one
// metric with both values, the signed change and the change in percent (of
// the first value; absent when the first is zero or a value is undefined);
// diagnoses are split into appeared, gone and kept, by id.
#pragma once

#include "analysis/report.h"

#include <optional>
#include <string>
#include <vector>

namespace hk::analyze {

enum class Unit { count, ns, bytes, percent, ratio };

struct DiffRow {
  std::string metric;  // stable key, e.g. "syscalls.mmap"
  std::string label;   // for people
  Unit unit = Unit::count;
  std::optional<double> before, after;  // empty: undefined in that run
  std::optional<double> change() const;
  std::optional<double> change_pct() const;
};

struct ReportDiff {
  std::vector<DiffRow> rows;
  std::vector<std::string> appeared, gone, kept;
};

ReportDiff diff_reports(const Report& before, const Report& after);
std::string render_diff_text(const ReportDiff& d, const std::string& before_name,
                             const std::string& after_name, bool colour);
std::string render_diff_json(const ReportDiff& d, const std::string& before_name,
                             const std::string& after_name);

}  // namespace hk::analyze
