#include "services/notification/notification_app.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/safety/contact_rules.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/notification/projection.h"
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
    // Nothing more is shared on consent, even before triage's WITHDRAWN
    // decision arrives (on another topic).
    ASSIGN_OR_RETURN(std::optional<ReferralContext> gate,
                     store_.LoadContext(tx, referral_id));
    if (gate.has_value() && !gate->consent_required) {
      gate->consent_required = true;
      RETURN_IF_ERROR(store_.SaveContext(tx, referral_id, *gate));
    }
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
  if (envelope.has_referral_received()) {
    RETURN_IF_ERROR(store_.SaveReferrer(
        tx, referral_id,
        absl::AsciiStrToLower(
            envelope.referral_received().facts().referrer_org())));
  }
  if (std::string provider = ProviderNamedBy(envelope); !provider.empty()) {
    // A perpetrator programme or MARAC hears of its own service referral
    // only, never of the referral as a whole (its decisions, pathways).
    const bool referral_wide =
        !envelope.has_service_offered() ||
        safety::WorksWithVictim(envelope.service_offered().service());
    RETURN_IF_ERROR(store_.SaveAssignmentProvider(
        tx, referral_id, AssignmentOf(envelope), provider, referral_wide));
  }
  if (const v1::ReferralTriaged* decision = TriageDecisionOf(envelope)) {
    RETURN_IF_ERROR(store_.SaveContext(tx, referral_id, ContextOf(*decision)));
  }
  ASSIGN_OR_RETURN(std::optional<ReferralContext> context,
                   store_.LoadContext(tx, referral_id));
  bool ready = context.has_value();
  if (ready) {
    // The closed loop needs the referrer (ReferralReceived, on intake's
    // topic, may come after triage's decision).
    ASSIGN_OR_RETURN(ReferralAudience audience,
                     store_.AudienceOf(tx, referral_id));
    if (audience.referrer_agency.empty()) {
      // A referral received before partner delivery (issue 11) has its
      // ReferralReceived among the stored events.
      ASSIGN_OR_RETURN(audience.referrer_agency,
                       store_.ReferrerFromStoredEvents(tx, referral_id));
      if (!audience.referrer_agency.empty()) {
        RETURN_IF_ERROR(
            store_.SaveReferrer(tx, referral_id, audience.referrer_agency));
      }
    }
    ready = !audience.referrer_agency.empty();
  }
  RETURN_IF_ERROR(store_.RecordEvent(tx, envelope, traceparent,
                                     /*pending=*/!ready, now));
  if (!ready) {  // waits for triage and the referral
    RETURN_IF_ERROR(ShredIfErased(tx, envelope));
    return 0;
  }

  // Deliver this event and any that were waiting for the context.
  ASSIGN_OR_RETURN(
      std::vector<RecordedEvent> ready_events,
      store_.PendingEvents(tx, referral_id, EventId(envelope.event_id())));
  int made = 0;
  for (const RecordedEvent& event : ready_events) {
    ASSIGN_OR_RETURN(int n, DeliverToPartners(tx, event, *context, now));
    made += n;
  }
  RETURN_IF_ERROR(store_.ClearPending(tx, referral_id));
  RETURN_IF_ERROR(ShredIfErased(tx, envelope));
  if (made > 0) feed_dirty_ = true;  // woken by Committed()
  return made;
}

absl::Status NotificationApp::ShredIfErased(store::Tx& tx,
                                            const v1::EventEnvelope& envelope) {
  if (!envelope.has_victim_erased()) return absl::OkStatus();
  RETURN_IF_ERROR(store_.MarkErased(tx, ReferralId(envelope.referral_id())));
  RETURN_IF_ERROR(
      store_.ForgetDecision(tx, ReferralId(envelope.referral_id())));
  // Every stored event of the referral, this one (with its person id) and
  // any still pending included, keeps only its ids and codes; its partner
  // events keep their headers.
  return store_.RewriteEvents(tx, ReferralId(envelope.referral_id()),
                              ErasedForm);
}

absl::Status NotificationApp::Recorded(store::Tx& tx,
                                       const v1::Delivery& delivery,
                                       const v1::EventEnvelope* cause,
                                       absl::string_view traceparent) {
  v1::EventEnvelope out =
      events::NewEnvelope("notification", delivery.referral_id(), cause);
  if (cause == nullptr) out.set_causation_id(delivery.event_id());
  v1::DeliveryRecorded* recorded = out.mutable_delivery_recorded();
  recorded->set_delivery_id(delivery.delivery_id());
  recorded->set_agency_id(delivery.agency_id());
  recorded->set_delivered_event_id(delivery.event_id());
  recorded->set_delivered_event_type(delivery.event_type());
  recorded->set_legal_basis(delivery.legal_basis());
  recorded->set_transport(delivery.transport());
  recorded->set_status(delivery.status());
  recorded->set_partner_event_id(delivery.partner_event_id());
  recorded->set_refusal_rule(delivery.refusal_rule());
  recorded->set_field_set(delivery.field_set());
  events::StampType(&out);
  return store::AppendToOutbox(
      tx, out, events::kNotificationTopic,
      traceparent.empty() ? NewTraceparent() : std::string(traceparent));
}

absl::StatusOr<int> NotificationApp::DeliverToPartners(
    store::Tx& tx, const RecordedEvent& event, const ReferralContext& context,
    absl::Time now) {
  const v1::EventEnvelope& e = event.envelope;
  const ReferralId referral_id(e.referral_id());
  if (e.has_referral_linked() &&
      !e.referral_linked().referrer_agency().empty()) {
    // Later outcomes of this referral go to that referrer too.
    RETURN_IF_ERROR(store_.AddLinkedReferrer(
        tx, referral_id, e.referral_linked().referrer_agency(),
        e.referral_linked().linked_referral_id()));
  }
  ASSIGN_OR_RETURN(ReferralAudience audience,
                   store_.AudienceOf(tx, referral_id));
  const std::string assignment = AssignmentOf(e);
  if (!assignment.empty()) {
    audience.event_has_assignment = true;
    audience.event_provider = ProviderNamedBy(e);
    if (audience.event_provider.empty()) {
      ASSIGN_OR_RETURN(audience.event_provider,
                       store_.ProviderOfAssignment(tx, assignment));
    }
  }
  int made = 0;
  // One projection per field set for the event, not one per agency.
  ProjectionCache projections(e, {&context.decision, audience.event_provider});
  for (const ShareDecision& share :
       RouteReferralEvent(policy_, e, context, audience)) {
    const std::string partner_event_id =
        PartnerEventId(share.agency_id, e.event_id(), share.field_set);
    DeliveryRow row;
    v1::Delivery& d = row.delivery;
    d.set_agency_id(share.agency_id);
    d.set_referral_id(e.referral_id());
    d.set_event_id(e.event_id());
    d.set_event_type(e.type());
    d.set_legal_basis(BasisName(share.basis));
    d.set_partner_event_id(partner_event_id);
    d.set_field_set(share.field_set);
    *d.mutable_delivered_at() = timeutil::ToTimestamp(now);
    row.partner_referral_id = share.partner_referral_id;
    row.linked_referral_id = share.linked_referral_id;

    if (!share.refusal_rule.empty()) {
      d.set_delivery_id(NewUuid());
      d.set_status(v1::DELIVERY_STATUS_REFUSED);
      d.set_refusal_rule(share.refusal_rule);
      ASSIGN_OR_RETURN(bool inserted, store_.InsertDelivery(tx, row));
      if (inserted) {
        RETURN_IF_ERROR(Recorded(tx, d, &e, event.traceparent));
      }
      continue;
    }
    v1::PartnerEvent partner = projections.In(share.field_set);
    partner.set_id(partner_event_id);
    partner.set_agency_id(share.agency_id);
    partner.set_referral_id(share.partner_referral_id);
    partner.set_linked_referral_id(share.linked_referral_id);
    partner.set_legal_basis(share.basis);
    ASSIGN_OR_RETURN(row.sequence,
                     store_.AppendPartnerEvent(tx, referral_id, partner, now));
    partner.set_sequence(row.sequence);
    ++made;
    for (v1::Transport transport : policy_.TransportsOf(share.agency_id)) {
      d.set_delivery_id(NewUuid());
      d.set_transport(transport);
      d.set_status(v1::DELIVERY_STATUS_PENDING);
      row.first_attempt.reset();
      row.next_attempt.reset();
      if (transport == v1::TRANSPORT_WEBHOOK) {
        row.first_attempt = now;
        row.next_attempt = now;
      }
      ASSIGN_OR_RETURN(bool inserted, store_.InsertDelivery(tx, row));
      if (!inserted || transport != v1::TRANSPORT_KAFKA) continue;
      // The agency's topic, keyed by its referral id (order per referral),
      // with the partner event's id as the record's id.
      v1::EventEnvelope out =
          events::NewEnvelope("notification", share.partner_referral_id, &e);
      out.set_event_id(partner.id());
      *out.mutable_partner_event() = partner;
      events::StampType(&out);
      RETURN_IF_ERROR(store::AppendToOutbox(
          tx, out, PartnerTopic(share.agency_id), event.traceparent));
    }
  }
  if (EndsAssignment(e)) {
    // Its provider has no part in the referral from now on.
    RETURN_IF_ERROR(store_.EndAssignment(tx, assignment));
  }
  return made;
}

absl::StatusOr<DeliveryList> NotificationApp::ListDeliveries(
    const access::Principal& caller, DeliveryFilter filter,
    const paging::PageRequest& page) {
  const bool oversight = access::SeesEverything(caller);
  if (!oversight) {
    filter.agency = caller.agency_id();
    filter.hide_refused = true;
  }
  return db_.Read([&](store::Tx& tx) -> absl::StatusOr<DeliveryList> {
    DeliveryList list;
    if (filter.referral_id.has_value()) {
      ASSIGN_OR_RETURN(bool known,
                       store_.KnowsReferral(tx, *filter.referral_id));
      if (!known) {
        return absl::NotFoundError(absl::StrCat(
            "referral ", filter.referral_id->value(), " not found"));
      }
    }
    ASSIGN_OR_RETURN(paging::Page<v1::Delivery> deliveries,
                     store_.ListDeliveries(tx, filter, page));
    list.deliveries = std::move(deliveries.items);
    list.next = std::move(deliveries.next);
    // The count would show any agency that the referral exists: oversight
    // only.
    if (filter.referral_id.has_value() && oversight) {
      ASSIGN_OR_RETURN(list.events_processed,
                       store_.CountDecidedEvents(tx, *filter.referral_id));
    }
    return list;
  });
}

absl::StatusOr<std::vector<v1::PartnerEvent>> NotificationApp::ReadFeed(
    const AgencyId& agency, int64_t after_sequence, int limit) {
  return db_.Read([&](store::Tx& tx) {
    return store_.PartnerEventsAfter(tx, agency, after_sequence, limit);
  });
}

absl::StatusOr<int> NotificationApp::AcknowledgeStream(const AgencyId& agency,
                                                       int64_t after,
                                                       int64_t sequence) {
  const absl::Time now = timeutil::NowMillis();
  ASSIGN_OR_RETURN(
      int accepted, db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
        ASSIGN_OR_RETURN(
            std::vector<std::string> ids,
            store_.PendingStreamDeliveries(tx, agency, after, sequence));
        return Accept(tx, ids, now);
      }));
  if (accepted > 0) OutboxChanged();
  return accepted;
}

absl::StatusOr<int> NotificationApp::Accept(
    store::Tx& tx, const std::vector<std::string>& delivery_ids,
    absl::Time now) {
  int accepted = 0;
  for (const std::string& id : delivery_ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Delivery> d,
                     store_.MarkDelivered(tx, id, now));
    if (!d.has_value()) continue;  // no longer pending
    RETURN_IF_ERROR(Recorded(tx, *d, nullptr, ""));
    ++accepted;
  }
  return accepted;
}

absl::StatusOr<int> NotificationApp::RecordKafkaAcks() {
  // Most runs find nothing: look before taking the write lock.
  ASSIGN_OR_RETURN(std::vector<std::string> any, db_.Read([&](store::Tx& tx) {
    return store_.PublishedKafkaDeliveries(tx, 1);
  }));
  if (any.empty()) return 0;
  const absl::Time now = timeutil::NowMillis();
  ASSIGN_OR_RETURN(int accepted,
                   db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
                     ASSIGN_OR_RETURN(std::vector<std::string> ids,
                                      store_.PublishedKafkaDeliveries(tx, 500));
                     return Accept(tx, ids, now);
                   }));
  if (accepted > 0) OutboxChanged();
  return accepted;
}

absl::StatusOr<std::vector<WebhookWork>> NotificationApp::NextWebhooks(
    const AgencyId& agency, int limit) {
  RETURN_IF_ERROR(RefuseLapsedWebhooks(agency));
  return db_.Read(
      [&](store::Tx& tx) -> absl::StatusOr<std::vector<WebhookWork>> {
        ASSIGN_OR_RETURN(std::vector<DeliveryRow> rows,
                         store_.NextWebhooks(tx, agency, limit));
        std::vector<WebhookWork> out;
        out.reserve(rows.size());
        for (DeliveryRow& row : rows) {
          ASSIGN_OR_RETURN(v1::PartnerEvent event,
                           store_.PartnerEventAt(tx, row.sequence));
          out.push_back({std::move(row), std::move(event)});
        }
        return out;
      });
}

absl::Status NotificationApp::RefuseLapsedWebhooks(const AgencyId& agency) {
  ASSIGN_OR_RETURN(int refused,
                   db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
                     ASSIGN_OR_RETURN(std::vector<v1::Delivery> lapsed,
                                      store_.RefuseLapsedConsent(tx, agency));
                     for (const v1::Delivery& d : lapsed) {
                       RETURN_IF_ERROR(Recorded(tx, d, nullptr, ""));
                     }
                     return static_cast<int>(lapsed.size());
                   }));
  if (refused > 0) OutboxChanged();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WebhookWork>> NotificationApp::NextWebhook(
    const AgencyId& agency) {
  ASSIGN_OR_RETURN(std::vector<WebhookWork> next, NextWebhooks(agency, 1));
  if (next.empty()) return std::nullopt;
  return std::move(next[0]);
}

absl::Status NotificationApp::WebhooksDelivered(
    const std::vector<std::string>& delivery_ids) {
  if (delivery_ids.empty()) return absl::OkStatus();
  const absl::Time now = timeutil::NowMillis();
  RETURN_IF_ERROR(
      db_.Write([&](store::Tx& tx) { return Accept(tx, delivery_ids, now); })
          .status());
  OutboxChanged();
  return absl::OkStatus();
}

absl::Status NotificationApp::WebhookFailed(const DeliveryRow& row,
                                            absl::string_view error,
                                            absl::Time first_attempt,
                                            absl::Time next_attempt,
                                            bool give_up) {
  const absl::Time now = timeutil::NowMillis();
  const std::string& id = row.delivery.delivery_id();
  RETURN_IF_ERROR(db_.Write([&](store::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(
        store_.RecordWebhookFailure(tx, id, row.delivery.attempts() + 1,
                                    first_attempt, next_attempt, error));
    if (!give_up) return absl::OkStatus();
    ASSIGN_OR_RETURN(v1::Delivery dead, store_.DeadLetter(tx, id, now));
    return Recorded(tx, dead, nullptr, "");
  }));
  if (give_up) OutboxChanged();
  return absl::OkStatus();
}

absl::StatusOr<int> NotificationApp::Replay(const access::Principal& caller,
                                            ReplayFilter filter) {
  if (filter.agency.value().empty()) filter.agency = caller.agency_id();
  if (filter.agency != caller.agency_id() && !caller.Has(v1::ROLE_OPERATOR)) {
    return errors::Denied(access::kRuleOwnAgency, filter.agency.value(),
                          "an agency may replay only its own deliveries");
  }
  if (!policy_.IsRegistered(filter.agency.value())) {
    return absl::NotFoundError(
        absl::StrCat("agency ", filter.agency.value(), " not found"));
  }
  const absl::Time now = timeutil::NowMillis();
  ASSIGN_OR_RETURN(int requeued, db_.Write([&](store::Tx& tx) {
    return store_.Requeue(tx, filter, now);
  }));
  if (requeued > 0) {
    OutboxChanged();
    FeedChanged();
  }
  return requeued;
}

void NotificationApp::FeedChanged() {
  {
    absl::MutexLock lock(&feed_mu_);
    ++feed_version_;
  }
  if (on_feed_) on_feed_();
}

int64_t NotificationApp::FeedVersion() {
  absl::MutexLock lock(&feed_mu_);
  return feed_version_;
}

void NotificationApp::WaitForFeed(int64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&feed_mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(feed_mu_) {
    return feed_version_ != seen;
  };
  feed_mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

}  // namespace signpost::notification
