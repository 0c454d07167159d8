// What each orders use case decides, in plain code: how an application,
// decision, service, variation, breach or import changes an order, and when
// a review item is overdue. Each function checks before it changes anything
// it is given; a refusal is FAILED_PRECONDITION naming the rule (see
// lifecycle.h) or INVALID_ARGUMENT naming the field. No I/O. Thread-safe
// (pure).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "services/orders/order_commands.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

inline constexpr char kConsiderationDecidedRule[] = "CONSIDERATION-DECIDED";
inline constexpr char kOrderTypeFixedRule[] = "ORDER-TYPE-FIXED";

// The order type a consideration opens when no type is chosen.
v1::OrderType OrderTypeFor(v1::Consideration consideration);

// Sets the item's review deadline (opened + `window`) and whether it is
// overdue at `now` (open and past the deadline).
void SetReviewStatus(v1::ConsiderationRecord& record, absl::Time now,
                     absl::Duration window);

// A decided item cannot be decided again (CONSIDERATION-DECIDED).
absl::Status CheckConsiderationOpen(const v1::ConsiderationRecord& record);
// The CONSIDERED order that deciding to apply opens.
v1::Order OrderFromConsideration(const OrderId& order_id,
                                 const v1::ConsiderationRecord& record,
                                 const ConsiderationDecision& decision);
// Closes the item with `decision` (and the order it opened, if any).
void CloseConsideration(v1::ConsiderationRecord& record,
                        const ConsiderationDecision& decision,
                        const std::optional<OrderId>& order_id);

// A new order in APPLIED (refused when its type cannot start there).
absl::StatusOr<v1::Order> NewApplication(const OrderId& order_id,
                                         const ReferralId& referral_id,
                                         const Application& application);
// An application for an existing order: its type is fixed
// (ORDER-TYPE-FIXED), a notice is authorised rather than applied for
// (ORDER-LIFECYCLE); copies the given particulars. The move to APPLIED is
// checked when it is made.
absl::Status ApplyToOrder(v1::Order& order, const Application& application);

// Records a decision's parties and, when granted, checks the statutory
// rules and sets the authority, terms and expiry. Returns the state to move
// to (GRANTED or REFUSED), checked against the lifecycle.
absl::StatusOr<v1::OrderState> Decide(v1::Order& order,
                                      const Decision& decision, absl::Time now);

// Records service at `served_at`, checked against the lifecycle.
absl::Status Serve(v1::Order& order, absl::Time served_at);

struct VariationOutcome {
  bool terms_changed = false;
  // The respondent is newly notified: the notification duty is met.
  bool duty_met = false;
  // The coded note for the order's history.
  std::string detail;
};
// Applies a variation (new terms checked as at a grant, expiry
// recomputed), a notification or an awareness. The move to the new state,
// if any, is checked when it is made.
absl::StatusOr<VariationOutcome> Vary(v1::Order& order,
                                      const Variation& variation);

// Checks a breach report: a non-molestation breach names its proceedings
// (a field error), then CheckBreach (lifecycle.h). `same_incident` are the
// order's earlier breaches with the report's incident reference.
absl::Status CheckBreachReport(const v1::Order& order,
                               const BreachReport& report,
                               const std::vector<v1::Breach>& same_incident);
v1::Breach NewBreach(const std::string& breach_id, const v1::Order& order,
                     const BreachReport& report);

// An imported order (GRANTED or SERVED), checked as at a grant.
absl::StatusOr<v1::Order> NewImportedOrder(const OrderId& order_id,
                                           const ReferralId& referral_id,
                                           const OrderImport& import,
                                           absl::Time now);

}  // namespace signpost::orders
