// Which partner agencies receive an event, in plain code. Nothing about a
// referral goes to any partner until its triage decision is known (that
// decides consent gating and MARAC). Without referral consent, only agencies
// that lawfully receive without consent get it, and only when the referral
// goes to MARAC, with the legal basis recorded.
//
// Beyond the subscriptions (issue 10): a withdrawal is told to every agency
// already told about the referral; a stop notice (the withdrawal, an
// assignment released) reaches the subscribed agencies already told even
// once consent is withheld, since it shares nothing new and tells them to
// stop, with the legal basis of their original share; and the referrer of a
// referral linked to this one is told its outcomes as the referrer is.
// Thread-safe (pure).
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

// Who has been told about a referral so far, beyond the subscriptions.
struct ReferralAudience {
  // Every agency with an earlier delivery of the referral, with the legal
  // basis of its first (the original share).
  std::vector<DeliveryTarget> told;
  // The referrers of later referrals linked to this one (ReferralLinked).
  std::vector<std::string> linked_referrers;
};

// The event types a referrer is told about its referral (the closed loop):
// the decision, where support stands, and the end of the referral.
bool IsReferrerOutcome(const std::string& event_type);
// ReferralWithdrawn and AssignmentReleased: they tell agencies to stop.
bool IsStopNotice(const std::string& event_type);

// Every agency `envelope` is recorded for (RouteEvent, then the rules above;
// ReferralLinked also goes to the linked referral's referrer). An agency
// appears once, with the first basis found.
std::vector<DeliveryTarget> RouteReferralEvent(
    const v1::SubscriptionList& subscriptions,
    const v1::EventEnvelope& envelope, const ReferralContext& context,
    const ReferralAudience& audience);

// `envelope` as kept once its person is erased: the header (ids, type,
// times) and only payloads made of agency ids and codes (ReferralLinked,
// ReferralWithdrawn, AssignmentReleased); every other payload (the facts, the
// decision with its person id and risk) is dropped.
v1::EventEnvelope ErasedForm(const v1::EventEnvelope& envelope);

// The triage decision `envelope` carries (ReferralTriaged, or the new
// decision of ReferralReassessed); nullptr for any other event.
const v1::ReferralTriaged* TriageDecisionOf(const v1::EventEnvelope& envelope);

// What a triage decision means for deliveries: until a decision is ROUTED
// (consent given, assessment complete) only agencies that lawfully receive
// without consent may receive.
ReferralContext ContextOf(const v1::ReferralTriaged& decision);

absl::Status ValidateSubscriptions(const v1::SubscriptionList& subscriptions);

}  // namespace signpost::notification
