// Advocacy's event handler: ReferralTriaged / ReferralReassessed in;
// AdvocateOffered or ReferralWaitlisted out (via the outbox). Thread-safe.
#pragma once

#include "common/events/event_consumer.h"
#include "common/store/outbox.h"
#include "services/advocacy/advocacy_store.h"

namespace signpost::advocacy {

class AdvocacyHandler {
 public:
  AdvocacyHandler(AdvocacyStore& store, store::OutboxRelay& relay)
      : store_(store), relay_(relay) {}
  absl::Status Handle(const events::IncomingEvent& event);

 private:
  AdvocacyStore& store_;
  store::OutboxRelay& relay_;
};

}  // namespace signpost::advocacy
