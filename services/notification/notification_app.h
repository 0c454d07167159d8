// Notification's application layer: one use case per method.
//
// Deliver routes one consumed event inside the event consumer's transaction
// (the consumer has already claimed it in the inbox, so it runs once per
// event id). It keeps the referral's triage context, referrer and
// assignment providers, holds events until the context and the referrer
// are known, then decides each share (RouteReferralEvent): a refused share
// is recorded with its rule (DeliveryRecorded, REFUSED); a share made adds
// a partner event (Project) to the agency's feed and one pending delivery
// per transport the agency uses, and for Kafka an outbox record on the
// agency's topic. The transports then accept them:
//   - Kafka: RecordKafkaAcks, once the outbox relay has published;
//   - the gRPC stream: AcknowledgeStream, once the stream wrote them;
//   - webhooks: NextWebhooks / WebhooksDelivered / WebhookFailed, driven by
//     WebhookDispatcher.
// Each acceptance is one transaction that marks the delivery and emits its
// DeliveryRecorded.
//
// Notification keeps ids, codes and agency ids; the one thing it stores
// about a person is the events' payloads (the facts, the decision without
// the person id) and partner events, which VictimErased strips to their
// headers. Thread-safe (the policy is immutable; the Database serialises
// transactions).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

// ListDeliveries pages a referral's deliveries by (decided_at, agency_id,
// recorded order) and all recent ones by (decided_at descending,
// delivery_id). The token's scope (the filters) keeps them apart.
inline constexpr paging::KeyKind kReferralDeliveryKeys[] = {
    paging::KeyKind::kInt, paging::KeyKind::kText, paging::KeyKind::kInt};
inline constexpr paging::Listing kReferralDeliveriesListing{
    "ListDeliveries", kReferralDeliveryKeys};
inline constexpr paging::KeyKind kRecentDeliveryKeys[] = {
    paging::KeyKind::kInt, paging::KeyKind::kText};
inline constexpr paging::Listing kRecentDeliveriesListing{"ListDeliveries",
                                                          kRecentDeliveryKeys};

// One page of deliveries.
struct DeliveryList {
  std::vector<v1::Delivery> deliveries;
  // Events of the referral whose delivery has been decided (0 when the list
  // is not for one referral); the same on every page.
  int events_processed = 0;
  // Where the next page starts; unset on the last page.
  std::optional<paging::Cursor> next;
};

// The next webhook to send for an agency.
struct WebhookWork {
  DeliveryRow row;
  v1::PartnerEvent event;
};

class NotificationApp {
 public:
  // `on_outbox` wakes the outbox relay after the transactions this class
  // opens itself (acknowledgements, replays); Deliver runs in the event
  // consumer's transaction, whose commit wakes the relay. `on_feed` wakes
  // the webhook dispatcher when partner events were added: after a replay,
  // or from Committed() after the consumer's commit (every reader also
  // polls).
  NotificationApp(store::Database& db, PartnerPolicy policy,
                  std::function<void()> on_outbox = nullptr,
                  std::function<void()> on_feed = nullptr)
      : db_(db),
        policy_(std::move(policy)),
        on_outbox_(std::move(on_outbox)),
        on_feed_(std::move(on_feed)) {}

  const PartnerPolicy& policy() const { return policy_; }

  // Routes `envelope` within `tx`. Returns the number of partner events
  // made now, including those of events released by this one.
  absl::StatusOr<int> Deliver(store::Tx& tx, const v1::EventEnvelope& envelope,
                              absl::string_view traceparent);

  // One page of deliveries `filter` selects: with a referral, oldest first
  // (kReferralDeliveriesListing), otherwise newest first
  // (kRecentDeliveriesListing). NOT_FOUND for a referral notification has
  // seen no event of. An operator or auditor sees every agency's (and may
  // filter by agency); any other agency only its own (AUTHZ-OWN-AGENCY: the
  // filter is applied, not asked for).
  absl::StatusOr<DeliveryList> ListDeliveries(const access::Principal& caller,
                                              DeliveryFilter filter,
                                              const paging::PageRequest& page);

  // Up to `limit` of the agency's partner events after `after_sequence`.
  absl::StatusOr<std::vector<v1::PartnerEvent>> ReadFeed(const AgencyId& agency,
                                                         int64_t after_sequence,
                                                         int limit);
  // A stream wrote the agency's events in (`after`, `sequence`]: their gRPC
  // deliveries are accepted.
  absl::StatusOr<int> AcknowledgeStream(const AgencyId& agency, int64_t after,
                                        int64_t sequence);
  // Accepts the Kafka deliveries the outbox relay has published; returns
  // how many.
  absl::StatusOr<int> RecordKafkaAcks();

  // The agency's first `limit` pending webhooks, lowest sequence first.
  absl::StatusOr<std::vector<WebhookWork>> NextWebhooks(const AgencyId& agency,
                                                        int limit);
  // The agency's next pending webhook (its lowest sequence), if any.
  absl::StatusOr<std::optional<WebhookWork>> NextWebhook(
      const AgencyId& agency);
  // The endpoint answered 2xx to each of `delivery_ids` (one transaction).
  absl::Status WebhooksDelivered(const std::vector<std::string>& delivery_ids);
  absl::Status WebhookDelivered(const std::string& delivery_id) {
    return WebhooksDelivered({delivery_id});
  }
  // The attempt failed with `error`: retried at `next_attempt`, or
  // dead-lettered when `give_up`.
  absl::Status WebhookFailed(const DeliveryRow& row, absl::string_view error,
                             absl::Time first_attempt, absl::Time next_attempt,
                             bool give_up);

  // Queues chosen deliveries again (ReplayDeliveries): the caller's own,
  // or any agency's for an operator (AUTHZ-OWN-AGENCY otherwise).
  absl::StatusOr<int> Replay(const access::Principal& caller,
                             ReplayFilter filter);

  // A counter that moves whenever partner events may have been added; read
  // it before reading a feed, then WaitForFeed(it) sleeps only while
  // nothing has changed since.
  int64_t FeedVersion();
  // Waits until the feed version differs from `seen`, or `timeout`.
  void WaitForFeed(int64_t seen, absl::Duration timeout);
  // The consumer committed a transaction: when Deliver added partner events
  // in it, wake the feed's readers and the webhook dispatcher now.
  void Committed() {
    if (feed_dirty_.exchange(false)) FeedChanged();
  }

 private:
  absl::StatusOr<int> DeliverToPartners(store::Tx& tx,
                                        const RecordedEvent& event,
                                        const ReferralContext& context,
                                        absl::Time now);
  // Refuses (SHARE-CONSENT-LAPSED) the agency's pending webhooks shared on
  // consent whose referral no longer has it; stop notices still go.
  absl::Status RefuseLapsedWebhooks(const AgencyId& agency);
  // For VictimErased: strips the referral's stored events (ErasedForm).
  absl::Status ShredIfErased(store::Tx& tx, const v1::EventEnvelope& envelope);
  // Marks each still-pending delivery of `delivery_ids` accepted at `now`
  // and emits its DeliveryRecorded, within `tx`; returns how many.
  absl::StatusOr<int> Accept(store::Tx& tx,
                             const std::vector<std::string>& delivery_ids,
                             absl::Time now);
  // Emits DeliveryRecorded for `delivery` within `tx`.
  absl::Status Recorded(store::Tx& tx, const v1::Delivery& delivery,
                        const v1::EventEnvelope* cause,
                        absl::string_view traceparent);
  void FeedChanged();
  void OutboxChanged() const {
    if (on_outbox_) on_outbox_();
  }

  store::Database& db_;
  const PartnerPolicy policy_;
  const std::function<void()> on_outbox_;
  const std::function<void()> on_feed_;
  NotificationStore store_;
  // Deliver added partner events in a transaction not yet committed.
  std::atomic<bool> feed_dirty_{false};
  absl::Mutex feed_mu_;
  int64_t feed_version_ ABSL_GUARDED_BY(feed_mu_) = 0;
};

}  // namespace signpost::notification
