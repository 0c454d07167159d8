#include "services/advocacy/offer_expiry.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace signpost::advocacy {

void OfferExpiryScheduler::Start() {
  thread_ = std::thread([this] {
    while (!stopping_) {
      absl::StatusOr<int> expired = store_.ExpireOffers(absl::Now());
      if (!expired.ok()) {
        log::Warn("offer expiry scan failed",
                  {{"error", std::string(expired.status().message())}});
      } else if (*expired > 0) {
        relay_.Notify();
        log::Info("offers expired and re-offered",
                  {{"count", absl::StrCat(*expired)}});
      }
      absl::Time next = absl::Now() + interval_;
      while (!stopping_ && absl::Now() < next)
        absl::SleepFor(absl::Milliseconds(100));
    }
  });
}

void OfferExpiryScheduler::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace signpost::advocacy
