// Triage's event handler: ReferralReceived in, ReferralTriaged out (via the
// outbox). Other event types are ignored. Thread-safe.
#pragma once

#include <memory>

#include "common/events/event_consumer.h"
#include "common/store/outbox.h"
#include "services/triage/triage_store.h"

namespace signpost::triage {

class TriageHandler {
 public:
  TriageHandler(TriageStore& store, store::OutboxRelay& relay,
                std::shared_ptr<const Policy> policy)
      : store_(store), relay_(relay), policy_(std::move(policy)) {}
  absl::Status Handle(const events::IncomingEvent& event);

 private:
  TriageStore& store_;
  store::OutboxRelay& relay_;
  const std::shared_ptr<const Policy> policy_;
};

}  // namespace signpost::triage
