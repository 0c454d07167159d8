// Orders' event adapter: a ReferralTriaged or ReferralReassessed records the
// referral and opens review items for its consideration flags
// (OrdersApp::OpenConsiderations); a VictimErased (intake's topic) shreds the
// referral's free text (OrdersApp::EraseVictim). Each runs in the consumer's
// transaction; every other event is ignored. Thread-safe.
#pragma once

#include "absl/status/status.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/orders/orders_app.h"

namespace signpost::orders {

class OrdersHandler {
 public:
  explicit OrdersHandler(OrdersApp& app) : app_(app) {}
  // The consumer's EventHandler: called inside its transaction, after it
  // claimed the event.
  absl::Status Handle(const events::IncomingEvent& event, store::Tx& tx);

 private:
  OrdersApp& app_;
};

}  // namespace signpost::orders
