// Orders' event handler: ReferralTriaged with consideration flags opens
// "order to consider" records (OrderConsiderationOpened). Thread-safe.
#pragma once

#include "common/events/event_consumer.h"
#include "common/store/outbox.h"
#include "services/orders/orders_store.h"

namespace signpost::orders {

class OrdersHandler {
 public:
  OrdersHandler(OrdersStore& store, store::OutboxRelay& relay)
      : store_(store), relay_(relay) {}
  absl::Status Handle(const events::IncomingEvent& event);

 private:
  OrdersStore& store_;
  store::OutboxRelay& relay_;
};

}  // namespace signpost::orders
