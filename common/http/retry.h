// Retry policy for calls to remote endpoints (partner webhooks): how long to
// wait before the next attempt, and a per-endpoint circuit breaker that stops
// calling an endpoint that keeps failing, then lets one trial call through
// after a pause to see whether it has recovered.
//
// Neither reads a clock: the caller passes the time in, so tests drive it.
// BackoffDelay is a pure function (thread-safe when `gen` is); CircuitBreaker
// is thread-safe.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace signpost::http {

// The wait before the next attempt after `attempt` failures so far (1 for
// the first failure): uniform in [0, min(cap, base * 2^(attempt-1))], AWS's
// "full jitter", so that clients that failed together do not retry together.
// Never negative; an `attempt` below 1 counts as 1; no overflow however
// large `attempt` is. A non-positive `base` or `cap` gives zero.
absl::Duration BackoffDelay(int attempt, absl::Duration base,
                            absl::Duration cap, absl::BitGenRef gen);

// One endpoint's breaker:
//   CLOSED     calls go through; `failure_threshold` failures in a row open it
//   OPEN       calls are refused for `open_for`, then it is HALF_OPEN
//   HALF_OPEN  exactly one trial call at a time goes through; its success
//              closes the breaker, its failure opens it again
// A trial whose outcome is never recorded (its caller gave up) does not hold
// the breaker half-open forever: after another `open_for` a new trial may go.
// Thread-safe.
class CircuitBreaker {
 public:
  struct Options {
    int failure_threshold = 5;  // below 1 counts as 1
    absl::Duration open_for = absl::Seconds(30);
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker() : CircuitBreaker(Options{}) {}
  explicit CircuitBreaker(Options options);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Whether a call may go now. In HALF_OPEN a true answer is the trial: the
  // caller must then record its outcome.
  bool Allow(absl::Time now);
  void RecordSuccess();
  void RecordFailure(absl::Time now);

  // The state at `now` (an OPEN breaker whose pause is over reads
  // HALF_OPEN). Does not change anything.
  State state(absl::Time now) const;
  // How many times the breaker has opened (from CLOSED or from HALF_OPEN).
  int times_opened() const;

 private:
  const Options options_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Set while a HALF_OPEN trial is out: when it started.
  absl::Time trial_started_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool trial_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  int times_opened_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::string_view StateName(CircuitBreaker::State state);

}  // namespace signpost::http
