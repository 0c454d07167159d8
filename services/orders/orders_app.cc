#include "services/orders/orders_app.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/orders/lifecycle.h"
#include "services/orders/order_events.h"
#include "services/orders/order_rules.h"
#include "services/orders/orders_store.h"

namespace signpost::orders {
namespace {

using store::Tx;

constexpr char kProducer[] = "orders";

absl::Status Emit(Tx& tx, v1::EventEnvelope envelope,
                  absl::string_view traceparent) {
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kOrdersTopic, traceparent);
}

absl::Status EmitRecorded(Tx& tx, const v1::Order& order,
                          v1::OrderState previous,
                          absl::string_view traceparent) {
  v1::EventEnvelope out = events::NewEnvelope(kProducer, order.referral_id());
  SetOrderRecorded(order, previous, out);
  return Emit(tx, std::move(out), traceparent);
}

v1::OrderChange Change(absl::Time at, v1::OrderState from, v1::OrderState to,
                       absl::string_view actor, absl::string_view detail) {
  v1::OrderChange change;
  *change.mutable_at() = timeutil::ToTimestamp(at);
  change.set_from_state(from);
  change.set_to_state(to);
  change.set_actor(std::string(actor));
  change.set_detail(std::string(detail));
  return change;
}

// The actor as stored: the authenticated agency, then the person the
// request named ("police-wmp/PC 1234").
std::string Actor(const access::Principal& caller, absl::string_view actor) {
  return absl::StrCat(caller.agency_id().value(), "/", actor);
}

// An order or review item of `area_code` is the caller's to see or change:
// police of that area, or an operator or auditor (whom the function table
// allows only the reads). An unknown object is NOT_FOUND to every caller:
// its ids are random UUIDs, so this tells nobody anything they could not
// guess, and it tells a mistyped id from a refusal.
absl::Status CheckArea(const access::Principal& caller,
                       const absl::StatusOr<std::string>& area_code,
                       absl::string_view subject) {
  RETURN_IF_ERROR(area_code.status());
  if (access::SeesEverything(caller)) return absl::OkStatus();
  return access::RequireArea(caller, *area_code, subject);
}

// The AAD row id and the owner of an order's own data key.
std::string OrderOwner(const v1::Order& order) {
  return absl::StrCat("order/", order.order_id());
}

template <typename T>
absl::StatusOr<std::string> AreaOf(const absl::StatusOr<T>& loaded) {
  if (!loaded.ok()) return loaded.status();
  return loaded->area_code();
}

}  // namespace

OrdersApp::OrdersApp(store::Database& db, Options options)
    : db_(db),
      options_(std::move(options)),
      timer_policy_{options_.calendar.get(), options_.dvpn_hearing_hours,
                    options_.dapn_hearing_hours,
                    options_.notification_duty_days} {}

absl::StatusOr<int> OrdersApp::OpenConsiderations(
    Tx& tx, const ReferralId& referral_id, const v1::ReferralTriaged& decision,
    const v1::EventEnvelope& cause, absl::string_view traceparent,
    absl::Time now) {
  RETURN_IF_ERROR(RecordReferral(tx, referral_id, decision.area_code(),
                                 decision.person_id()));
  int opened = 0;
  for (int c : decision.considerations()) {
    const auto consideration = static_cast<v1::Consideration>(c);
    const ConsiderationId id(NewUuid());
    ASSIGN_OR_RETURN(bool inserted,
                     InsertConsideration(tx, id, referral_id, consideration,
                                         decision.area_code(), now));
    if (!inserted) continue;  // already opened by an earlier decision
    ++opened;
    v1::EventEnvelope out =
        events::NewEnvelope(kProducer, referral_id.value(), &cause);
    SetConsiderationOpened(id.value(), consideration, decision.area_code(),
                           out);
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
  }
  return opened;
}

absl::StatusOr<v1::ConsiderationRecord> OrdersApp::RecordConsideration(
    const access::Principal& caller, const ConsiderationId& id,
    const ConsiderationDecision& decision, absl::Time now,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::ConsiderationRecord> {
    absl::StatusOr<v1::ConsiderationRecord> loaded = LoadConsideration(tx, id);
    RETURN_IF_ERROR(CheckArea(caller, AreaOf(loaded), id.value()));
    v1::ConsiderationRecord record = std::move(*loaded);
    SetReviewStatus(record, now, options_.review_window);
    RETURN_IF_ERROR(CheckConsiderationOpen(record));
    ConsiderationDecision stored = decision;
    stored.actor = Actor(caller, decision.actor);
    std::optional<OrderId> order_id;
    if (decision.apply) {
      order_id = OrderId(NewUuid());
      RETURN_IF_ERROR(
          Create(tx, OrderFromConsideration(*order_id, record, stored), now,
                 stored.actor, "from consideration", traceparent));
    }
    CloseConsideration(record, stored, order_id);
    RETURN_IF_ERROR(SaveConsiderationDecision(tx, record, now));
    v1::EventEnvelope out =
        events::NewEnvelope(kProducer, record.referral_id());
    SetConsiderationDecided(record, out);
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    return record;
  });
}

absl::StatusOr<v1::Order> OrdersApp::ApplyForNewOrder(
    const access::Principal& caller, const ReferralId& referral_id,
    const Application& application, absl::Time now,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    RETURN_IF_ERROR(RequireReferral(tx, referral_id).status());
    RETURN_IF_ERROR(access::RequireArea(caller, application.area_code,
                                        referral_id.value()));
    ASSIGN_OR_RETURN(v1::Order order, NewApplication(OrderId(NewUuid()),
                                                     referral_id, application));
    RETURN_IF_ERROR(Create(tx, order, now, Actor(caller, application.actor),
                           "application", traceparent));
    return order;
  });
}

absl::StatusOr<v1::Order> OrdersApp::ApplyForOrder(
    const access::Principal& caller, const OrderId& order_id,
    const Application& application, absl::Time now,
    const std::string& traceparent) {
  // The application may restate the area; it must be one of the caller's.
  if (!application.area_code.empty()) {
    RETURN_IF_ERROR(access::RequireArea(caller, application.area_code,
                                        application.area_code));
  }
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    ASSIGN_OR_RETURN(v1::Order order, LoadOrderFor(tx, caller, order_id));
    RETURN_IF_ERROR(ApplyToOrder(order, application));
    RETURN_IF_ERROR(Move(tx, order, v1::ORDER_STATE_APPLIED, now,
                         Actor(caller, application.actor), "application",
                         traceparent));
    return order;
  });
}

absl::StatusOr<v1::Order> OrdersApp::RecordDecision(
    const access::Principal& caller, const OrderId& order_id,
    const Decision& decision, absl::Time now, const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    ASSIGN_OR_RETURN(v1::Order order, LoadOrderFor(tx, caller, order_id));
    ASSIGN_OR_RETURN(v1::OrderState to, Decide(order, decision, now));
    RETURN_IF_ERROR(Move(tx, order, to, now, Actor(caller, decision.actor),
                         decision.granted ? "granted" : "refused",
                         traceparent));
    if (decision.granted) RETURN_IF_ERROR(ScheduleExpiry(tx, order));
    return LoadOrderWithTimers(tx, order_id);
  });
}

absl::StatusOr<v1::Order> OrdersApp::RecordService(
    const access::Principal& caller, const OrderId& order_id,
    const ServiceOfOrder& service, absl::Time now,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    ASSIGN_OR_RETURN(v1::Order order, LoadOrderFor(tx, caller, order_id));
    const absl::Time served_at = service.served_at.value_or(now);
    RETURN_IF_ERROR(Serve(order, served_at));
    RETURN_IF_ERROR(Move(tx, order, v1::ORDER_STATE_SERVED, now,
                         Actor(caller, service.actor), "served", traceparent));
    ASSIGN_OR_RETURN(std::vector<TimerSpec> timers,
                     ServiceTimers(order, served_at, timer_policy_));
    for (const TimerSpec& timer : timers) {
      RETURN_IF_ERROR(AddTimer(tx, order_id, timer));
    }
    return LoadOrderWithTimers(tx, order_id);
  });
}

absl::StatusOr<v1::Order> OrdersApp::RecordVariation(
    const access::Principal& caller, const OrderId& order_id,
    const Variation& variation, absl::Time now,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    ASSIGN_OR_RETURN(v1::Order order, LoadOrderFor(tx, caller, order_id));
    ASSIGN_OR_RETURN(VariationOutcome outcome, Vary(order, variation));
    if (outcome.duty_met) {
      RETURN_IF_ERROR(CancelTimers(tx, order_id, kNotificationDutyTimer));
    }
    if (variation.new_state != v1::ORDER_STATE_UNSPECIFIED) {
      RETURN_IF_ERROR(Move(tx, order, variation.new_state, now,
                           Actor(caller, variation.actor), outcome.detail,
                           traceparent));
    } else {
      RETURN_IF_ERROR(Save(tx, order, now));
      RETURN_IF_ERROR(
          AddChange(tx, order_id,
                    Change(now, order.state(), order.state(),
                           Actor(caller, variation.actor), outcome.detail)));
    }
    if (outcome.terms_changed) RETURN_IF_ERROR(ScheduleExpiry(tx, order));
    return LoadOrderWithTimers(tx, order_id);
  });
}

absl::StatusOr<v1::Breach> OrdersApp::RecordBreach(
    const access::Principal& caller, const OrderId& order_id,
    const BreachReport& report, absl::Time now,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Breach> {
    ASSIGN_OR_RETURN(v1::Order order, LoadOrderFor(tx, caller, order_id));
    std::vector<v1::Breach> same_incident;
    if (!report.incident_ref.empty()) {
      ASSIGN_OR_RETURN(same_incident,
                       LoadIncidentBreaches(tx, order_id, report.incident_ref));
    }
    RETURN_IF_ERROR(CheckBreachReport(order, report, same_incident));
    v1::Breach breach = NewBreach(NewUuid(), order, report);
    RETURN_IF_ERROR(InsertBreach(tx, breach, now));
    RETURN_IF_ERROR(AddChange(
        tx, order_id,
        Change(now, order.state(), order.state(), Actor(caller, report.actor),
               absl::StrCat("BREACH ", v1::BreachAction_Name(report.action)))));
    v1::EventEnvelope out = events::NewEnvelope(kProducer, order.referral_id());
    SetOrderBreached(order, breach, out);
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    return breach;
  });
}

absl::StatusOr<v1::Order> OrdersApp::ImportOrder(
    const access::Principal& caller, const ReferralId& referral_id,
    const OrderImport& import, absl::Time now, const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    RETURN_IF_ERROR(RequireReferral(tx, referral_id).status());
    RETURN_IF_ERROR(
        access::RequireArea(caller, import.area_code, import.area_code));
    ASSIGN_OR_RETURN(std::optional<OrderId> existing,
                     FindImportedOrder(tx, import.source, import.source_ref));
    if (existing) {
      // A repeat answers the first import, to its own area's police only;
      // anyone else is refused naming what they sent, not the order.
      ASSIGN_OR_RETURN(v1::Order first, LoadOrder(tx, *existing));
      RETURN_IF_ERROR(CheckArea(caller, first.area_code(), import.source_ref));
      return LoadOrderWithTimers(tx, *existing);
    }
    const OrderId order_id(NewUuid());
    ASSIGN_OR_RETURN(v1::Order order,
                     NewImportedOrder(order_id, referral_id, import, now));
    RETURN_IF_ERROR(Create(tx, order, now, Actor(caller, import.actor),
                           absl::StrCat("IMPORTED ", import.source),
                           traceparent));
    RETURN_IF_ERROR(ScheduleExpiry(tx, order));
    if (order.state() == v1::ORDER_STATE_SERVED) {
      // Served elsewhere: the same statutory clocks as one served here, from
      // when it was served (a clock already past fires at once).
      ASSIGN_OR_RETURN(
          std::vector<TimerSpec> timers,
          ServiceTimers(order, timeutil::FromTimestamp(order.served_at()),
                        timer_policy_));
      for (const TimerSpec& timer : timers) {
        RETURN_IF_ERROR(AddTimer(tx, order_id, timer));
      }
    }
    return LoadOrderWithTimers(tx, order_id);
  });
}

absl::StatusOr<v1::Order> OrdersApp::GetOrder(const access::Principal& caller,
                                              const OrderId& order_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<v1::Order> {
    RETURN_IF_ERROR(LoadOrderFor(tx, caller, order_id).status());
    return LoadOrderWithTimers(tx, order_id);
  });
}

absl::StatusOr<std::string> OrdersApp::OrderConditions(
    const access::Principal& caller, const OrderId& order_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<std::string> {
    RETURN_IF_ERROR(LoadOrderFor(tx, caller, order_id).status());
    ASSIGN_OR_RETURN(StoredText stored, LoadConditionsText(tx, order_id));
    if (stored.value.empty() || stored.format.empty()) {
      return std::move(stored.value);  // none, or plaintext from before
    }
    if (stored.format != crypto::kSealedFieldFormat) {
      return absl::DataLossError(
          absl::StrCat("unknown conditions_text format '", stored.format, "'"));
    }
    ASSIGN_OR_RETURN(std::string key,
                     options_.person_keys->Get(tx, stored.owner));
    return crypto::OpenField(key, order_id.value(), kConditionsColumn,
                             stored.value);
  });
}

absl::StatusOr<int> OrdersApp::EraseVictim(Tx& tx,
                                           const ReferralId& referral_id,
                                           const std::string& person_id) {
  ASSIGN_OR_RETURN(ErasedText erased, EraseReferralFreeText(tx, referral_id));
  // The person's key shreds everything sealed under it (other referrals'
  // orders too); an order sealed under its own key is shredded with it.
  if (!person_id.empty() && options_.person_keys != nullptr) {
    RETURN_IF_ERROR(options_.person_keys->Destroy(tx, person_id).status());
  }
  for (const std::string& owner : erased.owners) {
    if (options_.person_keys == nullptr) break;
    RETURN_IF_ERROR(options_.person_keys->Destroy(tx, owner).status());
  }
  return erased.blanked;
}

absl::StatusOr<paging::Page<v1::Order>> OrdersApp::ListOrders(
    const access::Principal& caller, const OrderFilter& filter,
    const paging::PageRequest& page) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<paging::Page<v1::Order>> {
    if (filter.referral_id) {
      RETURN_IF_ERROR(RequireReferral(tx, *filter.referral_id).status());
    }
    if (!access::SeesEverything(caller)) {
      RETURN_IF_ERROR(
          access::RequireArea(caller, filter.area_code, filter.area_code));
    }
    ASSIGN_OR_RETURN(paging::Page<OrderId> ids, FindOrders(tx, filter, page));
    paging::Page<v1::Order> orders;
    for (const OrderId& id : ids.items) {
      ASSIGN_OR_RETURN(v1::Order order, LoadOrderWithTimers(tx, id));
      orders.items.push_back(std::move(order));
    }
    orders.next = std::move(ids.next);
    return orders;
  });
}

absl::StatusOr<v1::OrderHistory> OrdersApp::GetOrderHistory(
    const access::Principal& caller, const OrderId& order_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<v1::OrderHistory> {
    RETURN_IF_ERROR(LoadOrderFor(tx, caller, order_id).status());
    v1::OrderHistory history;
    history.set_order_id(order_id.value());
    ASSIGN_OR_RETURN(std::vector<v1::OrderChange> changes,
                     LoadChanges(tx, order_id));
    for (v1::OrderChange& c : changes) *history.add_changes() = std::move(c);
    ASSIGN_OR_RETURN(std::vector<v1::Breach> breaches,
                     LoadBreaches(tx, order_id));
    for (v1::Breach& b : breaches) *history.add_breaches() = std::move(b);
    return history;
  });
}

absl::StatusOr<paging::Page<v1::ConsiderationRecord>>
OrdersApp::ListReviewQueue(const access::Principal& caller,
                           const std::string& area_code, absl::Time now,
                           const paging::PageRequest& page) {
  RETURN_IF_ERROR(CheckArea(caller, area_code, area_code));
  ASSIGN_OR_RETURN(paging::Page<v1::ConsiderationRecord> records,
                   db_.Read([&](Tx& tx) {
                     return ListOpenConsiderationsIn(tx, area_code, page);
                   }));
  return WithReviewStatus(std::move(records), now);
}

absl::StatusOr<paging::Page<v1::ConsiderationRecord>>
OrdersApp::ListConsiderationsOf(const access::Principal& caller,
                                const ReferralId& referral_id, absl::Time now,
                                const paging::PageRequest& page) {
  ASSIGN_OR_RETURN(
      paging::Page<v1::ConsiderationRecord> records,
      db_.Read(
          [&](Tx& tx) -> absl::StatusOr<paging::Page<v1::ConsiderationRecord>> {
            // A referral's review items share its area; police see their own
            // area's only.
            ASSIGN_OR_RETURN(KnownReferral referral,
                             RequireReferral(tx, referral_id));
            if (!access::SeesEverything(caller)) {
              RETURN_IF_ERROR(access::RequireArea(caller, referral.area_code,
                                                  referral_id.value()));
            }
            return orders::ListConsiderationsOf(tx, referral_id, page);
          }));
  return WithReviewStatus(std::move(records), now);
}

absl::StatusOr<paging::Page<v1::ConsiderationRecord>>
OrdersApp::ListOpenConsiderations(const access::Principal& caller,
                                  absl::Time now,
                                  const paging::PageRequest& page) {
  if (!access::SeesEverything(caller)) {
    return errors::Denied(access::kRuleOwnArea, "",
                          "every area's review items are for operators and "
                          "auditors; police list their own with "
                          "ListReviewQueue or by referral");
  }
  ASSIGN_OR_RETURN(paging::Page<v1::ConsiderationRecord> records,
                   db_.Read([&](Tx& tx) {
                     return orders::ListOpenConsiderations(tx, page);
                   }));
  return WithReviewStatus(std::move(records), now);
}

absl::StatusOr<TimerSweep> OrdersApp::FireDueTimers(absl::Time now, int limit) {
  now = timeutil::TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<TimerSweep> {
    TimerSweep sweep;
    ASSIGN_OR_RETURN(std::vector<DueTimer> due, LoadDueTimers(tx, now, limit));
    for (const DueTimer& timer : due) {
      ASSIGN_OR_RETURN(bool pending, MarkTimerFired(tx, timer.timer_id, now));
      if (!pending) continue;
      RETURN_IF_ERROR(FireTimer(tx, timer, now));
      ++sweep.fired;
    }
    ASSIGN_OR_RETURN(std::optional<absl::Time> next, EarliestPendingTimer(tx));
    sweep.next_due = next.value_or(absl::InfiniteFuture());
    return sweep;
  });
}

absl::Status OrdersApp::FireTimer(Tx& tx, const DueTimer& timer,
                                  absl::Time now) {
  ASSIGN_OR_RETURN(v1::Order order, LoadOrder(tx, timer.order_id));
  const std::string traceparent = NewTraceparent();
  v1::EventEnvelope out = events::NewEnvelope(kProducer, order.referral_id());
  RETURN_IF_ERROR(SetTimerFired(timer, order, out));
  if (ExpiresOrder(timer, order)) {
    RETURN_IF_ERROR(Move(tx, order, v1::ORDER_STATE_EXPIRED, now,
                         kSchedulerActor, "ORDER-EXPIRY", traceparent));
  }
  return Emit(tx, std::move(out), traceparent);
}

absl::StatusOr<v1::Order> OrdersApp::LoadOrderFor(
    Tx& tx, const access::Principal& caller, const OrderId& order_id) {
  absl::StatusOr<v1::Order> order = LoadOrder(tx, order_id);
  RETURN_IF_ERROR(CheckArea(caller, AreaOf(order), order_id.value()));
  return order;
}

absl::Status OrdersApp::Move(Tx& tx, v1::Order& order, v1::OrderState to,
                             absl::Time now, absl::string_view actor,
                             absl::string_view detail,
                             absl::string_view traceparent) {
  RETURN_IF_ERROR(CheckTransition(order.order_type(), order.state(), to));
  const v1::OrderState from = order.state();
  order.set_state(to);
  const OrderId id(order.order_id());
  RETURN_IF_ERROR(Save(tx, order, now));
  RETURN_IF_ERROR(AddChange(tx, id, Change(now, from, to, actor, detail)));
  if (IsTerminal(to)) RETURN_IF_ERROR(CancelTimers(tx, id));
  return EmitRecorded(tx, order, from, traceparent);
}

absl::Status OrdersApp::Create(Tx& tx, const v1::Order& order, absl::Time now,
                               absl::string_view actor,
                               absl::string_view detail,
                               absl::string_view traceparent) {
  RETURN_IF_ERROR(Save(tx, order, now));
  RETURN_IF_ERROR(AddChange(
      tx, OrderId(order.order_id()),
      Change(now, v1::ORDER_STATE_UNSPECIFIED, order.state(), actor, detail)));
  return EmitRecorded(tx, order, v1::ORDER_STATE_UNSPECIFIED, traceparent);
}

absl::Status OrdersApp::ScheduleExpiry(Tx& tx, const v1::Order& order) {
  const OrderId id(order.order_id());
  RETURN_IF_ERROR(CancelTimers(tx, id, kOrderExpiringTimer));
  RETURN_IF_ERROR(CancelTimers(tx, id, kOrderExpiredTimer));
  for (const TimerSpec& timer :
       ExpiryTimers(order, options_.expiring_warning_days)) {
    RETURN_IF_ERROR(AddTimer(tx, id, timer));
  }
  return absl::OkStatus();
}

absl::Status OrdersApp::Save(Tx& tx, const v1::Order& order, absl::Time now) {
  const std::string& text = order.terms().conditions_text();
  if (text.empty()) return SaveOrder(tx, order, now);
  if (options_.person_keys == nullptr) {
    return absl::InternalError("orders has no person keys to seal with");
  }
  ASSIGN_OR_RETURN(std::optional<KnownReferral> referral,
                   FindReferral(tx, ReferralId(order.referral_id())));
  const std::string owner = referral.has_value() && !referral->person_id.empty()
                                ? referral->person_id
                                : OrderOwner(order);
  ASSIGN_OR_RETURN(std::string key,
                   options_.person_keys->GetOrCreate(tx, owner));
  ASSIGN_OR_RETURN(
      std::string sealed,
      crypto::SealField(key, order.order_id(), kConditionsColumn, text));
  return SaveOrder(
      tx, order, now,
      StoredText{std::move(sealed), crypto::kSealedFieldFormat, owner});
}

absl::StatusOr<KnownReferral> OrdersApp::RequireReferral(
    Tx& tx, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(std::optional<KnownReferral> referral,
                   FindReferral(tx, referral_id));
  if (!referral.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("referral ", referral_id.value(), " not found"));
  }
  return *std::move(referral);
}

paging::Page<v1::ConsiderationRecord> OrdersApp::WithReviewStatus(
    paging::Page<v1::ConsiderationRecord> page, absl::Time now) const {
  for (v1::ConsiderationRecord& r : page.items) {
    SetReviewStatus(r, now, options_.review_window);
  }
  return page;
}

}  // namespace signpost::orders
