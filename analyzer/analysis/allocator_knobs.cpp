#include "analysis/allocator_knobs.h"

namespace hk::analyze {

namespace {
// The library part of a symbol: what is inside the parentheses.
std::string_view library_of(std::string_view symbol) {
  const size_t open = symbol.rfind('(');
  if (open == std::string_view::npos) return {};
  const size_t close = symbol.find_first_of("+)", open);
  return symbol.substr(open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1);
}
bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
}  // namespace

SiteOwner owner_of(std::string_view symbol) {
  const std::string_view lib = library_of(symbol);
  if (has(lib, "libjemalloc")) return SiteOwner::jemalloc;
  if (has(lib, "libmimalloc")) return SiteOwner::mimalloc;
  if (has(lib, "libtcmalloc")) return SiteOwner::tcmalloc;
  if (has(lib, "libhakmem")) return SiteOwner::hakmem;
  if (lib.starts_with("libc.so") || lib.starts_with("libc-")) return SiteOwner::glibc;
  return SiteOwner::program;
}

const char* owner_name(SiteOwner o) {
  switch (o) {
    case SiteOwner::glibc: return "glibc malloc";
    case SiteOwner::jemalloc: return "jemalloc";
    case SiteOwner::mimalloc: return "mimalloc";
    case SiteOwner::tcmalloc: return "tcmalloc";
    case SiteOwner::hakmem: return "hakmem";
    case SiteOwner::program: return "the program";
  }
  return "the program";
}

std::string purge_fix(SiteOwner o) {
  switch (o) {
    case SiteOwner::jemalloc:
      return "the call site is in jemalloc, which purges unused dirty pages after its decay time: raise it, "
             "MALLOC_CONF=dirty_decay_ms:30000,muzzy_decay_ms:30000 (-1 keeps them), or purge less with "
             "background_thread:true";
    case SiteOwner::mimalloc:
      return "the call site is in mimalloc, which purges freed pages after MIMALLOC_PURGE_DELAY ms (10 by "
             "default; MIMALLOC_RESET_DELAY in mimalloc 1.x): raise it, e.g. MIMALLOC_PURGE_DELAY=1000, or "
             "-1 to never purge";
    case SiteOwner::tcmalloc:
      return "the call site is in tcmalloc, which returns free spans at TCMALLOC_RELEASE_RATE (1.0 by "
             "default): lower it, TCMALLOC_RELEASE_RATE=0 keeps them";
    case SiteOwner::glibc:
      return "the call site is in glibc's malloc, which gives back the top of a thread arena with "
             "MADV_DONTNEED past its trim threshold: raise it, MALLOC_TRIM_THRESHOLD_=<bytes> "
             "(mallopt(M_TRIM_THRESHOLD)), or preload hakmem";
    case SiteOwner::hakmem:
      return "the call site is in hakmem: keep empty SuperSlabs and large blocks for reuse "
             "(HAKMEM_SS_LRU_CAP, HAKMEM_LARGE_CACHE_CAP)";
    case SiteOwner::program:
      break;
  }
  return "the program advises this memory away itself and touches it again: keep it (drop the madvise), or "
         "advise only memory that stays unused for longer";
}

std::string mmap_churn_fix(SiteOwner o) {
  switch (o) {
    case SiteOwner::jemalloc:
      return "the call site is in jemalloc: keep its virtual memory and pages for reuse, "
             "MALLOC_CONF=retain:true,dirty_decay_ms:30000,muzzy_decay_ms:30000";
    case SiteOwner::mimalloc:
      return "the call site is in mimalloc: reserve an arena up front so its segments are reused, "
             "MIMALLOC_RESERVE_OS_MEMORY=<size>, and raise MIMALLOC_PURGE_DELAY (-1 never gives back)";
    case SiteOwner::tcmalloc:
      return "the call site is in tcmalloc: keep freed spans, TCMALLOC_RELEASE_RATE=0";
    case SiteOwner::glibc:
      return "the call site is in glibc's malloc, which maps each block above its mmap threshold on its "
             "own: raise it above the block size, MALLOC_MMAP_THRESHOLD_=<bytes> "
             "(mallopt(M_MMAP_THRESHOLD)), or preload hakmem";
    case SiteOwner::hakmem:
      return "the call site is in hakmem: raise HAKMEM_LARGE_CACHE_CAP (large blocks) or "
             "HAKMEM_SS_LRU_CAP (SuperSlabs)";
    case SiteOwner::program:
      break;
  }
  return "the program maps and unmaps this memory itself: keep and reuse the mapping, or take the memory "
         "from the heap";
}

std::string brk_trim_fix() {
  return "glibc's malloc trims the top of its heap past M_TRIM_THRESHOLD (128 KiB, or adapted to freed "
         "mmap blocks): raise it above the heap's swing, MALLOC_TRIM_THRESHOLD_=<bytes> "
         "(mallopt(M_TRIM_THRESHOLD); MALLOC_TOP_PAD_ adds slack on each grow), or preload hakmem, which "
         "does not use brk";
}

}  // namespace hk::analyze
