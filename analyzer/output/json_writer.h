// JsonWriter: a minimal streaming JSON writer for the analyzer's outputs.
//
// Contract: one writer per document, one thread. The caller nests
// begin_object/end_object and begin_array/end_array correctly; the writer
// handles commas, indentation and string escaping (control characters,
// quotes, backslashes; bytes >= 0x80 pass through, so input must be UTF-8).
// Non-finite doubles are written as null, since JSON has no NaN.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hk::analyze {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  const std::string& str() const { return out_; }

 private:
  void before_value();
  void newline();
  void close(char bracket);
  void quote(std::string_view s);
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

}  // namespace hk::analyze
