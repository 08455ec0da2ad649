// Names for the event vocabulary; kept in the order of enum hk_event_type.
#include "trace/event_names.h"

#include <hakmem/syscall_record.h>

#include <hakmem/events.h>

#include <array>

namespace hk::analyze {

namespace {

struct TypeRow {
  std::string_view name;
  EventFields fields;
};

constexpr EventFields kRaw{"addr", "len", "a", "b", "c"};
constexpr EventFields kOs{"addr", "len", "ret", "advice", ""};
constexpr EventFields kSuperSlab{"addr", "len", "superslabs_mapped", "", ""};
constexpr EventFields kSlab{"addr", "len", "slab_index", "blocks", "active_slabs_left"};
constexpr EventFields kLru{"addr", "len", "lru_len", "lru_cap", ""};
constexpr EventFields kLarge{"addr", "len", "requested", "cache_len", ""};
constexpr EventFields kThread{"pid", "", "threads_alive", "", ""};

constexpr std::array<TypeRow, HK_EV_TYPE_COUNT> kTypes{{
    {"", kRaw},
    {"config", {"drain_interval", "lru_cap", "sll_cap", "superslab_size", "slab_size"}},
    {"os_mmap", kOs},
    {"os_munmap", kOs},
    {"os_madvise", kOs},
    {"ss_map", kSuperSlab},
    {"ss_unmap", kSuperSlab},
    {"slab_acquire", kSlab},
    {"slab_release", kSlab},
    {"slab_empty", kSlab},
    {"lru_push", kLru},
    {"lru_pop_hit", kLru},
    {"lru_pop_miss", kLru},
    {"lru_evict", kLru},
    {"drain", {"overflow_drains", "", "blocks_returned", "slabs_emptied", "frees_since_drain"}},
    {"remote_free_batch", {"addr", "collections", "blocks", "runs", "slabs_emptied"}},
    {"large_map", kLarge},
    {"large_unmap", kLarge},
    {"large_reuse", {"addr", "len", "requested", "cache_len", "reuses"}},
    {"thread_start", kThread},
    {"thread_exit", kThread},
    {"fork", {"child_pid", "", "parent_pid", "", ""}},
    {"exec", {"pid", "", "previous_ring_start_ns", "", ""}},
    {"snapshot", {"cache_capacity", "block_size", "used", "parked", "live"}},
    {"attach", {"pid", "mapped_bytes", "superslabs_mapped", "threads_alive", "request"}},
}};

template <size_t N>
std::string_view lookup(const std::array<std::string_view, N>& names, uint8_t v) {
  return v < N ? names[v] : std::string_view{};
}

constexpr std::array<std::string_view, 7> kOsReasons{
    "", "superslab", "align_trim", "large", "purge", "metadata", "ring"};
constexpr std::array<std::string_view, 6> kSsReasons{"",     "new",  "lru_off",
                                                     "evict", "trim", "lru_full"};
constexpr std::array<std::string_view, 6> kDrainReasons{"", "interval", "overflow",
                                                        "thread_exit", "trim", "quiet"};
constexpr std::array<std::string_view, 2> kSlabReleaseReasons{"", "emptied"};
constexpr std::array<std::string_view, 2> kRemoteReasons{"", "summed"};

}  // namespace

std::string_view event_type_name(uint16_t type) {
  return type < kTypes.size() ? kTypes[type].name : std::string_view{};
}

std::string_view event_reason_name(uint16_t type, uint8_t reason) {
  switch (type) {
    case HK_EV_OS_MMAP:
    case HK_EV_OS_MUNMAP:
    case HK_EV_OS_MADVISE:
      return lookup(kOsReasons, reason);
    case HK_EV_SS_MAP:
    case HK_EV_SS_UNMAP:
      return lookup(kSsReasons, reason);
    case HK_EV_DRAIN:
      return lookup(kDrainReasons, reason);
    case HK_EV_SLAB_RELEASE:
      return lookup(kSlabReleaseReasons, reason);
    case HK_EV_REMOTE_FREE_BATCH:
      return lookup(kRemoteReasons, reason);
    default:
      return {};
  }
}

const EventFields& event_fields(uint16_t type) {
  return type < kTypes.size() && type != HK_EV_NONE ? kTypes[type].fields : kRaw;
}

std::string_view sys_kind_name(uint32_t kind) {
  switch (kind) {
    case HK_SYS_CALL: return "call";
    case HK_SYS_FORK: return "fork";
    case HK_SYS_EXEC: return "exec";
    case HK_SYS_EXIT: return "exit";
    case HK_SYS_FAULTS: return "faults";
    case HK_SYS_RSS: return "rss";
    default: return "";
  }
}

}  // namespace hk::analyze
