#include "services/orders/order_rules.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/orders/lifecycle.h"

namespace signpost::orders {
namespace {

using timeutil::FromTimestamp;
using timeutil::ToTimestamp;

// Sets the order's expiry from its terms (cleared for "until further
// order" or a notice).
void SetExpiry(v1::Order& order) {
  order.clear_expires_at();
  if (std::optional<absl::Time> expiry =
          ExpiryOf(order.order_type(), order.terms())) {
    *order.mutable_expires_at() = ToTimestamp(*expiry);
  }
}

}  // namespace

v1::OrderType OrderTypeFor(v1::Consideration consideration) {
  switch (consideration) {
    case v1::CONSIDERATION_SPO:
      return v1::ORDER_TYPE_SPO;
    case v1::CONSIDERATION_DVDS:
      return v1::ORDER_TYPE_DVDS_DISCLOSURE;
    case v1::CONSIDERATION_DAPN:
      return v1::ORDER_TYPE_DAPN;
    default:
      return v1::ORDER_TYPE_UNSPECIFIED;
  }
}

void SetReviewStatus(v1::ConsiderationRecord& record, absl::Time now,
                     absl::Duration window) {
  const absl::Time due = FromTimestamp(record.opened_at()) + window;
  *record.mutable_review_due() = ToTimestamp(due);
  record.set_overdue(record.open() && now > due);
}

absl::Status CheckConsiderationOpen(const v1::ConsiderationRecord& record) {
  if (record.open()) return absl::OkStatus();
  return errors::RuleViolation(
      kConsiderationDecidedRule, "consideration_id",
      "this consideration already has a recorded decision");
}

v1::Order OrderFromConsideration(const OrderId& order_id,
                                 const v1::ConsiderationRecord& record,
                                 const ConsiderationDecision& decision) {
  v1::Order order;
  order.set_order_id(order_id.value());
  order.set_referral_id(record.referral_id());
  order.set_order_type(decision.order_type != v1::ORDER_TYPE_UNSPECIFIED
                           ? decision.order_type
                           : OrderTypeFor(record.consideration()));
  order.set_state(v1::ORDER_STATE_CONSIDERED);
  order.set_area_code(record.area_code());
  return order;
}

void CloseConsideration(v1::ConsiderationRecord& record,
                        const ConsiderationDecision& decision,
                        const std::optional<OrderId>& order_id) {
  record.set_open(false);
  record.set_overdue(false);
  record.set_applied(decision.apply);
  record.set_reason_code(decision.reason_code);
  record.set_order_id(order_id ? order_id->value() : "");
  record.set_actor(decision.actor);
}

namespace {

void CopyParticulars(const Application& a, v1::Order& order) {
  if (!a.legal_basis.empty()) order.set_legal_basis(a.legal_basis);
  if (!a.protected_ref.empty()) order.set_protected_ref(a.protected_ref);
  if (!a.respondent_ref.empty()) order.set_respondent_ref(a.respondent_ref);
  if (a.protected_age) order.set_protected_age(a.protected_age);
  if (a.respondent_age) order.set_respondent_age(a.respondent_age);
  if (a.on_acquittal) order.set_on_acquittal(true);
  if (a.without_notice) order.set_without_notice(true);
  if (!a.area_code.empty()) order.set_area_code(a.area_code);
}

}  // namespace

absl::StatusOr<v1::Order> NewApplication(const OrderId& order_id,
                                         const ReferralId& referral_id,
                                         const Application& application) {
  RETURN_IF_ERROR(CheckInitialState(application.order_type,
                                    v1::ORDER_STATE_APPLIED,
                                    /*imported=*/false));
  v1::Order order;
  order.set_order_id(order_id.value());
  order.set_referral_id(referral_id.value());
  order.set_order_type(application.order_type);
  order.set_state(v1::ORDER_STATE_APPLIED);
  CopyParticulars(application, order);
  return order;
}

absl::Status ApplyToOrder(v1::Order& order, const Application& application) {
  if (application.order_type != v1::ORDER_TYPE_UNSPECIFIED &&
      application.order_type != order.order_type()) {
    return errors::RuleViolation(kOrderTypeFixedRule, "order_type",
                                 "an order's type cannot change");
  }
  CopyParticulars(application, order);
  if (IsNotice(order.order_type())) {
    return errors::RuleViolation(
        kLifecycleRule, "order_id",
        "a DVPN or DAPN is authorised by an officer, not applied for: "
        "record the decision");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::OrderState> Decide(v1::Order& order,
                                      const Decision& decision,
                                      absl::Time now) {
  if (!decision.protected_ref.empty())
    order.set_protected_ref(decision.protected_ref);
  if (!decision.respondent_ref.empty())
    order.set_respondent_ref(decision.respondent_ref);
  if (decision.protected_age) order.set_protected_age(decision.protected_age);
  if (decision.respondent_age)
    order.set_respondent_age(decision.respondent_age);
  const v1::OrderState to =
      decision.granted ? v1::ORDER_STATE_GRANTED : v1::ORDER_STATE_REFUSED;
  RETURN_IF_ERROR(CheckTransition(order.order_type(), order.state(), to));
  if (decision.granted) {
    v1::OrderTerms terms = decision.terms;
    if (!terms.has_made_at()) *terms.mutable_made_at() = ToTimestamp(now);
    RETURN_IF_ERROR(CheckGrant(order, decision.authority, terms));
    *order.mutable_authority() = decision.authority;
    *order.mutable_terms() = std::move(terms);
    // The terms' expiry, if they give one (an earlier one is kept if not).
    if (std::optional<absl::Time> expiry =
            ExpiryOf(order.order_type(), order.terms())) {
      *order.mutable_expires_at() = ToTimestamp(*expiry);
    }
  }
  return to;
}

absl::Status Serve(v1::Order& order, absl::Time served_at) {
  RETURN_IF_ERROR(CheckTransition(order.order_type(), order.state(),
                                  v1::ORDER_STATE_SERVED));
  *order.mutable_served_at() = ToTimestamp(served_at);
  return absl::OkStatus();
}

absl::StatusOr<VariationOutcome> Vary(v1::Order& order,
                                      const Variation& variation) {
  VariationOutcome outcome;
  const v1::OrderState to = variation.new_state;
  if (to != v1::ORDER_STATE_UNSPECIFIED) {
    RETURN_IF_ERROR(CheckTransition(order.order_type(), order.state(), to));
    if (variation.terms &&
        (to == v1::ORDER_STATE_VARIED || to == v1::ORDER_STATE_EXTENDED)) {
      v1::OrderTerms terms = *variation.terms;
      if (!terms.has_made_at())
        *terms.mutable_made_at() = order.terms().made_at();
      RETURN_IF_ERROR(CheckGrant(order, order.authority(), terms));
      *order.mutable_terms() = std::move(terms);
      SetExpiry(order);
      outcome.terms_changed = true;
    }
  }
  if (variation.respondent_notified && !order.respondent_notified()) {
    order.set_respondent_notified(true);
    outcome.duty_met = true;
  }
  if (variation.respondent_aware) order.set_respondent_aware(true);
  if (to != v1::ORDER_STATE_UNSPECIFIED) {
    outcome.detail = outcome.terms_changed ? "terms changed" : "";
  } else {
    outcome.detail =
        absl::StrCat(variation.respondent_notified ? "NOTIFIED " : "",
                     variation.respondent_aware ? "AWARE" : "");
  }
  return outcome;
}

absl::Status CheckBreachReport(const v1::Order& order,
                               const BreachReport& report,
                               const std::vector<v1::Breach>& same_incident) {
  if (order.order_type() == v1::ORDER_TYPE_NON_MOLESTATION_ORDER &&
      report.proceedings == v1::BREACH_PROCEEDINGS_UNSPECIFIED) {
    return errors::FieldError("proceedings",
                              "is required for a non-molestation order: "
                              "CRIMINAL or CONTEMPT, never both");
  }
  return CheckBreach(order, report, same_incident);
}

v1::Breach NewBreach(const std::string& breach_id, const v1::Order& order,
                     const BreachReport& report) {
  v1::Breach breach;
  breach.set_breach_id(breach_id);
  breach.set_order_id(order.order_id());
  *breach.mutable_occurred_at() = ToTimestamp(report.occurred_at);
  breach.set_reporting_agency(report.reporting_agency);
  breach.set_action(report.action);
  breach.set_proceedings(report.proceedings);
  breach.set_incident_ref(report.incident_ref);
  return breach;
}

absl::StatusOr<v1::Order> NewImportedOrder(const OrderId& order_id,
                                           const ReferralId& referral_id,
                                           const OrderImport& import,
                                           absl::Time now) {
  RETURN_IF_ERROR(
      CheckInitialState(import.order_type, import.state, /*imported=*/true));
  v1::Order order;
  order.set_order_id(order_id.value());
  order.set_referral_id(referral_id.value());
  order.set_order_type(import.order_type);
  order.set_state(import.state);
  order.set_legal_basis(import.legal_basis);
  *order.mutable_authority() = import.authority;
  order.set_protected_age(import.protected_age);
  order.set_respondent_age(import.respondent_age);
  v1::OrderTerms terms = import.terms;
  if (!terms.has_made_at()) *terms.mutable_made_at() = ToTimestamp(now);
  RETURN_IF_ERROR(CheckGrant(order, import.authority, terms));
  *order.mutable_terms() = std::move(terms);
  SetExpiry(order);
  order.set_protected_ref(import.protected_ref);
  order.set_respondent_ref(import.respondent_ref);
  order.set_without_notice(import.without_notice);
  order.set_respondent_aware(import.respondent_aware);
  if (import.state == v1::ORDER_STATE_SERVED) {
    *order.mutable_served_at() = ToTimestamp(import.served_at.value_or(now));
  }
  order.set_area_code(import.area_code);
  order.set_source(import.source);
  order.set_source_ref(import.source_ref);
  return order;
}

}  // namespace signpost::orders
