// Triage's event adapter, for the intake topic: ReferralReceived (the first
// decision, ReferralTriaged out), ConsentUpdated and ReferralWithdrawn (a new
// version, ReferralReassessed out) and VictimErased (shred the person's data
// here), each by TriageApp in the consumer's transaction. Other event types
// are ignored. Thread-safe (as TriageApp).
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
