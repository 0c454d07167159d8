// Orders' store: obligatory-consideration records opened from triage, and
// orders with their state. Each change and its event commit together.
// Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

class OrdersStore {
 public:
  explicit OrdersStore(store::Database& db) : db_(db) {}
  static std::vector<std::string> Migrations();

  // Opens one consideration per flag on a ReferralTriaged event, exactly
  // once. Returns how many were opened.
  absl::StatusOr<int> OpenConsiderations(const events::IncomingEvent& event);
  // Creates or moves an order, checking the lifecycle; emits OrderRecorded.
  absl::StatusOr<v1::Order> RecordOrder(const v1::RecordOrderRequest& request,
                                        const std::string& traceparent);
  absl::StatusOr<std::vector<v1::OrderConsiderationRecord>> ListConsiderations(
      const std::string& referral_id);

 private:
  store::Database& db_;
};

}  // namespace signpost::orders
