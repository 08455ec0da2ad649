// Event ring writer. Layout and protocol: include/hakmem/ring_format.h.
//
// Runs inside libhakmem.so: libc only, no malloc, no stdio, no locks. All
// state lives in static storage and in the shared mapping.
#include "event_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <hakmem/ring_format.h>

#include "attach_point.h"
#include "line_writer.h"
#include "os_memory.h"
#include "stats.h"

namespace hk {

struct RingWriter {
  hk_ring_header* hdr;
  hk_event* slots;
  uint64_t mask;
  size_t map_len;
  uint32_t mode;
  uint64_t exec_from;  // start of this pid's previous image's ring, 0 if none
};

uint8_t g_ring = 0;

namespace {

// The ring being written, null when none is. Each attach opens its ring into
// the other of two writers: a thread that loaded the previous one just
// before a detach may still be appending there, and the mapping it writes
// is never unmapped (attach_format.h), so it cannot fault.
RingWriter* s_active = nullptr;
RingWriter s_writers[2];
unsigned s_writer_index = 0;
// Where the open ring's settings came from: a forked child opens its own
// from the same place.
bool s_from_attach = false;
// Held by the thread opening a ring (for an attach, or in a fork child):
// the events the opening emits itself, and other threads' meanwhile, are
// not written.
int s_opening = 0;

RingWriter* active() {
  return __atomic_load_n(&g_ring, __ATOMIC_RELAXED) ? __atomic_load_n(&s_active, __ATOMIC_ACQUIRE)
                                                    : nullptr;
}

struct RingConfig {
  bool set;
  uint64_t drain_interval, lru_cap, sll_cap, ss_size, slab_size;
};
RingConfig s_config;

__thread uint32_t t_tid __attribute__((tls_model("initial-exec")));

uint32_t current_tid() {
  if (__builtin_expect(t_tid == 0, 0)) t_tid = uint32_t(gettid());
  return t_tid;
}

// --- refusal messages: hk::Line (write(2), no stdio), and no strerror: it
// may allocate for its translation lookup. ---

const char* errno_text(int e) {
  switch (e) {
    case EEXIST: return "already exists (a ring is never reused)";
    case ELOOP: return "is a symlink";
    case EACCES: return "permission denied";
    case ENOENT: return "directory does not exist";
    case ENOSPC: return "no space left";
    case ENOMEM: return "out of memory";
    case ENAMETOOLONG: return "name too long";
    case ENOTDIR: return "a path component is not a directory";
    default: return nullptr;
  }
}

void refuse(const char* what, const char* path, int err) {
  Line l;
  l.s("hakmem: event ring ");
  if (path) l.s(path).s(": ");
  l.s(what);
  if (err) {
    l.s(": ");
    if (const char* t = errno_text(err))
      l.s(t);
    else
      l.s("errno ").u(uint64_t(err));
  }
  l.s("; continuing without a ring").end();
}

// --- configuration from the environment ---

struct Settings {
  char path[4096];
  bool default_name;  // "<HAKMEM_RING>.<pid>.<mono_ns>", no %p template
  uint64_t start_ns;  // the <mono_ns> in the name, also the header's start
  uint64_t capacity;
  uint32_t mode;
};

bool append_str(char* out, size_t cap, size_t& n, const char* s) {
  while (*s) {
    if (n + 1 >= cap) return false;
    out[n++] = *s++;
  }
  out[n] = '\0';
  return true;
}

bool append_u64(char* out, size_t cap, size_t& n, uint64_t v) {
  char tmp[24];
  size_t k = 0;
  do tmp[k++] = char('0' + v % 10); while ((v /= 10) != 0);
  char rev[24];
  for (size_t i = 0; i < k; i++) rev[i] = tmp[k - 1 - i];
  rev[k] = '\0';
  return append_str(out, cap, n, rev);
}

// Expands %p, %t and %%; without %p appends ".<pid>.<mono_ns>" so that every
// process image (fork child, exec'd program) gets a name of its own.
bool build_path(const char* tmpl, char* out, size_t cap, bool& default_name, uint64_t mono) {
  const uint64_t pid = uint64_t(getpid());
  size_t n = 0;
  out[0] = '\0';
  bool has_pid = false;
  for (const char* s = tmpl; *s; s++) {
    bool ok = true;
    if (s[0] == '%' && s[1] == 'p') {
      ok = append_u64(out, cap, n, pid);
      has_pid = true;
      s++;
    } else if (s[0] == '%' && s[1] == 't') {
      ok = append_u64(out, cap, n, mono);
      s++;
    } else if (s[0] == '%' && s[1] == '%') {
      ok = append_str(out, cap, n, "%");
      s++;
    } else {
      const char one[2] = {*s, '\0'};
      ok = append_str(out, cap, n, one);
    }
    if (!ok) return false;
  }
  default_name = !has_pid;
  if (!has_pid) {
    if (!append_str(out, cap, n, ".") || !append_u64(out, cap, n, pid) ||
        !append_str(out, cap, n, ".") || !append_u64(out, cap, n, mono))
      return false;
  }
  return true;
}

// HAKMEM_RING_SIZE: bytes of slots with an optional K/M/G suffix.
bool parse_size(const char* s, uint64_t& slots) {
  if (!*s) return false;
  uint64_t v = 0;
  const char* p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + uint64_t(*p - '0');
  }
  if (p == s) return false;
  unsigned shift = 0;
  if (*p == 'k' || *p == 'K') shift = 10, p++;
  else if (*p == 'm' || *p == 'M') shift = 20, p++;
  else if (*p == 'g' || *p == 'G') shift = 30, p++;
  if (*p != '\0') return false;
  if (v > (HK_RING_MAX_CAPACITY * HK_RING_RECORD_SIZE) >> shift) v = HK_RING_MAX_CAPACITY * HK_RING_RECORD_SIZE;
  else v <<= shift;
  uint64_t want = (v + HK_RING_RECORD_SIZE - 1) / HK_RING_RECORD_SIZE;
  uint64_t c = HK_RING_MIN_CAPACITY;
  while (c < want && c < HK_RING_MAX_CAPACITY) c <<= 1;
  slots = c;
  return true;
}

bool read_settings(Settings& st) {
  const char* tmpl = getenv("HAKMEM_RING");
  if (!tmpl || !*tmpl) return false;
  if (!build_path(tmpl, st.path, sizeof st.path, st.default_name,
                  st.start_ns = mono_ns())) {
    refuse("HAKMEM_RING is too long", nullptr, 0);
    return false;
  }
  // A ring named in the environment is never replaced by an attach.
  s_from_attach = false;
  st.capacity = HK_RING_DEFAULT_CAPACITY;
  if (const char* sz = getenv("HAKMEM_RING_SIZE"); sz && *sz) {
    if (!parse_size(sz, st.capacity)) {
      Line().s("hakmem: HAKMEM_RING_SIZE=").s(sz)
          .s(" is not a size (bytes, optional K/M/G); using the default").end();
      st.capacity = HK_RING_DEFAULT_CAPACITY;
    }
  }
  st.mode = HK_RING_MODE_STREAM;
  if (const char* m = getenv("HAKMEM_RING_MODE"); m && *m) {
    if (strcmp(m, "flight") == 0) {
      st.mode = HK_RING_MODE_FLIGHT;
    } else if (strcmp(m, "stream") != 0) {
      Line().s("hakmem: HAKMEM_RING_MODE=").s(m).s(" is neither stream nor flight; using stream").end();
    }
  }
  return true;
}

// An attach's settings: the prefix as given, ".<pid>.<mono_ns>" appended
// (a '%' in it is taken literally). False when the name does not fit.
bool attach_settings(const AttachRequest& rq, Settings& st) {
  st.start_ns = mono_ns();
  st.default_name = false;  // an attach never follows an exec
  size_t n = 0;
  st.path[0] = '\0';
  if (!append_str(st.path, sizeof st.path, n, rq.prefix) ||
      !append_str(st.path, sizeof st.path, n, ".") ||
      !append_u64(st.path, sizeof st.path, n, uint64_t(getpid())) ||
      !append_str(st.path, sizeof st.path, n, ".") ||
      !append_u64(st.path, sizeof st.path, n, st.start_ns))
    return false;
  st.capacity = rq.capacity ? rq.capacity : HK_RING_DEFAULT_CAPACITY;
  st.mode = rq.mode;
  return true;
}

// --- the append protocol (ring_format.h) ---

// Claims a ticket, or returns false when the record is dropped.
bool claim_ticket(RingWriter* w, uint64_t& ticket) {
  hk_ring_header* h = w->hdr;
  if (w->mode == HK_RING_MODE_FLIGHT) {
    ticket = __atomic_fetch_add(&h->head, 1, __ATOMIC_RELAXED);
    return true;
  }
  uint64_t t = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
  for (;;) {
    // Acquire: the reader copied slot (t - capacity) out before moving tail.
    const uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
    // t can be older than tail: other writers and the reader moved on
    // between the two loads. t - tail then wraps, and counted as a full
    // ring it dropped a record from a ring that was nearly empty (1 in 15
    // runs of RingConcurrent.StreamBigRingLosesNothing under TSan); the CAS
    // below fails on such a stale t and reloads it.
    if (t >= tail && t - tail >= w->mask + 1) return false;
    if (__atomic_compare_exchange_n(&h->head, &t, t + 1, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      ticket = t;
      return true;
    }
  }
}

void append(RingWriter* w, uint16_t type, uint8_t cls, uint8_t reason, uint64_t addr,
            uint64_t len, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t t;
  if (!claim_ticket(w, t) || t > HK_RING_MAX_TICKET) {
    __atomic_fetch_add(&w->hdr->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  hk_event* slot = &w->slots[t & w->mask];
  uint64_t prev = __atomic_load_n(&slot->commit, __ATOMIC_RELAXED);
  // Only an empty slot or one holding an older committed record may be
  // taken: a BUSY slot belongs to a stalled writer, an ABANDONED one is
  // retired, a newer ticket means this record is already a lap too late. The
  // reader counts each such lost ticket (torn or overwritten), so the writer
  // does not.
  const bool free_slot =
      prev == 0 || (HK_RING_COMMIT_STATE(prev) == HK_SLOT_COMMITTED &&
                    HK_RING_COMMIT_TICKET(prev) < t);
  const uint64_t busy = HK_RING_COMMIT(t, HK_SLOT_BUSY);
  if (!free_slot || !__atomic_compare_exchange_n(&slot->commit, &prev, busy, false,
                                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  // Seqlock writer: BUSY is visible before any payload store.
  __atomic_thread_fence(__ATOMIC_RELEASE);
  uint64_t* word = reinterpret_cast<uint64_t*>(slot);
  const uint64_t packed = uint64_t(current_tid()) | (uint64_t(type) << 32) |
                          (uint64_t(cls) << 48) | (uint64_t(reason) << 56);
  __atomic_store_n(&word[1], event_ns(), __ATOMIC_RELAXED);
  __atomic_store_n(&word[2], packed, __ATOMIC_RELAXED);
  __atomic_store_n(&word[3], addr, __ATOMIC_RELAXED);
  __atomic_store_n(&word[4], len, __ATOMIC_RELAXED);
  __atomic_store_n(&word[5], a, __ATOMIC_RELAXED);
  __atomic_store_n(&word[6], b, __ATOMIC_RELAXED);
  __atomic_store_n(&word[7], c, __ATOMIC_RELAXED);
  // A CAS, not a store: if the reader retired the slot while this writer
  // stalled, the record is already counted as torn and must stay unpublished.
  uint64_t expect = busy;
  __atomic_compare_exchange_n(&slot->commit, &expect, HK_RING_COMMIT(t, HK_SLOT_COMMITTED),
                              false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  // The next ticket's slot was last read by the recorder on another core: a
  // locked CAS on it would wait for the line to come over. Fetching it for
  // writing now, while the allocator goes on, hides that wait for the next
  // record (usually this thread's): with a recorder attached, fill_free_all
  // spent ~100 ns more per record without it.
  __builtin_prefetch(&w->slots[(t + 1) & w->mask], 1, 3);
}

void emit_config(RingWriter* w) {
  if (!s_config.set) return;
  append(w, HK_EV_CONFIG, HK_CLASS_NONE, 0, s_config.drain_interval, s_config.lru_cap,
         s_config.sll_cap, s_config.ss_size, s_config.slab_size);
}

// A process image that finds a ring of its own pid already in its ring
// directory was exec'd by a process that had one: the default name is
// "<prefix>.<pid>.<mono_ns>", and a pid's rings can only come from the
// images it ran. Returns that earlier ring's start (its <mono_ns>), or 0.
// getdents64 rather than opendir: no malloc inside the allocator's init.
// The kernel's getdents64 record (glibc declares no type for it).
struct linux_dirent64_view {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

uint64_t previous_image_start(const char* path) {
  char dir[4096];
  const char* slash = strrchr(path, '/');
  if (!slash) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    const size_t dir_len = size_t(slash - path);
    if (dir_len >= sizeof dir) return 0;
    memcpy(dir, path, dir_len);
    dir[dir_len] = '\0';
  }
  const char* self = slash ? slash + 1 : path;
  // The name up to and including ".<pid>." is what an earlier image shares.
  const char* last_dot = strrchr(self, '.');
  if (!last_dot) return 0;
  const size_t stem = size_t(last_dot - self) + 1;
  const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t found = 0;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const struct linux_dirent64_view*>(buf + off);
      off += d->d_reclen;
      const char* name = d->d_name;
      if (strcmp(name, self) == 0 || strncmp(name, self, stem) != 0) continue;
      uint64_t ns = 0;
      const char* c = name + stem;
      for (; *c >= '0' && *c <= '9'; c++) ns = ns * 10 + uint64_t(*c - '0');
      if (*c == '\0' && c != name + stem && ns > found) found = ns;
    }
  }
  close(fd);
  return found;
}

// Creates, sizes, maps and initialises a ring into `w`. Returns 0, or the
// errno that stopped it (after one stderr line unless `quiet`: an attached
// program's stderr is not the attacher's).
int open_ring(RingWriter& w, pid_t ppid, const Settings& st, bool quiet) {
  const int fd = open(st.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    struct stat sb;
    if (err == EEXIST && lstat(st.path, &sb) == 0 && S_ISLNK(sb.st_mode)) err = ELOOP;
    if (!quiet) refuse(err == ELOOP ? "refused" : "cannot be created", st.path, err);
    return err;
  }
  const size_t len = HK_RING_HEADER_SIZE + st.capacity * HK_RING_RECORD_SIZE;
  void* map = nullptr;
  int err = 0;
  if (ftruncate(fd, off_t(len)) != 0) {
    err = errno;
  } else {
    map = os_map_file(len, fd, HK_OS_RING);
    if (!map) err = errno;
  }
  close(fd);
  if (!map) {
    unlink(st.path);
    if (!quiet) refuse("cannot be sized or mapped", st.path, err);
    return err ? err : ENOMEM;
  }
  auto* h = static_cast<hk_ring_header*>(map);
  h->version = HK_RING_VERSION;
  h->header_size = HK_RING_HEADER_SIZE;
  h->record_size = HK_RING_RECORD_SIZE;
  h->mode = st.mode;
  h->capacity = st.capacity;
  h->pid = uint32_t(getpid());
  h->ppid = uint32_t(ppid);
  h->clock_id = CLOCK_MONOTONIC;
  h->events_version = HK_EVENTS_VERSION;
  h->start_mono_ns = st.start_ns;
  h->start_realtime_ns = clock_ns(CLOCK_REALTIME);
  h->writer_state = HK_RING_STATE_OPEN;
  __atomic_store_n(&h->magic, HK_RING_MAGIC, __ATOMIC_RELEASE);

  w.hdr = h;
  w.slots = reinterpret_cast<hk_event*>(static_cast<char*>(map) + HK_RING_HEADER_SIZE);
  w.mask = st.capacity - 1;
  w.map_len = len;
  w.mode = st.mode;
  w.exec_from = st.default_name ? previous_image_start(st.path) : 0;
  return 0;
}

// The settings a fork child's ring takes: from where its parent's came.
bool child_settings(Settings& st) {
  if (!s_from_attach) return read_settings(st);
  AttachRequest rq;
  return attach_read_request(rq) && attach_settings(rq, st);
}

RingWriter& next_writer() { return s_writers[++s_writer_index & 1u]; }

// The ring's own mmap went through os_map_file before any ring existed to
// record it in; log it now so the kernel's view of it can be joined.
void emit_own_mapping(RingWriter* w) {
  const uint64_t base = uint64_t(reinterpret_cast<uintptr_t>(w->hdr));
  append(w, HK_EV_OS_MMAP, HK_CLASS_NONE, HK_OS_RING, base, w->map_len, base, 0, 0);
}

// Marks a ring whose writer got as far as exit(); its absence tells the
// reader the process was killed, crashed, _exit()ed or exec'd. Runs late so
// that most of the allocator's exit-time events precede it.
__attribute__((destructor(101))) void mark_exited() {
  if (RingWriter* w = active())
    __atomic_fetch_or(&w->hdr->writer_state, HK_RING_STATE_EXITED, __ATOMIC_RELEASE);
}

// Serves an attach request (attach_format.h), or turns a gate that was set
// with no request back off. Returns the ring to write to, or null. Only one
// thread serves at a time; the others lose their event.
RingWriter* serve_attach() {
  if (__atomic_exchange_n(&s_opening, 1, __ATOMIC_ACQUIRE)) return nullptr;
  const int saved_errno = errno;
  RingWriter* w = __atomic_load_n(&s_active, __ATOMIC_ACQUIRE);
  if (attach_requested()) {
    // The ring of an earlier attach, if any, is finished with.
    __atomic_store_n(&s_active, static_cast<RingWriter*>(nullptr), __ATOMIC_RELEASE);
    w = nullptr;
    AttachRequest rq;
    Settings st;
    int err = EINVAL;
    // Read before the ring's own mapping adds to them.
    const uint64_t mapped = g_stats.mapped_bytes.load(std::memory_order_relaxed);
    const uint64_t superslabs = g_stats.ss_mapped.load(std::memory_order_relaxed);
    const uint64_t threads = g_stats.threads_alive.load(std::memory_order_relaxed);
    RingWriter& next = next_writer();
    if (attach_read_request(rq)) err = attach_settings(rq, st) ? open_ring(next, getppid(), st, true)
                                                               : ENAMETOOLONG;
    if (err == 0) {
      s_from_attach = true;
      // Once: a second line taken while threads read the first one buys nothing.
      static bool clock_ready = false;
      if (!clock_ready) event_clock_init();
      clock_ready = true;
      append(&next, HK_EV_ATTACH, HK_CLASS_NONE, 0, uint64_t(getpid()), mapped, superslabs,
             threads, rq.generation);
      emit_own_mapping(&next);
      emit_config(&next);
      w = &next;
      __atomic_store_n(&s_active, w, __ATOMIC_RELEASE);
    }
    attach_answer(rq.generation, err);
  }
  if (!w) __atomic_store_n(&g_ring, uint8_t(0), __ATOMIC_RELAXED);
  errno = saved_errno;
  __atomic_store_n(&s_opening, 0, __ATOMIC_RELEASE);
  return w;
}

}  // namespace

void ring_init() {
  static bool done = false;
  if (done) return;
  done = true;
  Settings st;
  RingWriter& w = next_writer();
  const bool opened = read_settings(st) && open_ring(w, getppid(), st, false) == 0;
  attach_point_init(&g_ring, opened);
  if (!opened) return;
  event_clock_init();
  __atomic_store_n(&s_active, &w, __ATOMIC_RELEASE);
  __atomic_store_n(&g_ring, uint8_t(1), __ATOMIC_RELEASE);
  if (w.exec_from)
    append(&w, HK_EV_EXEC, HK_CLASS_NONE, 0, uint64_t(getpid()), 0, w.exec_from, 0, 0);
  emit_own_mapping(&w);
  emit_config(&w);
}

void ring_after_fork_child(pid_t parent) {
  t_tid = 0;  // the forking thread has a new tid in the child
  event_clock_after_fork_child();
  // Another thread of the parent may have been opening a ring: it does not
  // exist here. This thread opens the child's, undisturbed.
  s_opening = 1;
  RingWriter* old = active();
  RingWriter* any_old = s_active;
  s_active = nullptr;
  RingWriter parent_view{};
  if (old) {
    parent_view = *old;
    // The parent cannot learn the child's pid in its atfork handler, so the
    // child files the fork in the parent's ring: one record claimed through
    // the same lock-free protocol, the child's only write there.
    append(&parent_view, HK_EV_FORK, HK_CLASS_NONE, 0, uint64_t(getpid()), 0,
           uint64_t(parent), 0, 0);
  }
  Settings st;
  RingWriter& w = next_writer();
  if (old && child_settings(st) && open_ring(w, parent, st, s_from_attach) == 0) {
    // First record: ties this ring to the parent's.
    append(&w, HK_EV_FORK, HK_CLASS_NONE, 0, uint64_t(getpid()), 0, uint64_t(parent), 0, 0);
    s_active = &w;
    emit_own_mapping(&w);
    emit_config(&w);
  } else {
    g_ring = 0;
  }
  // Only this process's view goes away; the parent's mapping is untouched.
  // A detached ring's too: no other thread of this process can be in it.
  if (any_old) os_unmap(any_old->hdr, any_old->map_len, HK_OS_RING);
  s_opening = 0;
}

void ring_set_config(uint64_t drain_interval, uint64_t lru_cap, uint64_t sll_cap,
                     uint64_t ss_size, uint64_t slab_size) {
  s_config = RingConfig{true, drain_interval, lru_cap, sll_cap, ss_size, slab_size};
  if (RingWriter* w = active()) emit_config(w);
}

void ring_emit_slow(uint16_t type, uint8_t cls, uint8_t reason, uint64_t addr, uint64_t len,
                    uint64_t a, uint64_t b, uint64_t c) {
  RingWriter* w = __atomic_load_n(&s_active, __ATOMIC_ACQUIRE);
  if (__builtin_expect(!w || (s_from_attach && attach_requested()), 0)) {
    w = serve_attach();
    if (!w) return;
  }
  append(w, type, cls, reason, addr, len, a, b, c);
}

}  // namespace hk
