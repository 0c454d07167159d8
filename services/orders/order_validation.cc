#include "services/orders/order_validation.h"

#include <string>

#include "common/ids/ids.h"

namespace signpost::orders {
namespace {

void Uuid(errors::FieldErrors& e, const char* field, const std::string& v) {
  if (!IsUuid(v)) e.Add(field, "must be an id (UUID)");
}

void Actor(errors::FieldErrors& e, const std::string& v) {
  if (v.empty() || v.size() > 64)
    e.Add("actor", "is required: the staff id making the change");
}

void Type(errors::FieldErrors& e, v1::OrderType t, bool required) {
  if (!v1::OrderType_IsValid(t)) {
    e.Add("order_type", "unknown order type");
  } else if (required && t == v1::ORDER_TYPE_UNSPECIFIED) {
    e.Add("order_type", "is required");
  }
}

void Ages(errors::FieldErrors& e, int protected_age, int respondent_age) {
  if (protected_age < 0 || protected_age > 130)
    e.Add("protected_age", "must be 0-130");
  if (respondent_age < 0 || respondent_age > 130)
    e.Add("respondent_age", "must be 0-130");
}

void Terms(errors::FieldErrors& e, const v1::OrderTerms& t,
           const std::string& at) {
  if (t.duration_days() < 0)
    e.Add(at + ".duration_days", "must not be negative");
  if (t.duration_days() > 0 && t.until_further_order()) {
    e.Add(at + ".until_further_order", "given together with duration_days");
  }
  if (t.conditions_text().size() > 4000) {
    e.Add(at + ".conditions_text", "must be at most 4000 characters");
  }
}

}  // namespace

errors::FieldErrors ValidateConsideration(
    const v1::RecordConsiderationRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "consideration_id", r.consideration_id());
  Actor(e, r.actor());
  if (!r.apply() && r.reason_code().empty()) {
    e.Add("reason_code", "is required when not applying");
  }
  Type(e, r.order_type(), false);
  return e;
}

errors::FieldErrors ValidateApplication(const v1::RecordApplicationRequest& r) {
  errors::FieldErrors e;
  if (r.order_id().empty()) {
    Uuid(e, "referral_id", r.referral_id());
    Type(e, r.order_type(), true);
  } else {
    Uuid(e, "order_id", r.order_id());
    Type(e, r.order_type(), false);
  }
  Actor(e, r.actor());
  Ages(e, r.protected_age(), r.respondent_age());
  return e;
}

errors::FieldErrors ValidateDecision(const v1::RecordDecisionRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  if (r.granted()) {
    if (r.authority().court_or_officer().empty()) {
      e.Add("authority.court_or_officer", "is required for a granted order");
    }
    if (!v1::OfficerRank_IsValid(r.authority().rank()))
      e.Add("authority.rank", "unknown rank");
    Terms(e, r.terms(), "terms");
  }
  Ages(e, r.protected_age(), r.respondent_age());
  return e;
}

errors::FieldErrors ValidateService(const v1::RecordServiceRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  return e;
}

errors::FieldErrors ValidateVariation(const v1::RecordVariationRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  const v1::OrderState s = r.new_state();
  if (s != v1::ORDER_STATE_UNSPECIFIED && s != v1::ORDER_STATE_VARIED &&
      s != v1::ORDER_STATE_EXTENDED && s != v1::ORDER_STATE_DISCHARGED) {
    e.Add("new_state", "must be VARIED, EXTENDED, DISCHARGED or unset");
  }
  if (s == v1::ORDER_STATE_UNSPECIFIED && !r.respondent_notified() &&
      !r.respondent_aware()) {
    e.Add("new_state",
          "nothing to record: give a new state or a notification/awareness");
  }
  Terms(e, r.terms(), "terms");
  return e;
}

errors::FieldErrors ValidateBreach(const v1::RecordBreachRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  if (!r.has_occurred_at()) e.Add("occurred_at", "is required");
  if (r.reporting_agency().empty()) e.Add("reporting_agency", "is required");
  if (!v1::BreachAction_IsValid(r.action()) ||
      r.action() == v1::BREACH_ACTION_UNSPECIFIED) {
    e.Add("action",
          "is required: ARREST, CHARGE, WARNING or NO_FURTHER_ACTION");
  }
  if (!v1::BreachProceedings_IsValid(r.proceedings()))
    e.Add("proceedings", "unknown value");
  return e;
}

errors::FieldErrors ValidateImport(const v1::ImportOrderRequest& r) {
  errors::FieldErrors e;
  if (r.source().empty()) e.Add("source", "is required");
  if (r.source_ref().empty()) e.Add("source_ref", "is required");
  Uuid(e, "referral_id", r.referral_id());
  Type(e, r.order_type(), true);
  if (r.state() != v1::ORDER_STATE_GRANTED &&
      r.state() != v1::ORDER_STATE_SERVED) {
    e.Add("state", "must be GRANTED or SERVED for an imported order");
  }
  Actor(e, r.actor());
  Terms(e, r.terms(), "terms");
  return e;
}

errors::FieldErrors ValidateGetOrder(const v1::GetOrderRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  return e;
}

errors::FieldErrors ValidateGetOrderHistory(
    const v1::GetOrderHistoryRequest& r) {
  errors::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  return e;
}

errors::FieldErrors ValidateListOrders(const v1::ListOrdersRequest& r) {
  errors::FieldErrors e;
  if (!r.referral_id().empty()) Uuid(e, "referral_id", r.referral_id());
  Type(e, r.order_type(), false);
  if (!v1::OrderState_IsValid(r.state())) e.Add("state", "unknown state");
  return e;
}

errors::FieldErrors ValidateReviewQueue(const v1::ListReviewQueueRequest& r) {
  errors::FieldErrors e;
  if (r.area_code().empty()) e.Add("area_code", "is required");
  return e;
}

errors::FieldErrors ValidateListConsiderations(
    const v1::ListConsiderationsRequest& r) {
  errors::FieldErrors e;
  if (!r.referral_id().empty() && !IsUuid(r.referral_id())) {
    e.Add("referral_id", "must be a referral id (UUID) or empty");
  }
  return e;
}

}  // namespace signpost::orders
