// A scratch directory for one test, removed with everything in it when the
// test ends.
//
// Contract: test-thread only. `base` is a mkdtemp(3) template prefix;
// `shared` makes the directory writable by every user, for tests that run a
// command as nobody.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

namespace hk_test {

class TempDir {
 public:
  explicit TempDir(const std::string& base, bool shared = false) {
    std::string t = base + ".XXXXXX";
    path_ = mkdtemp(t.data());
    if (shared) chmod(path_.c_str(), 0777);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace hk_test
