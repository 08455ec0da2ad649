// Exec target of the ring fork test: a fresh image under the same
// HAKMEM_RING environment opens its own ring, then waits for stdin to close
// so the test can look at both rings while it runs. It logs one
// thread_start record of its own, a marker for ring-dump's tests.
#include <event_ring.h>

#include <unistd.h>

int main() {
  hk::ring_init();
  if (!hk::g_ring) return 3;
  hk::emit(HK_EV_THREAD_START, HK_CLASS_NONE, 0, uint64_t(getpid()), 0, 1);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
