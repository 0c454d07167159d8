// Notification's application layer: one use case per method. Deliver routes
// one consumed event inside the event consumer's transaction (the consumer
// has already claimed it in the inbox, so it runs once per event id): it
// keeps the referral's triage context, holds events until that context is
// known, then records one delivery per agency routing picks
// (RouteReferralEvent: the subscriptions, the agencies already told, linked
// referrals' referrers) with a DeliveryRecorded event (outbox). It records
// who is to be told; sending is not its job yet.
//
// Notification keeps ids, codes and agency ids; the one thing it stores
// about a person is the events' payloads (the facts, the decision with the
// person id), and VictimErased strips those of the referral (ErasedForm).
// Thread-safe (the subscriptions are immutable; the Database serialises
// transactions).
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/notification/notification_store.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

// ListDeliveries pages a referral's deliveries by (delivered_at, agency_id,
// recorded order) and all recent ones by (delivered_at descending,
// delivery_id). The token's scope (the referral filter) keeps them apart.
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

class NotificationApp {
 public:
  NotificationApp(store::Database& db, v1::SubscriptionList subscriptions)
      : db_(db), subscriptions_(std::move(subscriptions)) {}

  // Routes `envelope` within `tx`. Returns the number of deliveries made now,
  // including those of events released by this one (delivered_at is the same
  // millisecond-truncated time for all of them).
  absl::StatusOr<int> Deliver(store::Tx& tx, const v1::EventEnvelope& envelope,
                              absl::string_view traceparent);

  // One page of the referral's deliveries (oldest first;
  // kReferralDeliveriesListing) when `referral_id` is set, otherwise of
  // the most recent ones (newest first; kRecentDeliveriesListing).
  // NOT_FOUND for a referral notification has seen no event of.
  // An operator or auditor sees every agency's deliveries; any other
  // agency only its own (AUTHZ-OWN-AGENCY: the filter is applied, not
  // asked for).
  absl::StatusOr<DeliveryList> ListDeliveries(
      const access::Principal& caller,
      const std::optional<ReferralId>& referral_id,
      const paging::PageRequest& page = {});

 private:
  // Delivers one released event to every agency routing picks; returns how
  // many deliveries were new.
  absl::StatusOr<int> DeliverToPartners(store::Tx& tx,
                                        const RecordedEvent& event,
                                        const ReferralContext& context,
                                        absl::Time now);
  // For VictimErased: strips the referral's stored events (ErasedForm).
  absl::Status ShredIfErased(store::Tx& tx, const v1::EventEnvelope& envelope);

  store::Database& db_;
  const v1::SubscriptionList subscriptions_;
  NotificationStore store_;
};

}  // namespace signpost::notification
