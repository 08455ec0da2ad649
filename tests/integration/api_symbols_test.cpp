// First thing the API suite proves: hakmem, not glibc, is the allocator in
// this process, and every symbol a drop-in replacement must provide resolves
// into libhakmem.so. Without this, every other API test could pass on glibc.
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::opaque;

namespace {

bool same_file(const char* a, const char* b) {
  struct stat sa {}, sb {};
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Where the process's global symbol lookup (the one every caller gets)
// finds `name`: the file of the object that defines it, or "" if none does.
std::string provider_of(const char* name) {
  void* sym = dlsym(RTLD_DEFAULT, name);
  if (sym == nullptr) return "";
  Dl_info info {};
  if (dladdr(sym, &info) == 0 || info.dli_fname == nullptr) return "?";
  return info.dli_fname;
}

}  // namespace

TEST(HakmemIsTheAllocator, OwnsWhatMallocReturnsAndNothingElse) {
  void* small = opaque(malloc(64));
  void* large = opaque(malloc(8u << 20));
  ASSERT_NE(small, nullptr);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(hakmem_owns(small), 1) << "malloc(64) did not come from hakmem";
  EXPECT_EQ(hakmem_owns(large), 1) << "malloc(8 MiB) did not come from hakmem";

  int on_stack = 0;
  EXPECT_EQ(hakmem_owns(opaque(&on_stack)), 0) << "hakmem_owns claims a stack address";
  void* foreign = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(foreign, MAP_FAILED);
  EXPECT_EQ(hakmem_owns(foreign), 0) << "hakmem_owns claims a mapping it never made";
  munmap(foreign, 4096);
  EXPECT_EQ(hakmem_owns(nullptr), 0);

  free(small);
  free(large);
}

TEST(HakmemIsTheAllocator, EverySymbolResolvesIntoLibhakmem) {
  static const char* const kSymbols[] = {
      "malloc", "free", "calloc", "realloc", "reallocarray",
      "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
      "malloc_usable_size", "cfree",
      "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc",
      "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
      "mallopt", "mallinfo", "mallinfo2", "malloc_trim", "malloc_stats", "malloc_info",
      // operator new / delete: plain, array, nothrow, sized, align_val_t, and combos.
      "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
      "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
      "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
      "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
      "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
      "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
      "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
      "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
  };
  std::vector<std::string> wrong;
  for (const char* name : kSymbols) {
    std::string file = provider_of(name);
    if (file.empty() || !same_file(file.c_str(), HK_LIBHAKMEM))
      wrong.push_back(std::string(name) + " -> " + (file.empty() ? "(undefined)" : file));
  }
  std::string list;
  for (const auto& w : wrong) list += "\n  " + w;
  EXPECT_TRUE(wrong.empty()) << "symbols not provided by " << HK_LIBHAKMEM << ":" << list;
}
