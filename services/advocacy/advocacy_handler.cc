#include "services/advocacy/advocacy_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::advocacy {

absl::Status AdvocacyHandler::Handle(const events::IncomingEvent& event) {
  if (!event.envelope.has_referral_triaged() &&
      !event.envelope.has_referral_reassessed()) {
    return absl::OkStatus();
  }
  absl::StatusOr<int> created = store_.RouteTriaged(event, absl::Now());
  if (!created.ok()) return created.status();
  relay_.Notify();
  log::Info("referral routed to advocacy",
            {{"referral_id", event.envelope.referral_id()},
             {"assignments", absl::StrCat(*created)}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::advocacy
