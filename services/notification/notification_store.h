// Notification's store, SQL and row mapping only: the triage context per
// referral, the events seen (pending while they wait for that context), the
// deliveries made (one per event per agency), and the referrers of linked
// referrals. Every method runs inside
// the caller's transaction. Thread-safe (stateless; the Database serialises
// access).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/notification/routing.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

// An event as recorded, with the trace it arrived on.
struct RecordedEvent {
  v1::EventEnvelope envelope;
  std::string traceparent;
};

class NotificationStore {
 public:
  static std::vector<std::string> Migrations();

  // Inserts or replaces the referral's context.
  absl::Status SaveContext(store::Tx& tx, const ReferralId& referral_id,
                           const ReferralContext& context) const;
  absl::StatusOr<std::optional<ReferralContext>> LoadContext(
      store::Tx& tx, const ReferralId& referral_id) const;

  // Records an event; `pending` while its referral's context is unknown.
  // ALREADY_EXISTS when the event id was recorded before.
  absl::Status RecordEvent(store::Tx& tx, const v1::EventEnvelope& envelope,
                           absl::string_view traceparent, bool pending,
                           absl::Time seen_at) const;
  // The referral's pending events and the event `also` (when recorded), in
  // the order seen.
  absl::StatusOr<std::vector<RecordedEvent>> PendingEvents(
      store::Tx& tx, const ReferralId& referral_id, const EventId& also) const;
  // Marks every pending event of the referral as decided.
  absl::Status ClearPending(store::Tx& tx, const ReferralId& referral_id) const;
  // True when any event of the referral was seen or any delivery of it
  // recorded.
  absl::StatusOr<bool> KnowsReferral(store::Tx& tx,
                                     const ReferralId& referral_id) const;
  // Decided (not pending) events of the referral.
  absl::StatusOr<int> CountDecidedEvents(store::Tx& tx,
                                         const ReferralId& referral_id) const;

  // Rewrites every stored event of the referral as `rewrite` returns it
  // (for an erasure).
  absl::Status RewriteEvents(
      store::Tx& tx, const ReferralId& referral_id,
      const std::function<v1::EventEnvelope(const v1::EventEnvelope&)>& rewrite)
      const;

  // Records that `agency` referred `linked_referral_id`, which was linked to
  // `referral_id`. Idempotent.
  absl::Status AddLinkedReferrer(store::Tx& tx, const ReferralId& referral_id,
                                 const std::string& agency,
                                 const std::string& linked_referral_id) const;
  // A linked referral was withdrawn or cancelled: its referrer is no longer
  // told the outcomes of the referral it was linked to.
  absl::Status RemoveLinkedReferral(store::Tx& tx,
                                    const ReferralId& linked_referral_id) const;
  // The referral's person was erased (VictimErased).
  absl::Status MarkErased(store::Tx& tx, const ReferralId& referral_id) const;
  absl::StatusOr<bool> IsErased(store::Tx& tx,
                                const ReferralId& referral_id) const;

  // The agencies (and the legal basis of each one's first delivery) told
  // about the referral, and its linked referrals' referrers.
  absl::StatusOr<ReferralAudience> AudienceOf(
      store::Tx& tx, const ReferralId& referral_id) const;

  // Inserts `delivery` (delivered_at stored in milliseconds). Returns false,
  // writing nothing, when its agency already received its event.
  absl::StatusOr<bool> InsertDelivery(store::Tx& tx,
                                      const v1::Delivery& delivery) const;
  // `agency`, when set, limits either list to that agency's deliveries.
  // One page of all deliveries, newest first, then by delivery id; keys
  // (delivered_at_ms, delivery_id).
  absl::StatusOr<paging::Page<v1::Delivery>> RecentDeliveries(
      store::Tx& tx, const std::optional<AgencyId>& agency,
      const paging::PageRequest& page) const;
  // One page of the referral's deliveries, oldest first, then by agency,
  // then in the order they were recorded; keys (delivered_at_ms, agency_id,
  // the row's rowid).
  absl::StatusOr<paging::Page<v1::Delivery>> ReferralDeliveries(
      store::Tx& tx, const ReferralId& referral_id,
      const std::optional<AgencyId>& agency,
      const paging::PageRequest& page) const;
};

}  // namespace signpost::notification
