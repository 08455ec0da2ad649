// OS memory: the one place libhakmem.so talks to the kernel about memory.
//
// Contract: every mmap, munmap and madvise the allocator (and its event
// ring) makes goes through these functions. Each one makes exactly one
// syscall and, after it returns, emits exactly one HK_EV_OS_* event carrying
// the syscall's own address and length: those are the join keys that
// hakmem-analyze matches against the eBPF probe's view. Each also counts the
// call (HAKMEM_STATS) and the mapped bytes. Callable from any thread, from
// slow paths only; never allocates.
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <hakmem/events.h>

namespace hk {

// Anonymous private read/write mapping of len bytes; nullptr on failure
// (errno set by the kernel).
void* os_map(size_t len, hk_os_reason reason);

// Like os_map, but only exactly at `hint` (MAP_FIXED_NOREPLACE): nullptr if
// any part of that range is taken. Lets SuperSlabs land aligned in one call.
void* os_map_at(void* hint, size_t len, hk_os_reason reason);

// Shared mapping of a file (the event ring). nullptr on failure.
void* os_map_file(size_t len, int fd, hk_os_reason reason);

int os_unmap(void* p, size_t len, hk_os_reason reason);
int os_advise(void* p, size_t len, int advice, hk_os_reason reason);

}  // namespace hk
