// Intake's event adapter: triage's decisions (whether a referral goes to
// MARAC) and advocacy's offers, acceptances and endings (the providers that
// may read it) in, applied by IntakeApp in the consumer's transaction.
// Intake emits nothing in reply. Thread-safe (as IntakeApp).
#pragma once

#include "absl/status/status.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/intake/intake_app.h"

namespace signpost::intake {

class IntakeHandler {
 public:
  explicit IntakeHandler(IntakeApp& app) : app_(app) {}
  // The consumer's EventHandler: runs inside its transaction, after it has
  // claimed the inbox.
  absl::Status Handle(const events::IncomingEvent& event, store::Tx& tx) {
    return app_.ApplyRoutingEvent(tx, event.envelope);
  }

 private:
  IntakeApp& app_;
};

}  // namespace signpost::intake
