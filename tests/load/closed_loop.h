// A closed-loop driver for unary gRPC calls: N calls outstanding, each slot
// starting its next call as soon as its last one completes, for a fixed
// time after a warm-up. The harness drives both the echo baseline and
// SubmitReferral with it, so the two differ only in the call. Also the
// agency channel both use. Thread-safe: RunClosedLoop may be called from
// any thread; `start`'s completions may arrive on any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "tests/load/stats.h"

namespace signpost::load {

// Starts call number `slot`'s next call without blocking and arranges for
// `done` to be called exactly once with its status when it completes. A
// slot never has two calls in flight, so per-slot state needs no lock.
using StartCall =
    std::function<void(int slot, std::function<void(const grpc::Status&)>)>;

struct ClosedLoopResult {
  Samples latencies;  // calls started and completed inside the window
  double window_seconds = 0;
  int64_t calls = 0;   // completed in the window
  int64_t errors = 0;  // failed calls, warm-up included
  std::string first_error;
};

ClosedLoopResult RunClosedLoop(const StartCall& start, int outstanding,
                               absl::Duration warmup, absl::Duration duration);

// A mutual-TLS channel to `address` presenting registered agency
// `agency_id`'s dev-PKI certificate (testing::TestPki()), with a subchannel
// of its own: one HTTP/2 connection that every call of the run shares.
std::shared_ptr<grpc::Channel> AgencyChannel(const std::string& address,
                                             const std::string& agency_id);

}  // namespace signpost::load
