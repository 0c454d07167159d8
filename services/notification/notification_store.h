// Notification's store, SQL and row mapping only: the triage context and
// referrer per referral, the events seen (pending while they wait for that
// context), the providers of assignments, the referrers of linked referrals,
// each agency's feed of partner events (partner_events, in sequence) and
// the deliveries of those events per transport, with their retry state.
// Every method runs inside the caller's transaction. Thread-safe (stateless;
// the Database serialises access).
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
#include "common/metrics/metrics.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/notification/routing.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/notification.pb.h"
#include "signpost/v1/partner.pb.h"

namespace signpost::notification {

// An event as recorded, with the trace it arrived on.
struct RecordedEvent {
  v1::EventEnvelope envelope;
  std::string traceparent;
};

// A delivery with what the store keeps beyond v1::Delivery.
struct DeliveryRow {
  v1::Delivery delivery;
  // The partner event's place in its agency's feed (0 for a refusal).
  int64_t sequence = 0;
  std::string partner_referral_id;
  std::string linked_referral_id;
  // Webhooks: when the retry window began and when to try next.
  std::optional<absl::Time> first_attempt;
  std::optional<absl::Time> next_attempt;
};

// ListDeliveries' filters (unset: no filter).
struct DeliveryFilter {
  std::optional<ReferralId> referral_id;
  std::optional<AgencyId> agency;
  v1::DeliveryStatus status = v1::DELIVERY_STATUS_UNSPECIFIED;
  v1::Transport transport = v1::TRANSPORT_UNSPECIFIED;
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  // Leaves out refused shares (they would show the refused agency what it
  // may not know: that the referral exists).
  bool hide_refused = false;
};

// What ReplayDeliveries sends again.
struct ReplayFilter {
  AgencyId agency;
  std::optional<ReferralId> referral_id;
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  // Unset: Kafka and webhook.
  v1::Transport transport = v1::TRANSPORT_UNSPECIFIED;
  bool include_delivered = false;
};

class NotificationStore {
 public:
  static std::vector<std::string> Migrations();
  // Metrics, read at each scrape (codes only): deliveries by transport and
  // status (a refusal has no transport: TRANSPORT_UNSPECIFIED).
  static absl::StatusOr<std::vector<metrics::Sample>> DeliveryCounts(
      store::Tx& tx);

  // Inserts or replaces the referral's context.
  absl::Status SaveContext(store::Tx& tx, const ReferralId& referral_id,
                           const ReferralContext& context) const;
  absl::StatusOr<std::optional<ReferralContext>> LoadContext(
      store::Tx& tx, const ReferralId& referral_id) const;
  // The agency that made the referral (from ReferralReceived).
  absl::Status SaveReferrer(store::Tx& tx, const ReferralId& referral_id,
                            const std::string& agency_id) const;
  // Records the provider an assignment is offered to now (a re-offer
  // replaces the last), and whether it hears of the referral as a whole
  // (`referral_wide`; not a perpetrator programme or MARAC). Idempotent.
  absl::Status SaveAssignmentProvider(store::Tx& tx,
                                      const ReferralId& referral_id,
                                      const std::string& assignment_id,
                                      const std::string& provider_id,
                                      bool referral_wide = true) const;
  // The assignment ended (declined, expired, released, closed): its
  // provider no longer counts among the referral's providers.
  absl::Status EndAssignment(store::Tx& tx,
                             const std::string& assignment_id) const;
  // The referrer named by the referral's stored ReferralReceived (events
  // recorded before referrers were kept); empty when there is none.
  absl::StatusOr<std::string> ReferrerFromStoredEvents(
      store::Tx& tx, const ReferralId& referral_id) const;
  // Drops the stored decision (an erasure); the context's flags stay.
  absl::Status ForgetDecision(store::Tx& tx,
                              const ReferralId& referral_id) const;
  // The provider of an assignment; empty when unknown.
  absl::StatusOr<std::string> ProviderOfAssignment(
      store::Tx& tx, const std::string& assignment_id) const;

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

  // Rewrites every stored event of the referral as `rewrite` returns it,
  // and strips its partner events to their headers (for an erasure).
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

  // The referral's referrer, the shares made so far, its linked referrals'
  // referrers and the providers offered its assignments.
  absl::StatusOr<ReferralAudience> AudienceOf(
      store::Tx& tx, const ReferralId& referral_id) const;

  // Adds `event` (its id set) to its agency's feed for Signpost's referral
  // `referral_id`; returns its sequence (the existing one when the id is
  // already in the feed).
  absl::StatusOr<int64_t> AppendPartnerEvent(store::Tx& tx,
                                             const ReferralId& referral_id,
                                             const v1::PartnerEvent& event,
                                             absl::Time now) const;
  // Up to `limit` partner events of `agency` after `after_sequence`, in
  // sequence order, each with its sequence set.
  absl::StatusOr<std::vector<v1::PartnerEvent>> PartnerEventsAfter(
      store::Tx& tx, const AgencyId& agency, int64_t after_sequence,
      int limit) const;
  absl::StatusOr<v1::PartnerEvent> PartnerEventAt(store::Tx& tx,
                                                  int64_t sequence) const;

  // Inserts `row`. Returns false, writing nothing, when the partner event
  // already has a delivery on that transport (or, for a refusal, was
  // already refused).
  absl::StatusOr<bool> InsertDelivery(store::Tx& tx,
                                      const DeliveryRow& row) const;
  // Marks a pending delivery accepted (at `now`) and returns it; nullopt
  // when it was not pending.
  absl::StatusOr<std::optional<v1::Delivery>> MarkDelivered(
      store::Tx& tx, const std::string& delivery_id, absl::Time now) const;
  // Pending gRPC-stream deliveries of `agency` with a sequence in
  // (`after`, `up_to`].
  absl::StatusOr<std::vector<std::string>> PendingStreamDeliveries(
      store::Tx& tx, const AgencyId& agency, int64_t after,
      int64_t up_to) const;
  // Pending Kafka deliveries whose outbox record the relay has published.
  absl::StatusOr<std::vector<std::string>> PublishedKafkaDeliveries(
      store::Tx& tx, int limit) const;
  // Up to `limit` pending webhook deliveries of `agency`, each the first of
  // its referral's (order is kept per referral), soonest due first.
  absl::StatusOr<std::vector<DeliveryRow>> NextWebhooks(store::Tx& tx,
                                                        const AgencyId& agency,
                                                        int limit) const;
  // Marks REFUSED (rule SHARE-CONSENT-LAPSED) and returns the pending
  // webhook deliveries of `agency` shared on consent whose referral's
  // context now needs consent, except stop notices.
  absl::StatusOr<std::vector<v1::Delivery>> RefuseLapsedConsent(
      store::Tx& tx, const AgencyId& agency) const;
  // A failed webhook attempt: its count, the next try, the error.
  absl::Status RecordWebhookFailure(store::Tx& tx,
                                    const std::string& delivery_id,
                                    int attempts, absl::Time first_attempt,
                                    absl::Time next_attempt,
                                    absl::string_view error) const;
  // Moves a pending webhook delivery to the dead-letter list; returns it.
  absl::StatusOr<v1::Delivery> DeadLetter(store::Tx& tx,
                                          const std::string& delivery_id,
                                          absl::Time now) const;
  // Deliveries `filter` selects (Kafka and webhook only), reset to pending
  // for a new retry window; Kafka ones get their outbox record queued
  // again. Returns how many.
  absl::StatusOr<int> Requeue(store::Tx& tx, const ReplayFilter& filter,
                              absl::Time now) const;

  // One page of deliveries. With a referral: oldest first, then by agency,
  // then in recorded order (keys decided_at_ms, agency_id, rowid).
  // Without: newest first, then by delivery id (keys decided_at_ms,
  // delivery_id).
  absl::StatusOr<paging::Page<v1::Delivery>> ListDeliveries(
      store::Tx& tx, const DeliveryFilter& filter,
      const paging::PageRequest& page) const;
};

}  // namespace signpost::notification
