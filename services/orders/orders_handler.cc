#include "services/orders/orders_handler.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::orders {

absl::Status OrdersHandler::Handle(const events::IncomingEvent& event,
                                   store::Tx& tx) {
  const v1::EventEnvelope& envelope = event.envelope;
  if (envelope.has_victim_erased()) {
    ASSIGN_OR_RETURN(int blanked,
                     app_.EraseVictim(tx, ReferralId(envelope.referral_id()),
                                      envelope.victim_erased().person_id()));
    log::Info("victim erased",
              {{"referral_id", envelope.referral_id()},
               {"conditions_blanked", blanked}},
              TraceIdOf(event.traceparent));
    return absl::OkStatus();
  }
  if (!envelope.has_referral_triaged() && !envelope.has_referral_reassessed()) {
    return absl::OkStatus();
  }
  const v1::ReferralTriaged& decision =
      envelope.has_referral_reassessed()
          ? envelope.referral_reassessed().decision()
          : envelope.referral_triaged();
  ASSIGN_OR_RETURN(int opened,
                   app_.OpenConsiderations(
                       tx, ReferralId(envelope.referral_id()), decision,
                       envelope, event.traceparent, timeutil::NowMillis()));
  if (opened > 0) {
    log::Info("order considerations opened",
              {{"referral_id", envelope.referral_id()}, {"count", opened}},
              TraceIdOf(event.traceparent));
  }
  return absl::OkStatus();
}

}  // namespace signpost::orders
