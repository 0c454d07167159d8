// Scans the store for offers past their expiry and re-offers them. The
// deadlines are rows in the store, so an offer expires correctly after a
// restart; each expiry happens once because the state change and its events
// commit together. Thread-safe; runs its own thread between Start and Stop.
#pragma once

#include <atomic>
#include <thread>

#include "absl/time/time.h"
#include "common/store/outbox.h"
#include "services/advocacy/advocacy_store.h"

namespace signpost::advocacy {

class OfferExpiryScheduler {
 public:
  OfferExpiryScheduler(AdvocacyStore& store, store::OutboxRelay& relay,
                       absl::Duration interval)
      : store_(store), relay_(relay), interval_(interval) {}
  ~OfferExpiryScheduler() { Stop(); }
  void Start();
  void Stop();

 private:
  AdvocacyStore& store_;
  store::OutboxRelay& relay_;
  const absl::Duration interval_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace signpost::advocacy
