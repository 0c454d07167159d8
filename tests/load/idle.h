// Idle cost of the stack's processes: CPU (utime + stime from
// /proc/<pid>/stat) over a window and resident set size (VmRSS), for every
// child of this process whose program is a signpost-* binary (the services
// and the devbroker that testing::Stack started). Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace signpost::load {

struct ProcessIdle {
  std::string name;        // e.g. "signpost-intake"
  double cpu_percent = 0;  // of one core, over the window
  double rss_mib = 0;      // at the end of the window
};

// Samples the children at the start and end of `window`; sorted by name.
std::vector<ProcessIdle> MeasureIdle(absl::Duration window);

}  // namespace signpost::load
