// Exec target of the ring fork test: a fresh image under the same
// HAKMEM_RING environment opens its own ring, then waits for stdin to close
// so the test can look at both rings while it runs.
#include <event_ring.h>

#include <unistd.h>

int main() {
  hk::ring_init();
  if (!hk::g_ring) return 3;
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
