// Real programs with libhakmem.so preloaded, each compared with a run of the
// same program without it: exit status and stdout must match, and the
// preloaded run must carry hakmem's HAKMEM_STATS report. A program that is
// not installed is skipped, with the reason.
#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "preload_comparison.h"
#include "subprocess.h"

using hk_test::expect_same_behaviour;
using hk_test::find_in_path;
using hk_test::run_with_and_without_hakmem;
using hk_test::RunSpec;

namespace {

const std::string kPrograms = std::string(HK_SOURCE_DIR) + "/tests/integration/programs/";

// A scratch directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/hk-integ-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty())
      nftw(path_.c_str(), [](const char* p, const struct stat*, int, FTW*) { return remove(p); }, 16,
           FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#define REQUIRE_PROGRAM(name)                                                   \
  do {                                                                          \
    if (find_in_path(name).empty()) GTEST_SKIP() << name " is not installed";   \
  } while (0)

// The interpreter itself: `python3` in PATH may be a wrapper script (pyenv's
// shim is a bash script), whose own processes would also report and so
// prove nothing about python.
std::string python_interpreter() {
  if (find_in_path("python3").empty()) return "";
  RunSpec spec;
  spec.argv = {"python3", "-c", "import sys; print(sys.executable)"};
  hk_test::RunResult r = hk_test::run(spec);
  if (!r.exited_ok() || r.out.size() < 2) return "";
  return r.out.substr(0, r.out.size() - 1);
}

#define REQUIRE_PYTHON(var)                                                       \
  const std::string var = python_interpreter();                                   \
  if (var.empty()) GTEST_SKIP() << "python3 is not installed (or does not run)"

// A few thousand INSERTs as literal statements, so the parser and the pager
// both allocate, then queries whose answers depend on every row.
std::string sqlite_script() {
  std::string sql =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, payload BLOB);\n"
      "CREATE INDEX t_name ON t(name);\nBEGIN;\n";
  for (int i = 1; i <= 5000; ++i)
    sql += "INSERT INTO t(name, v, payload) VALUES('name-" + std::to_string(i * 7919 % 1000) +
           "', " + std::to_string(i) + " * 1.5, zeroblob(" + std::to_string(i % 700) + "));\n";
  sql +=
      "COMMIT;\n"
      "SELECT count(*), sum(v), count(DISTINCT name), sum(length(payload)) FROM t;\n"
      "SELECT name, count(*), group_concat(id) FROM t GROUP BY name ORDER BY count(*) DESC, name "
      "LIMIT 5;\n"
      "DELETE FROM t WHERE id % 3 = 0;\nVACUUM;\n"
      "SELECT count(*), max(id), sum(length(payload)) FROM t;\n"
      "PRAGMA integrity_check;\n";
  return sql;
}

}  // namespace

TEST(RealPrograms, Python3DictsAndListsWithPymalloc) {
  REQUIRE_PYTHON(python);
  auto runs = run_with_and_without_hakmem([&](bool) {
    return RunSpec{{python, kPrograms + "dict_churn.py"}, {{"PYTHONHASHSEED", "0"}}, "", "", 120};
  });
  expect_same_behaviour(runs);
}

TEST(RealPrograms, Python3DictsAndListsEveryObjectThroughMalloc) {
  REQUIRE_PYTHON(python);
  // PYTHONMALLOC=malloc bypasses pymalloc: every object is a malloc block.
  auto runs = run_with_and_without_hakmem([&](bool) {
    return RunSpec{{python, kPrograms + "dict_churn.py"},
                   {{"PYTHONHASHSEED", "0"}, {"PYTHONMALLOC", "malloc"}}, "", "", 120};
  });
  expect_same_behaviour(runs);
}

TEST(RealPrograms, Python3ThreadsQueueAndSubprocess) {
  REQUIRE_PYTHON(python);
  auto runs = run_with_and_without_hakmem([&](bool) {
    return RunSpec{{python, kPrograms + "threads_queue.py"},
                   {{"PYTHONHASHSEED", "0"}, {"PYTHONMALLOC", "malloc"}}, "", "", 120};
  });
  expect_same_behaviour(runs);
}

TEST(RealPrograms, PerlHashesArraysAndStrings) {
  REQUIRE_PROGRAM("perl");
  auto runs = run_with_and_without_hakmem([](bool) {
    return RunSpec{{"perl", kPrograms + "hash_churn.pl"}, {{"PERL_HASH_SEED", "0"}}, "", "", 120};
  });
  expect_same_behaviour(runs);
}

TEST(RealPrograms, BashPipeline) {
  REQUIRE_PROGRAM("bash");
  auto runs = run_with_and_without_hakmem([](bool) {
    return RunSpec{{"bash", kPrograms + "pipeline.sh"}, {{"LC_ALL", "C"}}, "", "", 120};
  });
  // bash and awk report at exit. coreutils (seq, sort, sed, ...) close
  // stderr in their atexit handler, before hakmem's report can be written.
  expect_same_behaviour(runs, 2);
}

TEST(RealPrograms, GitInitAddCommitGcFsck) {
  REQUIRE_PROGRAM("git");
  TempDir plain_dir, preload_dir;
  ASSERT_FALSE(plain_dir.path().empty());
  ASSERT_FALSE(preload_dir.path().empty());
  auto runs = run_with_and_without_hakmem([&](bool preloaded) {
    const std::string& dir = preloaded ? preload_dir.path() : plain_dir.path();
    return RunSpec{{"bash", kPrograms + "git_repo.sh"},
                   {{"HOME", dir}, {"GIT_CONFIG_NOSYSTEM", "1"}, {"LC_ALL", "C"}},
                   "",
                   dir,
                   120};
  });
  expect_same_behaviour(runs, 5);
}

TEST(RealPrograms, GppCompilesAProjectSource) {
  REQUIRE_PROGRAM("g++");
  REQUIRE_PROGRAM("nm");
  TempDir plain_dir, preload_dir;
  ASSERT_FALSE(plain_dir.path().empty());
  ASSERT_FALSE(preload_dir.path().empty());
  auto runs = run_with_and_without_hakmem([&](bool preloaded) {
    return RunSpec{{"bash", kPrograms + "compile_source.sh",
                    std::string(HK_SOURCE_DIR) + "/tests/integration/subprocess.cpp",
                    std::string(HK_SOURCE_DIR) + "/include"},
                   {{"LC_ALL", "C"}},
                   "",
                   preloaded ? preload_dir.path() : plain_dir.path(),
                   180};
  });
  // The driver, cc1plus and as at least.
  expect_same_behaviour(runs, 3);
}

TEST(RealPrograms, Sqlite3ThousandsOfInsertsAndQueries) {
  REQUIRE_PROGRAM("sqlite3");
  TempDir plain_dir, preload_dir;
  ASSERT_FALSE(plain_dir.path().empty());
  ASSERT_FALSE(preload_dir.path().empty());
  const std::string sql = sqlite_script();
  auto runs = run_with_and_without_hakmem([&](bool preloaded) {
    const std::string& dir = preloaded ? preload_dir.path() : plain_dir.path();
    return RunSpec{{"sqlite3", "-batch", dir + "/test.db"}, {}, sql, dir, 120};
  });
  expect_same_behaviour(runs);
}
