#include "services/notification/notification_app.h"

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/notification/routing.h"

namespace signpost::notification {

absl::StatusOr<int> NotificationApp::Deliver(store::Tx& tx,
                                             const v1::EventEnvelope& envelope,
                                             absl::string_view traceparent) {
  const absl::Time now = timeutil::NowMillis();
  const ReferralId referral_id(envelope.referral_id());
  if (envelope.has_referral_withdrawn()) {
    // When it is a linked referral, its referrer stops hearing about the
    // referral it was linked to (for example a link entered in error).
    RETURN_IF_ERROR(store_.RemoveLinkedReferral(tx, referral_id));
  }
  ASSIGN_OR_RETURN(bool erased, store_.IsErased(tx, referral_id));
  if (erased && !envelope.has_victim_erased()) {
    // After an erasure only ids and codes are kept, whatever arrives late
    // (for example triage's decision on another topic).
    v1::EventEnvelope kept = ErasedForm(envelope);
    RETURN_IF_ERROR(store_.RecordEvent(tx, kept, traceparent,
                                       /*pending=*/false, now));
    return 0;
  }
  if (const v1::ReferralTriaged* decision = TriageDecisionOf(envelope)) {
    RETURN_IF_ERROR(store_.SaveContext(tx, referral_id, ContextOf(*decision)));
  }
  ASSIGN_OR_RETURN(std::optional<ReferralContext> context,
                   store_.LoadContext(tx, referral_id));
  RETURN_IF_ERROR(store_.RecordEvent(tx, envelope, traceparent,
                                     /*pending=*/!context.has_value(), now));
  if (!context.has_value()) {  // waits for triage
    RETURN_IF_ERROR(ShredIfErased(tx, envelope));
    return 0;
  }

  // Deliver this event and any that were waiting for the context.
  ASSIGN_OR_RETURN(
      std::vector<RecordedEvent> ready,
      store_.PendingEvents(tx, referral_id, EventId(envelope.event_id())));
  int delivered = 0;
  for (const RecordedEvent& event : ready) {
    ASSIGN_OR_RETURN(int made, DeliverToPartners(tx, event, *context, now));
    delivered += made;
  }
  RETURN_IF_ERROR(store_.ClearPending(tx, referral_id));
  RETURN_IF_ERROR(ShredIfErased(tx, envelope));
  return delivered;
}

absl::Status NotificationApp::ShredIfErased(store::Tx& tx,
                                            const v1::EventEnvelope& envelope) {
  if (!envelope.has_victim_erased()) return absl::OkStatus();
  RETURN_IF_ERROR(store_.MarkErased(tx, ReferralId(envelope.referral_id())));
  // Every stored event of the referral, this one (with its person id) and
  // any still pending included, keeps only its ids and codes.
  return store_.RewriteEvents(tx, ReferralId(envelope.referral_id()),
                              ErasedForm);
}

absl::StatusOr<int> NotificationApp::DeliverToPartners(
    store::Tx& tx, const RecordedEvent& event, const ReferralContext& context,
    absl::Time now) {
  const v1::EventEnvelope& e = event.envelope;
  const ReferralId referral_id(e.referral_id());
  ASSIGN_OR_RETURN(ReferralAudience audience,
                   store_.AudienceOf(tx, referral_id));
  if (e.has_referral_linked() &&
      !e.referral_linked().referrer_agency().empty()) {
    // Later outcomes of this referral go to that referrer too.
    RETURN_IF_ERROR(store_.AddLinkedReferrer(
        tx, referral_id, e.referral_linked().referrer_agency(),
        e.referral_linked().linked_referral_id()));
  }
  int delivered = 0;
  for (const DeliveryTarget& target :
       RouteReferralEvent(subscriptions_, e, context, audience)) {
    v1::Delivery delivery;
    delivery.set_delivery_id(NewUuid());
    delivery.set_agency_id(target.agency_id);
    delivery.set_referral_id(e.referral_id());
    delivery.set_event_id(e.event_id());
    delivery.set_event_type(e.type());
    delivery.set_legal_basis(target.legal_basis);
    *delivery.mutable_delivered_at() = timeutil::ToTimestamp(now);
    ASSIGN_OR_RETURN(bool inserted, store_.InsertDelivery(tx, delivery));
    if (!inserted) continue;  // this agency already has this event
    ++delivered;

    v1::EventEnvelope out =
        events::NewEnvelope("notification", e.referral_id(), &e);
    v1::DeliveryRecorded* recorded = out.mutable_delivery_recorded();
    recorded->set_delivery_id(delivery.delivery_id());
    recorded->set_agency_id(delivery.agency_id());
    recorded->set_delivered_event_id(delivery.event_id());
    recorded->set_delivered_event_type(delivery.event_type());
    recorded->set_legal_basis(delivery.legal_basis());
    events::StampType(&out);
    RETURN_IF_ERROR(store::AppendToOutbox(tx, out, events::kNotificationTopic,
                                          event.traceparent));
  }
  return delivered;
}

absl::StatusOr<DeliveryList> NotificationApp::ListDeliveries(
    const access::Principal& caller,
    const std::optional<ReferralId>& referral_id,
    const paging::PageRequest& page) {
  std::optional<AgencyId> agency;
  if (!access::SeesEverything(caller)) agency = caller.agency_id();
  return db_.Read([&](store::Tx& tx) -> absl::StatusOr<DeliveryList> {
    DeliveryList list;
    if (!referral_id.has_value()) {
      ASSIGN_OR_RETURN(paging::Page<v1::Delivery> recent,
                       store_.RecentDeliveries(tx, agency, page));
      list.deliveries = std::move(recent.items);
      list.next = std::move(recent.next);
      return list;
    }
    ASSIGN_OR_RETURN(bool known, store_.KnowsReferral(tx, *referral_id));
    if (!known) {
      return absl::NotFoundError(
          absl::StrCat("referral ", referral_id->value(), " not found"));
    }
    ASSIGN_OR_RETURN(paging::Page<v1::Delivery> deliveries,
                     store_.ReferralDeliveries(tx, *referral_id, agency, page));
    list.deliveries = std::move(deliveries.items);
    list.next = std::move(deliveries.next);
    // The count would show any agency that the referral exists: oversight
    // only.
    if (!agency.has_value()) {
      ASSIGN_OR_RETURN(list.events_processed,
                       store_.CountDecidedEvents(tx, *referral_id));
    }
    return list;
  });
}

}  // namespace signpost::notification
