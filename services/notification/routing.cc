#include "services/notification/routing.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"

namespace signpost::notification {

std::vector<DeliveryTarget> RouteEvent(
    const v1::SubscriptionList& subscriptions, const std::string& event_type,
    const ReferralContext& context) {
  std::vector<DeliveryTarget> out;
  for (const v1::Subscription& s : subscriptions.subscriptions()) {
    bool wants = std::find(s.event_types().begin(), s.event_types().end(),
                           event_type) != s.event_types().end() ||
                 std::find(s.event_types().begin(), s.event_types().end(),
                           "*") != s.event_types().end();
    if (!wants) continue;
    if (s.areas_size() > 0 && std::find(s.areas().begin(), s.areas().end(),
                                        context.area_code) == s.areas().end()) {
      continue;
    }
    if (s.marac_only() && !context.marac) continue;
    if (context.consent_required) {
      if (!s.receives_without_consent() || !context.marac) continue;
      out.push_back({s.agency_id(), context.legal_basis});
    } else {
      out.push_back({s.agency_id(), ""});
    }
  }
  return out;
}

bool IsReferrerOutcome(const std::string& event_type) {
  static const auto* types = new std::set<std::string>({
      "signpost.v1.ReferralTriaged",
      "signpost.v1.ReferralReassessed",
      "signpost.v1.ReferralWaitlisted",
      "signpost.v1.AssignmentAccepted",
      "signpost.v1.CaseClosed",
      "signpost.v1.AssignmentReleased",
      "signpost.v1.ReferralWithdrawn",
  });
  return types->count(event_type) == 1;
}

bool IsStopNotice(const std::string& event_type) {
  return event_type == "signpost.v1.ReferralWithdrawn" ||
         event_type == "signpost.v1.AssignmentReleased";
}

std::vector<DeliveryTarget> RouteReferralEvent(
    const v1::SubscriptionList& subscriptions,
    const v1::EventEnvelope& envelope, const ReferralContext& context,
    const ReferralAudience& audience) {
  const std::string& type = envelope.type();
  std::vector<DeliveryTarget> out;
  std::set<std::string> seen;
  auto add = [&](const DeliveryTarget& target) {
    if (seen.insert(target.agency_id).second) out.push_back(target);
  };
  auto told = [&](const std::string& agency) -> const DeliveryTarget* {
    for (const DeliveryTarget& t : audience.told) {
      if (t.agency_id == agency) return &t;
    }
    return nullptr;
  };
  if (type == "signpost.v1.ReferralWithdrawn") {
    // Everyone told about the referral, and nobody else: a withdrawal
    // forbids new sharing.
    for (const DeliveryTarget& t : audience.told) add(t);
    return out;
  }
  for (const DeliveryTarget& t : RouteEvent(subscriptions, type, context)) {
    add(t);
  }
  const bool stop = IsStopNotice(type);
  if (stop && context.consent_required) {
    // The consent gate kept the subscribers out; those already told still
    // hear that support stopped. The area and MARAC filters still apply.
    ReferralContext open = context;
    open.consent_required = false;
    for (const DeliveryTarget& t : RouteEvent(subscriptions, type, open)) {
      if (const DeliveryTarget* earlier = told(t.agency_id)) add(*earlier);
    }
  }
  if (envelope.has_referral_linked()) {
    // The later referral's referrer learns what became of its referral.
    const std::string& referrer = envelope.referral_linked().referrer_agency();
    if (!referrer.empty()) {
      add({referrer, context.consent_required ? context.legal_basis : ""});
    }
  }
  if (IsReferrerOutcome(type)) {
    for (const std::string& referrer : audience.linked_referrers) {
      if (!context.consent_required) {
        add({referrer, ""});
      } else if (const DeliveryTarget* earlier = told(referrer);
                 stop && earlier != nullptr) {
        add(*earlier);
      }
    }
  }
  return out;
}

v1::EventEnvelope ErasedForm(const v1::EventEnvelope& envelope) {
  v1::EventEnvelope kept = envelope;
  switch (envelope.payload_case()) {
    case v1::EventEnvelope::kReferralLinked:
    case v1::EventEnvelope::kReferralWithdrawn:
    case v1::EventEnvelope::kAssignmentReleased:
      break;
    default:
      kept.clear_payload();
  }
  return kept;
}

const v1::ReferralTriaged* TriageDecisionOf(const v1::EventEnvelope& envelope) {
  if (envelope.has_referral_reassessed()) {
    return &envelope.referral_reassessed().decision();
  }
  if (envelope.has_referral_triaged()) return &envelope.referral_triaged();
  return nullptr;
}

ReferralContext ContextOf(const v1::ReferralTriaged& decision) {
  return ReferralContext{decision.area_code(),
                         decision.status() != v1::REFERRAL_STATUS_ROUTED,
                         decision.marac(), decision.legal_basis()};
}

absl::Status ValidateSubscriptions(const v1::SubscriptionList& list) {
  std::vector<std::string> errors;
  std::set<std::string> ids;
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (int i = 0; i < list.subscriptions_size(); ++i) {
    const v1::Subscription& s = list.subscriptions(i);
    std::string at = absl::StrCat("subscriptions[", i, "]");
    if (s.agency_id().empty()) {
      errors.push_back(absl::StrCat(at, ".agency_id is required"));
    } else if (!ids.insert(s.agency_id()).second) {
      errors.push_back(
          absl::StrCat(at, ".agency_id '", s.agency_id(), "' is a duplicate"));
    }
    if (s.event_types_size() == 0) {
      errors.push_back(absl::StrCat(at, ".event_types needs at least one"));
    }
    for (const std::string& t : s.event_types()) {
      if (t == "*") continue;
      if (!absl::StartsWith(t, "signpost.v1.") ||
          pool->FindMessageTypeByName(t) == nullptr) {
        errors.push_back(absl::StrCat(at, ": unknown event type '", t, "'"));
      }
    }
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return absl::OkStatus();
}

}  // namespace signpost::notification
