#include "services/orders/order_events.h"

#include "absl/strings/str_cat.h"
#include "common/time/timestamps.h"

namespace signpost::orders {

void SetOrderRecorded(const v1::Order& order, v1::OrderState previous,
                      v1::EventEnvelope& out) {
  v1::OrderRecorded* r = out.mutable_order_recorded();
  r->set_order_id(order.order_id());
  r->set_order_type(order.order_type());
  r->set_state(order.state());
  r->set_previous_state(previous);
  r->set_source(order.source());
  if (order.has_expires_at()) *r->mutable_expires_at() = order.expires_at();
}

void SetConsiderationOpened(const std::string& consideration_id,
                            v1::Consideration consideration,
                            const std::string& area_code,
                            v1::EventEnvelope& out) {
  v1::OrderConsiderationOpened* o = out.mutable_order_consideration_opened();
  o->set_consideration_id(consideration_id);
  o->set_consideration(consideration);
  o->set_area_code(area_code);
}

void SetConsiderationDecided(const v1::ConsiderationRecord& record,
                             v1::EventEnvelope& out) {
  v1::ConsiderationDecided* d = out.mutable_consideration_decided();
  d->set_consideration_id(record.consideration_id());
  d->set_consideration(record.consideration());
  d->set_applied(record.applied());
  d->set_reason_code(record.reason_code());
  d->set_order_id(record.order_id());
}

void SetOrderBreached(const v1::Order& order, const v1::Breach& breach,
                      v1::EventEnvelope& out) {
  v1::OrderBreached* b = out.mutable_order_breached();
  b->set_order_id(order.order_id());
  b->set_order_type(order.order_type());
  b->set_breach_id(breach.breach_id());
  *b->mutable_occurred_at() = breach.occurred_at();
  b->set_reporting_agency(breach.reporting_agency());
  b->set_action(v1::BreachAction_Name(breach.action()));
  b->set_proceedings(v1::BreachProceedings_Name(breach.proceedings()));
  b->set_priority(v1::PRIORITY_URGENT);
}

absl::Status SetTimerFired(const DueTimer& timer, const v1::Order& order,
                           v1::EventEnvelope& out) {
  const std::string& id = timer.order_id.value();
  if (timer.kind == kHearingDueTimer) {
    v1::HearingDue* h = out.mutable_hearing_due();
    h->set_order_id(id);
    h->set_order_type(order.order_type());
    *h->mutable_due() = timeutil::ToTimestamp(timer.due);
  } else if (timer.kind == kOrderExpiringTimer) {
    v1::OrderExpiring* e = out.mutable_order_expiring();
    e->set_order_id(id);
    e->set_order_type(order.order_type());
    *e->mutable_expires_at() = order.expires_at();
  } else if (timer.kind == kOrderExpiredTimer) {
    v1::OrderExpired* e = out.mutable_order_expired();
    e->set_order_id(id);
    e->set_order_type(order.order_type());
  } else if (timer.kind == kNotificationDutyTimer) {
    v1::NotificationDutyOverdue* n = out.mutable_notification_duty_overdue();
    n->set_order_id(id);
    n->set_order_type(order.order_type());
    *n->mutable_due() = timeutil::ToTimestamp(timer.due);
  } else if (timer.kind == kEmEndTimer) {
    out.mutable_electronic_monitoring_ended()->set_order_id(id);
  } else {
    return absl::DataLossError(absl::StrCat("unknown timer kind ", timer.kind));
  }
  return absl::OkStatus();
}

}  // namespace signpost::orders
