// What the models of whatif.h share: the allocator's OS calls that a model
// does not own, replayed as recorded, and the peak of those bytes plus the
// ones the model says it would map.
//
// Contract: one per model, fed every allocator event in time order from the
// model's on_event; single-threaded like the model.
#pragma once

#include "analysis/whatif.h"

#include <hakmem/events.h>

#include <cstdint>
#include <unordered_map>

namespace hk::analyze {

class OsReplay {
 public:
  // `owned` is the hk_os_reason the model replaces (its alignment trims
  // are the model's too).
  explicit OsReplay(uint8_t owned) : owned_(owned) {}
  // Books an HK_EV_OS_* event not owned by the model, and an attached
  // trace's HK_EV_ATTACH (what was mapped before); ignores other types.
  void on_event(const hk_event& ev);
  // The model's own mapped bytes changed (by delta, all processes).
  void model_bytes(int64_t delta);
  // For a moment, extra bytes more were mapped (a map trimmed to alignment).
  void transient(uint64_t extra);
  uint64_t other_calls() const { return other_calls_; }
  uint64_t peak() const { return peak_; }

 private:
  void note_peak();
  uint8_t owned_;
  uint64_t other_calls_ = 0;
  int64_t other_bytes_ = 0, model_bytes_ = 0;
  uint64_t peak_ = 0;
  uint32_t last_tid_ = 0;  // the thread of the latest map, and its reason
  uint8_t last_reason_ = 0;
  std::unordered_map<uint32_t, uint8_t> last_map_reason_;  // other threads: tid -> reason
};

// Faults scaled to a predicted number of mappings: the trace's faults, less
// those of the model's mappings, plus per_map times `maps`. Empty when the
// trace has no faults, or nothing to scale by.
std::optional<uint64_t> scaled_faults(const Report& r, uint64_t model_faults, uint64_t recorded_maps,
                                      uint64_t maps);

}  // namespace hk::analyze
