// Allocator knobs: which allocator a call site belongs to, told from the
// library its symbol is in, and the setting of that allocator which governs
// each kind of churn. The diagnoses' fixes name these, so that the advice
// for a call site inside libjemalloc is jemalloc's decay time, not glibc's
// mmap threshold.
//
// Contract: pure functions, any thread. The symbol is the Symbolizer's
// "func+0x1a (libfoo.so.1)" or "(libfoo.so.1+0x1234)"; an empty or
// unknown one is the program's own code.
#pragma once

#include <string>
#include <string_view>

namespace hk::analyze {

enum class SiteOwner { program, glibc, jemalloc, mimalloc, tcmalloc, hakmem };

SiteOwner owner_of(std::string_view symbol);
const char* owner_name(SiteOwner o);  // "glibc malloc", "jemalloc", ...

// How to make the owner keep memory it gives back with madvise and then
// faults in again.
std::string purge_fix(SiteOwner o);
// How to make it stop mapping and unmapping the same memory.
std::string mmap_churn_fix(SiteOwner o);
// How to make glibc stop trimming and regrowing its brk heap.
std::string brk_trim_fix();

}  // namespace hk::analyze
