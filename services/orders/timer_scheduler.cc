#include "services/orders/timer_scheduler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace signpost::orders {

void TimerScheduler::Start() {
  thread_ = std::thread([this] {
    while (!stopping_) {
      absl::StatusOr<int> fired = store_.FireDueTimers(absl::Now());
      if (!fired.ok()) {
        log::Warn("timer scan failed",
                  {{"error", std::string(fired.status().message())}});
      } else if (*fired > 0) {
        relay_.Notify();
        log::Info("order timers fired", {{"count", absl::StrCat(*fired)}});
        continue;  // there may be more due
      }
      absl::Time next = absl::Now() + interval_;
      while (!stopping_ && absl::Now() < next)
        absl::SleepFor(absl::Milliseconds(100));
    }
  });
}

void TimerScheduler::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace signpost::orders
