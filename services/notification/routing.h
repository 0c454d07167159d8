// Which partner agencies receive an event, in plain code. Nothing about a
// referral goes to any partner until its triage decision is known (that
// decides consent gating and MARAC). Without referral consent, only agencies
// that lawfully receive without consent get it, and only when the referral
// goes to MARAC, with the legal basis recorded. Thread-safe (pure).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

struct ReferralContext {
  std::string area_code;
  bool consent_required = false;
  bool marac = false;
  std::string legal_basis;
};

struct DeliveryTarget {
  std::string agency_id;
  std::string legal_basis;
};

std::vector<DeliveryTarget> RouteEvent(
    const v1::SubscriptionList& subscriptions, const std::string& event_type,
    const ReferralContext& context);

// The triage decision `envelope` carries (ReferralTriaged, or the new
// decision of ReferralReassessed); nullptr for any other event.
const v1::ReferralTriaged* TriageDecisionOf(const v1::EventEnvelope& envelope);

// What a triage decision means for deliveries: until a decision is ROUTED
// (consent given, assessment complete) only agencies that lawfully receive
// without consent may receive.
ReferralContext ContextOf(const v1::ReferralTriaged& decision);

absl::Status ValidateSubscriptions(const v1::SubscriptionList& subscriptions);

}  // namespace signpost::notification
