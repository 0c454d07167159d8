#include "services/advocacy/advocacy_handler.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::advocacy {

absl::Status AdvocacyHandler::Handle(const events::IncomingEvent& event) {
  if (!event.envelope.has_referral_triaged() &&
      !event.envelope.has_referral_reassessed()) {
    return absl::OkStatus();
  }
  absl::StatusOr<int> written = store_.RouteTriaged(event);
  if (!written.ok()) return written.status();
  relay_.Notify();
  log::Info("referral routed to advocacy",
            {{"referral_id", event.envelope.referral_id()},
             {"outcomes", absl::StrCat(*written)}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::advocacy
