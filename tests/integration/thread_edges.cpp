// hk_thread_edges MODE: process and thread lifecycle corners that one
// workload cannot combine, each run as its own process by thread_edges_test
// with libhakmem.so preloaded (and linked, for hakmem_owns).
//
//   exit-while-allocating  exit() while four threads are inside malloc/free
//   main-exits-first       main allocates, then pthread_exit()s; another
//                          thread frees main's blocks afterwards and exits
//   fork-from-worker       a non-main thread forks 30 times while four
//                          others allocate; each child allocates and exits
//
// Prints "<mode> ok" and exits 0; any failure prints a reason on stderr and
// exits 1. Children have an alarm, so a deadlock ends as a failed child.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <hakmem/hakmem.h>

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "hk_thread_edges: %s\n", what);
  fflush(stderr);
  _exit(1);
}

void* churn_forever(void* arg) {
  auto s = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(arg));
  for (;;) {
    s = s * 1103515245u + 12345u;
    const std::size_t n = 16 + (s >> 8) % 5000;
    auto* p = static_cast<unsigned char*>(malloc(n));
    if (p == nullptr) fail("malloc returned NULL");
    memset(p, 0x5A, n < 64 ? n : 64);
    if (p[0] != 0x5A || hakmem_owns(p) != 1) fail("block not owned or overwritten");
    free(p);
  }
  return nullptr;
}

void start_churners() {
  for (std::uintptr_t i = 1; i <= 4; ++i) {
    pthread_t t;
    if (pthread_create(&t, nullptr, churn_forever, reinterpret_cast<void*>(i)) != 0)
      fail("pthread_create");
    pthread_detach(t);
  }
}

constexpr int kMainBlocks = 20000;
unsigned char* g_main_blocks[kMainBlocks];

void* free_main_blocks_then_exit(void*) {
  usleep(20000);  // main has long since called pthread_exit
  for (int i = 0; i < kMainBlocks; ++i) {
    unsigned char* p = g_main_blocks[i];
    if (hakmem_owns(p) != 1 || p[0] != static_cast<unsigned char>(i)) fail("main's block damaged");
    free(p);
  }
  for (int i = 0; i < 100000; ++i) free(malloc(16 + i % 1000));
  puts("main-exits-first ok");
  exit(0);
}

void* fork_repeatedly(void*) {
  for (int i = 0; i < 30; ++i) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
      alarm(10);
      for (int j = 0; j < 20000; ++j) {
        auto* p = static_cast<unsigned char*>(malloc(1 + j % 3000));
        if (p == nullptr || hakmem_owns(p) != 1) fail("child: malloc after fork");
        p[0] = 1;
        free(p);
      }
      _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail("a child forked from a worker thread failed or hung");
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exit-while-allocating") {
    start_churners();
    usleep(100000);
    puts("exit-while-allocating ok");
    exit(0);
  }
  if (mode == "main-exits-first") {
    start_churners();
    for (int i = 0; i < kMainBlocks; ++i) {
      g_main_blocks[i] = static_cast<unsigned char*>(malloc(16 + i % 2000));
      if (g_main_blocks[i] == nullptr) fail("malloc returned NULL");
      g_main_blocks[i][0] = static_cast<unsigned char>(i);
    }
    pthread_t t;
    if (pthread_create(&t, nullptr, free_main_blocks_then_exit, nullptr) != 0) fail("pthread_create");
    pthread_exit(nullptr);
  }
  if (mode == "fork-from-worker") {
    start_churners();
    pthread_t t;
    if (pthread_create(&t, nullptr, fork_repeatedly, nullptr) != 0) fail("pthread_create");
    pthread_join(t, nullptr);
    puts("fork-from-worker ok");
    exit(0);
  }
  fprintf(stderr, "usage: hk_thread_edges exit-while-allocating|main-exits-first|fork-from-worker\n");
  return 2;
}
