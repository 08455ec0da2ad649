#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "line_writer.h"

namespace hk {

Config g_cfg;

namespace {

// Parses a non-negative decimal number with an optional k/m/g suffix. On
// junk, keeps the default and says so: a silently ignored knob misleads.
template <typename T>
void read_number(const char* name, T& out) {
  const char* v = getenv(name);
  if (!v || !*v) return;
  uint64_t n = 0;
  const char* c = v;
  for (; *c >= '0' && *c <= '9'; ++c) n = n * 10 + uint64_t(*c - '0');
  switch (*c) {
    case 'k': case 'K': n <<= 10; ++c; break;
    case 'm': case 'M': n <<= 20; ++c; break;
    case 'g': case 'G': n <<= 30; ++c; break;
    default: break;
  }
  if (*c != '\0' || c == v || T(n) != n) {
    Line().s("hakmem: ignoring ").s(name).s("=").s(v).s(" (expected a number)").end();
    return;
  }
  out = T(n);
}

bool read_flag(const char* name) {
  const char* v = getenv(name);
  return v && *v && !(v[0] == '0' && v[1] == '\0');
}

}  // namespace

void config_load() {
  Config c;
  c.from_env = environ != nullptr;
  read_number("HAKMEM_TLS_SLL_DRAIN_INTERVAL", c.drain_interval);
  read_number("HAKMEM_SS_LRU_CAP", c.lru_cap);
  read_number("HAKMEM_LARGE_CACHE_CAP", c.large_cache_cap);
  read_number("HAKMEM_PURGE_DELAY_MS", c.purge_delay_ms);
  read_number("HAKMEM_LARGE_CACHE_ADAPTIVE", c.large_cache_adaptive);  // 0 or 1
  c.stats = read_flag("HAKMEM_STATS");
  c.lru_debug = read_flag("HAKMEM_SS_LRU_DEBUG");
  c.free_debug = read_flag("HAKMEM_SS_FREE_DEBUG");
  g_cfg = c;
}

}  // namespace hk
