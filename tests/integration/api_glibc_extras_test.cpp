// The glibc-specific corners a drop-in replacement must still answer, with
// hakmem as the allocator: the __libc_* aliases, cfree, mallopt,
// mallinfo/mallinfo2, malloc_trim, malloc_stats and malloc_info.
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "allocator_under_test.h"

using hk_test::aligned_to;
using hk_test::check_pattern;
using hk_test::fill_pattern;
using hk_test::opaque;

// glibc exports these but declares none of them in a header.
extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

TEST(LibcAliases, AllocateFromHakmemAndMixWithThePlainNames) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

  void* m = opaque(__libc_malloc(100));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(hakmem_owns(m), 1) << "__libc_malloc";
  fill_pattern(m, 100, 1);
  void* r = opaque(__libc_realloc(m, 5000));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(hakmem_owns(r), 1) << "__libc_realloc";
  EXPECT_EQ(check_pattern(r, 100, 1), 100u);
  free(r);  // __libc_* blocks must be freeable with free ...

  void* c = opaque(__libc_calloc(300, 3));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(hakmem_owns(c), 1) << "__libc_calloc";
  for (int i = 0; i < 900; ++i) ASSERT_EQ(static_cast<unsigned char*>(c)[i], 0);
  __libc_free(c);

  void* a = opaque(__libc_memalign(4096, 10));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(hakmem_owns(a), 1) << "__libc_memalign";
  EXPECT_TRUE(aligned_to(a, 4096));
  __libc_free(a);

  void* v = opaque(__libc_valloc(10));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(hakmem_owns(v), 1) << "__libc_valloc";
  EXPECT_TRUE(aligned_to(v, page));
  __libc_free(v);

  void* pv = opaque(__libc_pvalloc(10));
  ASSERT_NE(pv, nullptr);
  EXPECT_EQ(hakmem_owns(pv), 1) << "__libc_pvalloc";
  EXPECT_TRUE(aligned_to(pv, page));
  EXPECT_GE(malloc_usable_size(pv), page);
  __libc_free(pv);

  void* plain = opaque(malloc(64));
  __libc_free(plain);  // ... and plain blocks with __libc_free.
}

TEST(Cfree, FreesABlock) {
  // Looked up at run time: glibc keeps cfree only as a compat symbol that
  // new programs cannot link against, so a missing cfree in hakmem must fail
  // this test, not the whole suite's build.
  using cfree_fn = void (*)(void*);
  auto cfree_ptr = reinterpret_cast<cfree_fn>(dlsym(RTLD_DEFAULT, "cfree"));
  ASSERT_NE(cfree_ptr, nullptr);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) {
    void* p = opaque(malloc(40));
    ASSERT_EQ(hakmem_owns(p), 1);
    blocks.push_back(p);
  }
  for (void* p : blocks) cfree_ptr(p);
}

TEST(Mallopt, ReturnsOneForGlibcsParameters) {
  const std::pair<int, int> params[] = {
      {M_MMAP_THRESHOLD, 1 << 20}, {M_TRIM_THRESHOLD, 1 << 22}, {M_TOP_PAD, 1 << 16},
      {M_MMAP_MAX, 65536},         {M_ARENA_MAX, 4},            {M_ARENA_TEST, 8},
      {M_MXFAST, 64},              {M_PERTURB, 0},              {M_CHECK_ACTION, 3},
  };
  for (auto [param, value] : params) EXPECT_EQ(mallopt(param, value), 1) << "mallopt(" << param << ")";
  void* p = opaque(malloc(2 << 20));
  EXPECT_EQ(hakmem_owns(p), 1);
  free(p);
}

TEST(Mallinfo, BothVersionsAnswerAndAgree) {
  std::vector<void*> live;
  for (int i = 0; i < 64; ++i) live.push_back(malloc(1 << 16));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo old_info = mallinfo();
#pragma GCC diagnostic pop
  struct mallinfo2 info = mallinfo2();
  // The int version is the size_t version truncated; both describe the same heap.
  EXPECT_EQ(static_cast<unsigned>(old_info.arena), static_cast<unsigned>(info.arena));
  EXPECT_EQ(static_cast<unsigned>(old_info.hblkhd), static_cast<unsigned>(info.hblkhd));
  EXPECT_GE(info.arena + info.hblkhd, info.uordblks);
  for (void* p : live) {
    EXPECT_EQ(hakmem_owns(p), 1);
    free(p);
  }
}

TEST(MallocTrim, KeepsLiveBlocksIntact) {
  std::vector<void*> blocks;
  for (int i = 0; i < 4000; ++i) blocks.push_back(malloc(16 + (i * 53) % 3000));
  blocks.push_back(malloc(5 << 20));
  for (std::size_t i = 0; i < blocks.size(); i += 2) {
    free(blocks[i]);
    blocks[i] = nullptr;
  }
  for (std::size_t i = 1; i < blocks.size(); i += 2)
    fill_pattern(blocks[i], malloc_usable_size(blocks[i]), static_cast<std::uint32_t>(i));
  int trimmed = malloc_trim(0);
  EXPECT_TRUE(trimmed == 0 || trimmed == 1);
  for (std::size_t i = 1; i < blocks.size(); i += 2) {
    std::size_t usable = malloc_usable_size(blocks[i]);
    ASSERT_EQ(hakmem_owns(blocks[i]), 1);
    ASSERT_EQ(check_pattern(blocks[i], usable, static_cast<std::uint32_t>(i)), usable)
        << "malloc_trim damaged a live block";
    free(blocks[i]);
  }
  void* p = opaque(malloc(100));
  EXPECT_EQ(hakmem_owns(p), 1);
  free(p);
}

TEST(MallocStats, PrintsSomethingToStderr) {
  void* p = opaque(malloc(1000));
  testing::internal::CaptureStderr();
  malloc_stats();
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(out.empty()) << "malloc_stats printed nothing";
  free(p);
}

TEST(MallocInfo, WritesXmlAndRejectsOptions) {
  char* buf = nullptr;
  std::size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(malloc_info(0, f), 0);
  EXPECT_EQ(malloc_info(1, f), EINVAL) << "glibc rejects any options value but 0";
  fclose(f);
  std::string xml(buf, len);
  free(buf);
  EXPECT_NE(xml.find("<malloc"), std::string::npos) << "malloc_info wrote: " << xml;
}
