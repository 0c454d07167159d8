#include "services/advocacy/advocacy_handler.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::advocacy {

absl::Status AdvocacyHandler::Handle(const events::IncomingEvent& event,
                                     store::Tx& tx) {
  const v1::EventEnvelope& envelope = event.envelope;
  if (envelope.has_victim_erased()) {
    ASSIGN_OR_RETURN(int released,
                     app_.EraseVictim(tx, envelope, event.traceparent,
                                      timeutil::NowMillis()));
    log::Info("person's advocacy data erased",
              {{"referral_id", envelope.referral_id()}, {"released", released}},
              TraceIdOf(event.traceparent));
    return absl::OkStatus();
  }
  if (!envelope.has_referral_triaged() && !envelope.has_referral_reassessed()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(int created,
                   app_.RouteTriaged(tx, envelope, event.traceparent,
                                     timeutil::NowMillis()));
  log::Info("referral routed to advocacy",
            {{"referral_id", envelope.referral_id()}, {"assignments", created}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::advocacy
