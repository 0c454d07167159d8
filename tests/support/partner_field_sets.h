// The partner field sets as docs/api-and-events.md publishes them, written
// out here independently of services/notification/projection.cc, so that
// tests check partner events against the published contract rather than
// against the code that builds them. Header-only; thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>

#include "signpost/v1/partner.pb.h"

namespace signpost::testing {

inline const std::map<v1::FieldSet, std::set<std::string>>&
PublishedFieldSets() {
  static const auto* sets = new std::map<v1::FieldSet, std::set<std::string>>{
      {v1::FIELD_SET_REFERRER_OUTCOME,
       {"status", "pathways", "priority", "provider_id", "service",
        "contacted_at", "within_deadline", "failed_attempts",
        "withdrawal_reason", "closure_reason", "feels_safer", "copes_better",
        "better_informed"}},
      {v1::FIELD_SET_MARAC,
       {"status", "area_code", "risk", "dash_score", "repeat_marac", "rule_ids",
        "withdrawal_reason", "marac_meeting_id", "marac_action_id",
        "marac_action_kind", "due"}},
      {v1::FIELD_SET_PROVIDER_CASE,
       {"status",
        "pathways",
        "priority",
        "area_code",
        "locality_code",
        "language",
        "interpreter_needed",
        "enhanced_rights",
        "first_contact_due",
        "provider_id",
        "assignment_id",
        "advocate_id",
        "offer_expires_at",
        "contacted_at",
        "within_deadline",
        "failed_attempts",
        "withdrawal_reason",
        "closure_reason",
        "feels_safer",
        "copes_better",
        "better_informed",
        "pathway",
        "service",
        "also_pathway",
        "due",
        "deadline_kind",
        "deadline_rule"}},
      {v1::FIELD_SET_COMMISSIONING,
       {"area_code", "locality_code", "pathway", "service", "role",
        "reason_code", "due", "deadline_kind", "deadline_rule"}},
      {v1::FIELD_SET_POLICE_ORDERS,
       {"area_code", "order_id", "order_type", "order_state",
        "previous_order_state", "consideration", "consideration_id", "applied",
        "expires_at", "due", "breach_id", "withdrawal_reason"}},
  };
  return *sets;
}

}  // namespace signpost::testing
