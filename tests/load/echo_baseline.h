// The bare gRPC baseline: a callback-API echo service in this process,
// served by the same ServerRunner and mutual TLS (dev PKI, a service
// certificate) as Signpost's binaries, and a closed-loop client presenting
// an agency certificate, as SubmitReferral's callers do. Thread-safe.
#pragma once

#include "absl/time/time.h"
#include "tests/load/closed_loop.h"

namespace signpost::load {

struct EchoResult {
  ClosedLoopResult loop;
  int64_t mismatched = 0;  // answers whose payload differed from the request
};

// Keeps `outstanding` echoes of `payload_bytes` in flight for `duration`
// after `warmup`, on one channel.
EchoResult RunEchoBaseline(int outstanding, int payload_bytes,
                           absl::Duration warmup, absl::Duration duration);

}  // namespace signpost::load
