// Which partner agencies are told about an event, and on what basis, in
// plain code (issue 11). Nothing about a referral goes to any partner until
// its triage decision and its referrer are known.
//
//   - Each subscription share whose event types, areas and scope cover the
//     event is made when its legal basis holds for the referral (CONSENT:
//     the victim consented; MARAC_SAFEGUARDING: triage sends it to MARAC;
//     LAW_ENFORCEMENT: order events), and otherwise refused, with the rule
//     that refused it (SHARE-NO-CONSENT, SHARE-NO-MARAC), unless it is a
//     stop notice to an agency already told, which shares nothing new.
//   - The closed loop: the referral's referrer, and the referrers of later
//     referrals linked to it, are told each outcome (REFERRER_OUTCOME, on
//     the basis OWN_REFERRAL), each under its own referral id.
//   - A withdrawal goes to every agency already told, in the field set it
//     was told in, and to nobody else.
//   - A MARAC action (MaracActionAllocated) goes to the registered agency it
//     is allocated to, in the MARAC set on MARAC_SAFEGUARDING (refused,
//     SHARE-NO-MARAC, once the referral has left MARAC).
//
// Thread-safe (pure).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "services/notification/subscriptions.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/partner.pb.h"

namespace signpost::notification {

struct ReferralContext {
  std::string area_code;
  bool consent_required = false;
  bool marac = false;
  std::string legal_basis;
  // The latest decision, its person id cleared (projections read it).
  v1::ReferralTriaged decision;
};

// One share decided for one agency.
struct ShareDecision {
  std::string agency_id;
  v1::FieldSet field_set = v1::FIELD_SET_UNSPECIFIED;
  v1::LegalBasis basis = v1::LEGAL_BASIS_UNSPECIFIED;
  // Empty when the share is made; otherwise the SHARE-* rule that refused
  // it.
  std::string refusal_rule;
  // The agency's own referral id (a linked referral's referrer: its own).
  std::string partner_referral_id;
  // For a linked referral's referrer: the referral it was linked to.
  std::string linked_referral_id;
};

// An agency told about a referral in a field set, with the basis and
// referral id of that share.
struct ToldShare {
  std::string agency_id;
  v1::FieldSet field_set = v1::FIELD_SET_UNSPECIFIED;
  v1::LegalBasis basis = v1::LEGAL_BASIS_UNSPECIFIED;
  std::string partner_referral_id;
  std::string linked_referral_id;
};

struct LinkedReferrer {
  std::string agency_id;
  std::string linked_referral_id;
};

// What routing needs to know about a referral beyond the event.
struct ReferralAudience {
  // The agency that made the referral (ReferralReceived), when known.
  std::string referrer_agency;
  // Every share made so far (one per agency and field set).
  std::vector<ToldShare> told;
  // The referrers of later referrals linked to this one (ReferralLinked).
  std::vector<LinkedReferrer> linked_referrers;
  // Every provider holding a live assignment of the referral (offered or
  // accepted; not declined, expired, released or closed).
  std::set<std::string> providers;
  // The event is about one assignment (advocacy events)...
  bool event_has_assignment = false;
  // ...and this is its provider, when it has one.
  std::string event_provider;
};

// The event types a referrer is told about its own referral (the closed
// loop).
bool IsReferrerOutcome(const std::string& event_type);
// ReferralWithdrawn and AssignmentReleased: they tell agencies to stop.
bool IsStopNotice(const std::string& event_type);
// Events after which an assignment's provider has no part in the referral:
// declined, expired, released, closed.
bool EndsAssignment(const v1::EventEnvelope& envelope);

// Every share decided for `envelope` (made or refused), one per agency and
// field set, subscriptions first, then the closed loop.
std::vector<ShareDecision> RouteReferralEvent(const PartnerPolicy& policy,
                                              const v1::EventEnvelope& envelope,
                                              const ReferralContext& context,
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
// (consent given, assessment complete) only shares with a basis other than
// consent may be made. The decision is kept without its person id.
ReferralContext ContextOf(const v1::ReferralTriaged& decision);

// The provider of an advocacy event's assignment named in the event itself
// (AdvocateOffered, WaitlistAssigned); empty otherwise.
std::string ProviderNamedBy(const v1::EventEnvelope& envelope);
// The assignment an advocacy event is about; empty for other events.
std::string AssignmentOf(const v1::EventEnvelope& envelope);

}  // namespace signpost::notification
