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
