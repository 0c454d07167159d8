// The orders application: one use case per method, each one transaction
// that loads (orders_store.h), decides (lifecycle.h, order_rules.h,
// timers.h), persists and emits (the outbox). A change, its timers and its
// events commit together; a timer fires exactly once because marking it
// fired and emitting its event are one transaction.
//
// Mutations take the time to stamp (`now`, millisecond-truncated by the
// caller: timeutil::NowMillis) and the call's W3C traceparent. The use case
// of a consumed event takes the consumer's transaction instead of opening
// its own (the consumer has claimed the event). Callers wake the outbox
// relay after a mutation. Thread-safe (the database serialises
// transactions).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/calendar/working_calendar.h"
#include "common/crypto/person_keys.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/orders/order_commands.h"
#include "services/orders/orders_store.h"
#include "services/orders/timers.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

// The sort keys the lists page by (paging::Listing): an integer (a time or
// a kind), then an id.
inline constexpr paging::KeyKind kIntThenId[] = {paging::KeyKind::kInt,
                                                 paging::KeyKind::kText};
// ListOrders: updated_at descending, then order_id.
inline constexpr paging::Listing kOrderListing{"ListOrders", kIntThenId};
// ListReviewQueue: opened_at, then consideration_id.
inline constexpr paging::Listing kReviewQueueListing{"ListReviewQueue",
                                                     kIntThenId};
// ListConsiderations: a referral's by (consideration kind, id), all open
// ones by (opened_at, id). The token's scope (the referral filter) keeps
// the two apart.
inline constexpr paging::Listing kConsiderationListing{"ListConsiderations",
                                                       kIntThenId};

// What one FireDueTimers run did.
struct TimerSweep {
  int fired = 0;
  // The earliest pending timer's due time (absl::InfiniteFuture() if none);
  // in the past when more timers were due than one run fires.
  absl::Time next_due = absl::InfiniteFuture();
};

class OrdersApp {
 public:
  struct Options {
    std::shared_ptr<const calendar::WorkingCalendar> calendar;  // required
    // Seals free text (order conditions) with the person's data key.
    // Required to save an order with conditions text.
    std::shared_ptr<const crypto::PersonKeys> person_keys;
    int expiring_warning_days = 14;
    absl::Duration review_window = absl::Hours(24);
    int dvpn_hearing_hours = 48;
    int dapn_hearing_hours = 48;
    int notification_duty_days = 3;
  };
  OrdersApp(store::Database& db, Options options);

  // ReferralTriaged / ReferralReassessed: records the referral (its area
  // and person) and opens one review item per consideration `decision`
  // flags that the referral does not have yet, each with its
  // OrderConsiderationOpened caused by `cause`. Returns how many were
  // opened.
  absl::StatusOr<int> OpenConsiderations(store::Tx& tx,
                                         const ReferralId& referral_id,
                                         const v1::ReferralTriaged& decision,
                                         const v1::EventEnvelope& cause,
                                         absl::string_view traceparent,
                                         absl::Time now);
  // VictimErased for `referral_id`: destroys the person's data key and the
  // keys of the referral's orders sealed without a person, blanks their
  // conditions text, and unlinks the person from the referral for good.
  // Idempotent. Returns how many orders' texts were blanked.
  absl::StatusOr<int> EraseVictim(store::Tx& tx, const ReferralId& referral_id,
                                  const std::string& person_id);

  // Closes a review item; deciding to apply opens the order (CONSIDERED).
  absl::StatusOr<v1::ConsiderationRecord> RecordConsideration(
      const access::Principal& caller, const ConsiderationId& id,
      const ConsiderationDecision& decision, absl::Time now,
      const std::string& traceparent);

  // A new order, APPLIED.
  absl::StatusOr<v1::Order> ApplyForNewOrder(const access::Principal& caller,
                                             const ReferralId& referral_id,
                                             const Application& application,
                                             absl::Time now,
                                             const std::string& traceparent);
  // A CONSIDERED order moves to APPLIED.
  absl::StatusOr<v1::Order> ApplyForOrder(const access::Principal& caller,
                                          const OrderId& order_id,
                                          const Application& application,
                                          absl::Time now,
                                          const std::string& traceparent);
  // GRANTED (statutory checks; expiry timers) or REFUSED.
  absl::StatusOr<v1::Order> RecordDecision(const access::Principal& caller,
                                           const OrderId& order_id,
                                           const Decision& decision,
                                           absl::Time now,
                                           const std::string& traceparent);
  // SERVED; starts the statutory clocks of service.
  absl::StatusOr<v1::Order> RecordService(const access::Principal& caller,
                                          const OrderId& order_id,
                                          const ServiceOfOrder& service,
                                          absl::Time now,
                                          const std::string& traceparent);
  // VARIED, EXTENDED or DISCHARGED, and/or notification or awareness.
  absl::StatusOr<v1::Order> RecordVariation(const access::Principal& caller,
                                            const OrderId& order_id,
                                            const Variation& variation,
                                            absl::Time now,
                                            const std::string& traceparent);
  absl::StatusOr<v1::Breach> RecordBreach(const access::Principal& caller,
                                          const OrderId& order_id,
                                          const BreachReport& report,
                                          absl::Time now,
                                          const std::string& traceparent);
  // Idempotent by (source, source_ref): a repeat answers the first import.
  absl::StatusOr<v1::Order> ImportOrder(const access::Principal& caller,
                                        const ReferralId& referral_id,
                                        const OrderImport& import,
                                        absl::Time now,
                                        const std::string& traceparent);

  absl::StatusOr<v1::Order> GetOrder(const access::Principal& caller,
                                     const OrderId& order_id);
  // The order's free-text conditions, opened ("" when none, or erased). Not
  // on the API (conditions never leave the store): for audit and tests.
  absl::StatusOr<std::string> OrderConditions(const access::Principal& caller,
                                              const OrderId& order_id);
  // One page of the matching orders (with their timers), most recently
  // updated first (kOrderListing).
  absl::StatusOr<paging::Page<v1::Order>> ListOrders(
      const access::Principal& caller, const OrderFilter& filter,
      const paging::PageRequest& page = {});
  absl::StatusOr<v1::OrderHistory> GetOrderHistory(
      const access::Principal& caller, const OrderId& order_id);
  // One page of the open review items of an area, oldest first, overdue
  // ones marked (kReviewQueueListing).
  absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListReviewQueue(
      const access::Principal& caller, const std::string& area_code,
      absl::Time now, const paging::PageRequest& page = {});
  // One page of the review items of a referral, by kind
  // (kConsiderationListing).
  absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListConsiderationsOf(
      const access::Principal& caller, const ReferralId& referral_id,
      absl::Time now, const paging::PageRequest& page = {});
  // One page of the open review items anywhere, oldest first
  // (kConsiderationListing).
  absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListOpenConsiderations(
      const access::Principal& caller, absl::Time now,
      const paging::PageRequest& page = {});

  // Fires every timer due at `now` (at most `limit`), each exactly once
  // with its event; an ORDER_EXPIRED timer also expires its order.
  absl::StatusOr<TimerSweep> FireDueTimers(absl::Time now, int limit = 500);

 private:
  // Moves `order` to `to` (checked against its lifecycle), saves it,
  // records the change, cancels its timers when the state is terminal, and
  // emits OrderRecorded.
  // The order, when `caller` may see it (CheckArea in orders_app.cc).
  absl::StatusOr<v1::Order> LoadOrderFor(store::Tx& tx,
                                         const access::Principal& caller,
                                         const OrderId& order_id);
  absl::Status Move(store::Tx& tx, v1::Order& order, v1::OrderState to,
                    absl::Time now, absl::string_view actor,
                    absl::string_view detail, absl::string_view traceparent);
  // Saves a new order, records its first change and emits OrderRecorded.
  absl::Status Create(store::Tx& tx, const v1::Order& order, absl::Time now,
                      absl::string_view actor, absl::string_view detail,
                      absl::string_view traceparent);
  absl::Status ScheduleExpiry(store::Tx& tx, const v1::Order& order);
  // SaveOrder with the order's conditions text (if any) sealed under the
  // data key of the referral's person, else the order's own
  // ("order/<order_id>").
  absl::Status Save(store::Tx& tx, const v1::Order& order, absl::Time now);
  // NOT_FOUND unless orders has seen the referral.
  absl::StatusOr<KnownReferral> RequireReferral(store::Tx& tx,
                                                const ReferralId& referral_id);
  absl::Status FireTimer(store::Tx& tx, const DueTimer& timer, absl::Time now);
  paging::Page<v1::ConsiderationRecord> WithReviewStatus(
      paging::Page<v1::ConsiderationRecord> page, absl::Time now) const;

  store::Database& db_;
  const Options options_;
  const TimerPolicy timer_policy_;
};

}  // namespace signpost::orders
