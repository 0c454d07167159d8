// Orders' SQL and row mapping: orders with their history and breaches,
// durable timers, and obligatory-consideration review items. Every function
// runs inside the caller's transaction and takes and returns domain values;
// what to change is the application's decision (orders_app.h). Free-text
// order conditions are kept in their own column, never in the stored order
// that lists and events are built from. Thread-compatible (the Tx is the
// caller's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/metrics/metrics.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/orders/order_commands.h"
#include "services/orders/timers.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

// The orders database schema, in order (after the shared migration).
std::vector<std::string> OrdersMigrations();

// Metrics, read at each scrape (codes only). Statutory timers not yet
// fired or cancelled, by state: "due" (its time has come) or "waiting".
absl::StatusOr<std::vector<metrics::Sample>> TimerCounts(store::Tx& tx,
                                                         absl::Time now);
// Timers fired so far, by kind.
absl::StatusOr<std::vector<metrics::Sample>> TimersFired(store::Tx& tx);

// The column whose free text is sealed (AAD "<order_id>/conditions_text").
inline constexpr char kConditionsColumn[] = "conditions_text";

// A free-text value as stored: sealed (format crypto::kSealedFieldFormat)
// under the data key of `owner`, or plaintext written before sealing
// (format "").
struct StoredText {
  std::string value;
  std::string format;
  std::string owner;
};

// --- referrals ------------------------------------------------------------

// A referral orders has seen (in triage's decisions, or with an item or
// order of its own).
struct KnownReferral {
  std::string area_code;
  std::string person_id;  // "" when not known, or erased
  bool erased = false;
};

// Records the referral of a decision: its area and person. A person erased
// is not linked again.
absl::Status RecordReferral(store::Tx& tx, const ReferralId& referral_id,
                            absl::string_view area_code,
                            absl::string_view person_id);
absl::StatusOr<std::optional<KnownReferral>> FindReferral(
    store::Tx& tx, const ReferralId& referral_id);
// Erasure: unlinks the referral's person (for good) and blanks the sealed
// free text of its orders. Returns the key owners those texts were sealed
// under, and how many were blanked.
struct ErasedText {
  std::vector<std::string> owners;
  int blanked = 0;
};
absl::StatusOr<ErasedText> EraseReferralFreeText(store::Tx& tx,
                                                 const ReferralId& referral_id);
// The order's conditions text as stored (value "" when there is none).
absl::StatusOr<StoredText> LoadConditionsText(store::Tx& tx,
                                              const OrderId& order_id);

// --- orders ---------------------------------------------------------------

// The stored order, without its timers. NOT_FOUND when unknown.
absl::StatusOr<v1::Order> LoadOrder(store::Tx& tx, const OrderId& order_id);
// The stored order with its pending and fired (not cancelled) timers: what
// every read and most mutations answer.
absl::StatusOr<v1::Order> LoadOrderWithTimers(store::Tx& tx,
                                              const OrderId& order_id);
// Inserts or updates `order` as of `now` (its updated_at). Its timers are
// not saved (they are rows of their own), nor its plaintext conditions
// text: `conditions` (sealed by the caller) goes to its own column, and a
// save without it keeps the stored one. INTERNAL when the order carries
// conditions text but no sealed `conditions` is given (never plaintext).
absl::Status SaveOrder(store::Tx& tx, v1::Order order, absl::Time now,
                       const std::optional<StoredText>& conditions = {});
// The order imported from `source` as `source_ref`, if any.
absl::StatusOr<std::optional<OrderId>> FindImportedOrder(
    store::Tx& tx, absl::string_view source, absl::string_view source_ref);
// One page of the ids of the orders matching `filter`, most recently
// updated first, then by id; keys (updated_at_ms, order_id).
absl::StatusOr<paging::Page<OrderId>> FindOrders(
    store::Tx& tx, const OrderFilter& filter, const paging::PageRequest& page);

// Appends a change to the order's history (at, states, actor, detail).
absl::Status AddChange(store::Tx& tx, const OrderId& order_id,
                       const v1::OrderChange& change);
// The order's history, oldest first.
absl::StatusOr<std::vector<v1::OrderChange>> LoadChanges(
    store::Tx& tx, const OrderId& order_id);

// --- breaches -------------------------------------------------------------

absl::Status InsertBreach(store::Tx& tx, const v1::Breach& breach,
                          absl::Time recorded_at);
// The order's breaches reported under `incident_ref` (id and proceedings).
absl::StatusOr<std::vector<v1::Breach>> LoadIncidentBreaches(
    store::Tx& tx, const OrderId& order_id, absl::string_view incident_ref);
// The order's breaches, by occurrence.
absl::StatusOr<std::vector<v1::Breach>> LoadBreaches(store::Tx& tx,
                                                     const OrderId& order_id);

// --- timers ---------------------------------------------------------------

absl::Status AddTimer(store::Tx& tx, const OrderId& order_id,
                      const TimerSpec& timer);
// Cancels the order's pending timers of `kind` (every kind when empty).
absl::Status CancelTimers(store::Tx& tx, const OrderId& order_id,
                          absl::string_view kind = "");
// Pending timers due at `now`, earliest first, at most `limit`.
absl::StatusOr<std::vector<DueTimer>> LoadDueTimers(store::Tx& tx,
                                                    absl::Time now, int limit);
// Marks a pending timer fired at `at`; false when it was no longer pending.
absl::StatusOr<bool> MarkTimerFired(store::Tx& tx, int64_t timer_id,
                                    absl::Time at);
// The due time of the earliest pending timer, if any.
absl::StatusOr<std::optional<absl::Time>> EarliestPendingTimer(store::Tx& tx);

// --- review items (considerations) ----------------------------------------

// Opens an item; false (and nothing written) when the referral already has
// one of this kind.
absl::StatusOr<bool> InsertConsideration(store::Tx& tx,
                                         const ConsiderationId& id,
                                         const ReferralId& referral_id,
                                         v1::Consideration consideration,
                                         absl::string_view area_code,
                                         absl::Time opened_at);
// The item as stored (review_due and overdue unset). NOT_FOUND when unknown.
absl::StatusOr<v1::ConsiderationRecord> LoadConsideration(
    store::Tx& tx, const ConsiderationId& id);
// Closes the item with its decision (applied, reason, order, actor).
absl::Status SaveConsiderationDecision(store::Tx& tx,
                                       const v1::ConsiderationRecord& record,
                                       absl::Time closed_at);
// One page of the open items in an area, oldest first, then by id; keys
// (opened_at_ms, consideration_id).
absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListOpenConsiderationsIn(
    store::Tx& tx, absl::string_view area_code,
    const paging::PageRequest& page);
// One page of the items of a referral, by kind; keys (consideration,
// consideration_id).
absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListConsiderationsOf(
    store::Tx& tx, const ReferralId& referral_id,
    const paging::PageRequest& page);
// One page of the open items anywhere, oldest first, then by id; keys
// (opened_at_ms, consideration_id).
absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListOpenConsiderations(
    store::Tx& tx, const paging::PageRequest& page);

}  // namespace signpost::orders
