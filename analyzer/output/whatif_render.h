// Rendering of `hakmem-analyze whatif`: one row per setting of each knob,
// the recorded setting marked, as an aligned text table or as JSON:
// {"trace": PATH, "rows": [{"knob": "lru_cap", "value": 16, "env":
// "HAKMEM_SS_LRU_CAP", "recorded": false, "superslab_maps": N,
// "superslab_unmaps": N, "large_maps": N, "large_unmaps": N, "brk_calls": N,
// "memory_syscalls": N, "peak_mapped_bytes": N, "faults": N or null,
// "note": "..."}, ...]}; a row the model cannot predict has "needs": "..."
// instead of the counts.
//
// Contract: pure functions of the rows, any thread.
#pragma once

#include "analysis/whatif.h"

#include <string>
#include <vector>

namespace hk::analyze {

std::string render_whatif_text(const std::vector<WhatIfRow>& rows, const std::string& trace);
std::string render_whatif_json(const std::vector<WhatIfRow>& rows, const std::string& trace);

}  // namespace hk::analyze
