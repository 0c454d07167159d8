// Orders' store: obligatory-consideration review items, orders with their
// history and breaches, and durable timers. Every change, its timers and its
// events commit in one transaction; a timer fires exactly once because
// marking it fired and emitting its event are one transaction. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/calendar/working_calendar.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

class OrdersStore {
 public:
  struct Options {
    std::shared_ptr<const calendar::WorkingCalendar> calendar;  // required
    int expiring_warning_days = 14;
    absl::Duration review_window = absl::Hours(24);
    int dvpn_hearing_hours = 48;
    int dapn_hearing_hours = 48;
    int notification_duty_days = 3;
  };
  OrdersStore(store::Database& db, Options options)
      : db_(db), options_(std::move(options)) {}
  static std::vector<std::string> Migrations();

  // Opens one review item per consideration flag on a ReferralTriaged or
  // ReferralReassessed event, exactly once. Returns how many were opened.
  absl::StatusOr<int> OpenConsiderations(const events::IncomingEvent& event,
                                         absl::Time now);
  absl::StatusOr<v1::ConsiderationRecord> RecordConsideration(
      const v1::RecordConsiderationRequest& request, absl::Time now,
      const std::string& traceparent);

  absl::StatusOr<v1::Order> RecordApplication(
      const v1::RecordApplicationRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Order> RecordDecision(
      const v1::RecordDecisionRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Order> RecordService(
      const v1::RecordServiceRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Order> RecordVariation(
      const v1::RecordVariationRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Breach> RecordBreach(
      const v1::RecordBreachRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Order> ImportOrder(const v1::ImportOrderRequest& request,
                                        absl::Time now,
                                        const std::string& traceparent);

  absl::StatusOr<v1::Order> GetOrder(const std::string& order_id);
  absl::StatusOr<std::vector<v1::Order>> ListOrders(
      const v1::ListOrdersRequest& request);
  absl::StatusOr<v1::OrderHistory> GetOrderHistory(const std::string& order_id);
  absl::StatusOr<std::vector<v1::ConsiderationRecord>> ListReviewQueue(
      const std::string& area_code, absl::Time now);
  absl::StatusOr<std::vector<v1::ConsiderationRecord>> ListConsiderations(
      const std::string& referral_id, absl::Time now);

  // Fires every timer due at `now` (at most `limit`), each exactly once.
  absl::StatusOr<int> FireDueTimers(absl::Time now, int limit = 500);

 private:
  store::Database& db_;
  const Options options_;
};

}  // namespace signpost::orders
