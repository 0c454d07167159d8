// Advocacy's event adapter: ReferralTriaged and ReferralReassessed in (each
// routed by AdvocacyApp::RouteTriaged inside the consumer's transaction);
// AdvocateOffered or ReferralWaitlisted out, via the outbox. Other events are
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
