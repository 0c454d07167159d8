// A background worker that runs one function when it is due, or as soon as
// someone calls Notify(), and otherwise sleeps on a condition (no polling).
// The function returns when it next wants to run; the task also wakes at
// least every `max_interval` as a safety net (e.g. for a row another process
// wrote). Stop() wakes the thread at once and joins it.
//
// Used for offer expiry, order timers and readiness monitoring. Thread-safe:
// Notify() may be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace signpost::worker {

class PeriodicTask {
 public:
  // Returns the time it next wants to run (absl::InfiniteFuture() for
  // "only when notified or after max_interval").
  using Fn = std::function<absl::Time(absl::Time now)>;

  PeriodicTask(std::string name, absl::Duration max_interval, Fn fn);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  const std::string& name() const { return name_; }
  // Starts the thread; the first run is immediate.
  void Start();
  // Runs the function soon, even if it is not yet due.
  void Notify();
  // Stops and joins. A run in progress finishes first. Idempotent.
  void Stop();
  // How many times the function has run.
  int64_t runs() const;

 private:
  void Loop();

  const std::string name_;
  const absl::Duration max_interval_;
  const Fn fn_;
  mutable absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace signpost::worker
