#include "common/http/retry.h"

#include <algorithm>
#include <cstdint>

#include "absl/random/distributions.h"

namespace signpost::http {

absl::Duration BackoffDelay(int attempt, absl::Duration base,
                            absl::Duration cap, absl::BitGenRef gen) {
  if (base <= absl::ZeroDuration() || cap <= absl::ZeroDuration()) {
    return absl::ZeroDuration();
  }
  // Doubling stops at the cap, so this loop runs at most ~64 times and
  // never overflows (absl::Duration saturates at infinity anyway).
  absl::Duration ceiling = std::min(base, cap);
  for (int i = 1; i < attempt && ceiling < cap; ++i) {
    ceiling = std::min(ceiling * 2, cap);
  }
  // An infinite cap saturates to the largest int64 nanoseconds (~292 years).
  const int64_t ceiling_ns = absl::ToInt64Nanoseconds(ceiling);
  return absl::Nanoseconds(
      absl::Uniform(absl::IntervalClosedClosed, gen, int64_t{0}, ceiling_ns));
}

CircuitBreaker::CircuitBreaker(Options options)
    : options_([&] {
        options.failure_threshold = std::max(options.failure_threshold, 1);
        options.open_for = std::max(options.open_for, absl::ZeroDuration());
        return options;
      }()) {}

bool CircuitBreaker::Allow(absl::Time now) {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now < opened_at_ + options_.open_for) return false;
      state_ = State::kHalfOpen;
      trial_in_flight_ = true;
      trial_started_ = now;
      return true;
    case State::kHalfOpen:
      if (trial_in_flight_ && now < trial_started_ + options_.open_for) {
        return false;
      }
      trial_in_flight_ = true;
      trial_started_ = now;
      return true;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  absl::MutexLock lock(&mu_);
  state_ = State::kClosed;
  consecutive_failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::RecordFailure(absl::Time now) {
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      if (++consecutive_failures_ < options_.failure_threshold) return;
      break;
    case State::kHalfOpen:
      break;
    case State::kOpen:
      // A call let through before the breaker opened: the pause stands.
      return;
  }
  state_ = State::kOpen;
  opened_at_ = now;
  consecutive_failures_ = 0;
  trial_in_flight_ = false;
  ++times_opened_;
}

CircuitBreaker::State CircuitBreaker::state(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (state_ == State::kOpen && now >= opened_at_ + options_.open_for) {
    return State::kHalfOpen;
  }
  return state_;
}

int CircuitBreaker::times_opened() const {
  absl::MutexLock lock(&mu_);
  return times_opened_;
}

absl::string_view StateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "CLOSED";
    case CircuitBreaker::State::kOpen:
      return "OPEN";
    case CircuitBreaker::State::kHalfOpen:
      return "HALF_OPEN";
  }
  return "UNKNOWN_STATE";
}

}  // namespace signpost::http
