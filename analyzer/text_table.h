// TextTable: aligned plain-text columns for human-readable reports.
//
// Contract: build, then render once; any thread. The first column is left
// aligned, the others right aligned (they hold numbers). Cells are measured
// in bytes, so keep them ASCII.
#pragma once

#include <string>
#include <vector>

namespace hk::analyze {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Each line starts with `indent` spaces and ends with '\n'.
  std::string render(size_t indent = 2) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hk::analyze
