#include "services/orders/lifecycle.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/errors/errors.h"
#include "common/time/timestamps.h"

namespace signpost::orders {
namespace {

using S = v1::OrderState;

std::string Name(S s) {
  std::string n = v1::OrderState_Name(s);
  return n.substr(std::string("ORDER_STATE_").size());
}

std::string TypeName(v1::OrderType t) {
  std::string n = v1::OrderType_Name(t);
  return n.substr(std::string("ORDER_TYPE_").size());
}

using timeutil::FromTimestamp;

// Whole days from `t` to the same date `years` later (leap years counted).
int DaysInYears(absl::Time t, int years) {
  absl::CivilDay start = absl::ToCivilDay(t, absl::UTCTimeZone());
  absl::CivilDay end(start.year() + years, start.month(), start.day());
  return static_cast<int>(end - start);
}

std::set<Transition> Build(std::initializer_list<Transition> list) {
  return {list};
}

const std::set<Transition>& CourtOrder() {
  static const auto* t = new std::set<Transition>(Build({
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_APPLIED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_REFUSED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_SERVED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_EXTENDED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_EXTENDED, v1::ORDER_STATE_EXPIRED},
  }));
  return *t;
}

// DVPO: 14-28 days fixed by the court, so it is never extended.
const std::set<Transition>& Dvpo() {
  static const auto* t = new std::set<Transition>(Build({
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_APPLIED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_REFUSED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_SERVED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_VARIED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_VARIED, v1::ORDER_STATE_EXPIRED},
  }));
  return *t;
}

// Restraining orders are made by the court at sentence or acquittal, on its
// own motion: they may go from considered straight to granted.
const std::set<Transition>& Restraining() {
  static const auto* t = [] {
    auto* s = new std::set<Transition>(CourtOrder());
    s->insert({v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_GRANTED});
    return s;
  }();
  return *t;
}

// Police notices: authorised (granted) or refused by the authorising
// officer, served, then superseded by the hearing (discharged) or lapsed.
const std::set<Transition>& Notice() {
  static const auto* t = new std::set<Transition>(Build({
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_REFUSED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_SERVED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_GRANTED, v1::ORDER_STATE_EXPIRED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_DISCHARGED},
      {v1::ORDER_STATE_SERVED, v1::ORDER_STATE_EXPIRED},
  }));
  return *t;
}

// A DVDS disclosure is an application that is granted (disclosed) or refused.
const std::set<Transition>& Disclosure() {
  static const auto* t = new std::set<Transition>(Build({
      {v1::ORDER_STATE_CONSIDERED, v1::ORDER_STATE_APPLIED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_GRANTED},
      {v1::ORDER_STATE_APPLIED, v1::ORDER_STATE_REFUSED},
  }));
  return *t;
}

}  // namespace

bool IsNotice(v1::OrderType type) {
  return type == v1::ORDER_TYPE_DVPN || type == v1::ORDER_TYPE_DAPN;
}

const std::set<Transition>& AllowedTransitions(v1::OrderType type) {
  switch (type) {
    case v1::ORDER_TYPE_DVPN:
    case v1::ORDER_TYPE_DAPN:
      return Notice();
    case v1::ORDER_TYPE_DVPO:
      return Dvpo();
    case v1::ORDER_TYPE_RESTRAINING_ORDER:
      return Restraining();
    case v1::ORDER_TYPE_DVDS_DISCLOSURE:
      return Disclosure();
    default:
      return CourtOrder();
  }
}

std::set<v1::OrderState> AllowedStates(v1::OrderType type) {
  std::set<v1::OrderState> states = {v1::ORDER_STATE_CONSIDERED};
  if (!IsNotice(type)) states.insert(v1::ORDER_STATE_APPLIED);
  for (const auto& [from, to] : AllowedTransitions(type)) {
    states.insert(from);
    states.insert(to);
  }
  return states;
}

absl::Status CheckInitialState(v1::OrderType type, v1::OrderState state,
                               bool imported) {
  if (state == v1::ORDER_STATE_CONSIDERED) return absl::OkStatus();
  if (state == v1::ORDER_STATE_APPLIED && !IsNotice(type))
    return absl::OkStatus();
  if (imported &&
      (state == v1::ORDER_STATE_GRANTED || state == v1::ORDER_STATE_SERVED) &&
      type != v1::ORDER_TYPE_DVDS_DISCLOSURE) {
    return absl::OkStatus();
  }
  return errors::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("a new ", TypeName(type), " cannot start as ", Name(state)));
}

absl::Status CheckTransition(v1::OrderType type, v1::OrderState from,
                             v1::OrderState to) {
  if (AllowedTransitions(type).count({from, to}) == 1) return absl::OkStatus();
  return errors::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("a ", TypeName(type), " cannot go from ", Name(from), " to ",
                   Name(to)));
}

bool IsTerminal(v1::OrderState state) {
  return state == v1::ORDER_STATE_REFUSED ||
         state == v1::ORDER_STATE_DISCHARGED ||
         state == v1::ORDER_STATE_EXPIRED;
}

absl::Status CheckGrant(const v1::Order& order, const v1::Authority& authority,
                        const v1::OrderTerms& terms) {
  const v1::OrderType type = order.order_type();
  const bool ufo = terms.until_further_order();
  const int days = terms.duration_days();
  switch (type) {
    case v1::ORDER_TYPE_DVPN:
      if (authority.rank() < v1::OFFICER_RANK_SUPERINTENDENT) {
        return errors::RuleViolation(
            "DVPN-AUTHORISER-RANK", "authority.rank",
            "a DVPN must be authorised by a superintendent or above (CSA 2010 "
            "s24)");
      }
      if (order.respondent_age() < 18) {
        return errors::RuleViolation(
            "DVPN-RESPONDENT-AGE", "respondent_age",
            "a DVPN can only be given to a person aged 18 or over");
      }
      return absl::OkStatus();
    case v1::ORDER_TYPE_DAPN:
      if (authority.rank() < v1::OFFICER_RANK_INSPECTOR) {
        return errors::RuleViolation("DAPN-AUTHORISER-RANK", "authority.rank",
                                     "a DAPN must be authorised by an "
                                     "inspector or above (DAA 2021 s22)");
      }
      if (order.protected_age() < 16 || order.respondent_age() < 18) {
        return errors::RuleViolation(
            "DAPN-AGES",
            order.protected_age() < 16 ? "protected_age" : "respondent_age",
            "a DAPN protects a person aged 16 or over from a person aged 18 or "
            "over");
      }
      return absl::OkStatus();
    case v1::ORDER_TYPE_DVPO:
      if (ufo || days < 14 || days > 28) {
        return errors::RuleViolation(
            "DVPO-DURATION", "terms.duration_days",
            absl::StrCat("a DVPO lasts 14-28 days (CSA 2010 s28); got ",
                         ufo ? std::string("until further order")
                             : absl::StrCat(days, " days")));
      }
      return absl::OkStatus();
    case v1::ORDER_TYPE_SPO:
      if (!ufo && days < DaysInYears(FromTimestamp(terms.made_at()), 2)) {
        return errors::RuleViolation(
            "SPO-MIN-DURATION", "terms.duration_days",
            absl::StrCat("an SPO lasts at least 2 years or until further order "
                         "(SPA 2019 s5); got ",
                         days, " days"));
      }
      return absl::OkStatus();
    case v1::ORDER_TYPE_SHPO:
      if (!ufo && days < DaysInYears(FromTimestamp(terms.made_at()), 5)) {
        return errors::RuleViolation(
            "SHPO-MIN-DURATION", "terms.duration_days",
            absl::StrCat(
                "an SHPO lasts at least 5 years or until further order; got ",
                days, " days"));
      }
      return absl::OkStatus();
    case v1::ORDER_TYPE_DAPO:
      if (terms.has_electronic_monitoring_until() &&
          FromTimestamp(terms.electronic_monitoring_until()) >
              FromTimestamp(terms.made_at()) +
                  absl::Hours(24) *
                      DaysInYears(FromTimestamp(terms.made_at()), 1)) {
        return errors::RuleViolation(
            "DAPO-EM-MAX", "terms.electronic_monitoring_until",
            "electronic monitoring under a DAPO lasts at most 12 months (DAA "
            "2021 s38)");
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

std::optional<absl::Time> ExpiryOf(v1::OrderType type,
                                   const v1::OrderTerms& terms) {
  if (IsNotice(type) || terms.until_further_order() ||
      terms.duration_days() <= 0 || !terms.has_made_at()) {
    return std::nullopt;
  }
  return FromTimestamp(terms.made_at()) +
         absl::Hours(24) * terms.duration_days();
}

bool InForce(const v1::Order& order, absl::Time at) {
  const v1::OrderState s = order.state();
  if (s != v1::ORDER_STATE_GRANTED && s != v1::ORDER_STATE_SERVED &&
      s != v1::ORDER_STATE_VARIED && s != v1::ORDER_STATE_EXTENDED) {
    return false;
  }
  // Known to the respondent: served, or awareness recorded (a without-notice
  // non-molestation order is breached only once the respondent knows of it).
  const bool known = order.has_served_at() || order.respondent_aware();
  if (!known) return false;
  if (order.has_served_at() && at < FromTimestamp(order.served_at()) &&
      !order.respondent_aware()) {
    return false;
  }
  if (order.has_expires_at() && at > FromTimestamp(order.expires_at()))
    return false;
  return true;
}

absl::Status CheckBreach(const v1::Order& order, const BreachReport& breach,
                         const std::vector<v1::Breach>& same_incident) {
  if (!InForce(order, breach.occurred_at)) {
    return errors::RuleViolation(
        "BREACH-ORDER-IN-FORCE", "order_id",
        absl::StrCat("a breach can only be recorded against an order in force "
                     "and known to the "
                     "respondent (served or aware); this ",
                     TypeName(order.order_type()), " is ", Name(order.state()),
                     order.has_served_at() || order.respondent_aware()
                         ? ""
                         : " and has not been served"));
  }
  if (order.order_type() == v1::ORDER_TYPE_NON_MOLESTATION_ORDER) {
    for (const v1::Breach& earlier : same_incident) {
      if (earlier.proceedings() != breach.proceedings) {
        return errors::RuleViolation(
            "NMO-CRIME-OR-CONTEMPT", "proceedings",
            "a non-molestation breach is dealt with as a crime or as a "
            "contempt, never both "
            "(FLA 1996 s42A(3),(4))");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace signpost::orders
