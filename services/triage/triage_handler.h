// Triage's event adapter: ReferralReceived in (decided by TriageApp in the
// consumer's transaction), ReferralTriaged out via the outbox. Other event
// types are ignored. Thread-safe (as TriageApp).
#pragma once

#include "absl/status/status.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/triage/triage_app.h"

namespace signpost::triage {

class TriageHandler {
 public:
  explicit TriageHandler(TriageApp& app) : app_(app) {}
  // The consumer's EventHandler: runs inside its transaction, after it has
  // claimed the inbox.
  absl::Status Handle(const events::IncomingEvent& event, store::Tx& tx);

 private:
  TriageApp& app_;
};

}  // namespace signpost::triage
