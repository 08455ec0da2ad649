// The ring tests link the real ring writer and OS-memory function but not the
// allocator: this is the counters object os_memory.cpp bumps, which the
// allocator defines in preload/stats.cpp together with everything else.
#include "stats.h"

namespace hk {
Counters g_stats;
}
