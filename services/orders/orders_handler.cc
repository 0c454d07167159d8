#include "services/orders/orders_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::orders {

absl::Status OrdersHandler::Handle(const events::IncomingEvent& event) {
  if (!event.envelope.has_referral_triaged() &&
      !event.envelope.has_referral_reassessed()) {
    return absl::OkStatus();
  }
  absl::StatusOr<int> opened = store_.OpenConsiderations(event, absl::Now());
  if (!opened.ok()) return opened.status();
  if (*opened > 0) {
    relay_.Notify();
    log::Info("order considerations opened",
              {{"referral_id", event.envelope.referral_id()},
               {"count", absl::StrCat(*opened)}},
              TraceIdOf(event.traceparent));
  }
  return absl::OkStatus();
}

}  // namespace signpost::orders
