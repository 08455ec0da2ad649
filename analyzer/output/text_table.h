// TextTable: aligned plain-text columns for human-readable reports.
//
// Contract: build, then render once; any thread. By default the first
// column is left aligned and the others right aligned (they hold numbers);
// `align` ("lrrl": one letter per column) overrides that. Cells are measured
// in bytes, so keep them ASCII.
#pragma once

#include <string>
#include <vector>

namespace hk::analyze {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, std::string align = {})
      : header_(std::move(header)), align_(std::move(align)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Each line starts with `indent` spaces and ends with '\n'.
  std::string render(size_t indent = 2) const;

 private:
  bool left(size_t column) const {
    return column < align_.size() ? align_[column] == 'l' : column == 0;
  }
  std::vector<std::string> header_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hk::analyze
