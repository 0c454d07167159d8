// Advocacy's event adapter: ReferralTriaged and ReferralReassessed (triage
// topic) are routed by AdvocacyApp::RouteTriaged, VictimErased (intake topic)
// is handled by AdvocacyApp::EraseVictim, each inside the consumer's
// transaction; AdvocateOffered, ReferralWaitlisted, AssignmentReleased and
// the like go out via the outbox. Other events (the rest of intake's) are
// ignored. Thread-safe (the app is).
#pragma once

#include "absl/status/status.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/advocacy/advocacy_app.h"

namespace signpost::advocacy {

class AdvocacyHandler {
 public:
  explicit AdvocacyHandler(AdvocacyApp& app) : app_(app) {}
  // The consumer has opened `tx` and claimed the event in its inbox.
  absl::Status Handle(const events::IncomingEvent& event, store::Tx& tx);

 private:
  AdvocacyApp& app_;
};

}  // namespace signpost::advocacy
