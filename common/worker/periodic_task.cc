#include "common/worker/periodic_task.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/log/log.h"

namespace signpost::worker {

PeriodicTask::PeriodicTask(std::string name, absl::Duration max_interval, Fn fn)
    : name_(std::move(name)), max_interval_(max_interval), fn_(std::move(fn)) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || thread_.joinable()) return;
  }
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicTask::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

void PeriodicTask::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t PeriodicTask::runs() const {
  absl::MutexLock lock(&mu_);
  return runs_;
}

void PeriodicTask::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      notified_ = false;
    }
    const absl::Time now = absl::Now();
    const absl::Time next = std::min(fn_(now), now + max_interval_);
    absl::MutexLock lock(&mu_);
    // Once, so that an operator (and a test) sees the worker is live.
    if (++runs_ == 1) log::Info("worker started", {{"worker", name_}});
    auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return notified_ || stopping_;
    };
    const absl::Duration wait = next - absl::Now();
    if (wait > absl::ZeroDuration()) {
      mu_.AwaitWithTimeout(absl::Condition(&wake), wait);
    }
  }
}

}  // namespace signpost::worker
