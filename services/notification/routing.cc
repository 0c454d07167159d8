#include "services/notification/routing.h"

#include <algorithm>
#include <map>
#include <utility>

#include "services/notification/projection.h"

namespace signpost::notification {
namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Whether `share` of agency `agency` covers the referral this event is about
// (its scope).
bool InScope(const PartnerPolicy& policy, const AgencyPolicy& agency,
             const v1::Share& share, const ReferralContext& context,
             const ReferralAudience& audience) {
  switch (share.scope()) {
    case v1::SHARE_SCOPE_AREA:
      return true;
    case v1::SHARE_SCOPE_MARAC:
      return context.marac;
    case v1::SHARE_SCOPE_OWN_ASSIGNMENTS: {
      if (audience.event_has_assignment) {
        // That assignment's provider, or nobody (a waitlisted assignment
        // has none).
        return !audience.event_provider.empty() &&
               policy.AgencyOfProvider(audience.event_provider) ==
                   agency.agency_id;
      }
      for (const std::string& provider : audience.providers) {
        if (policy.AgencyOfProvider(provider) == agency.agency_id) return true;
      }
      return false;
    }
    default:
      return false;  // deny by default
  }
}

// Empty when `basis` holds for the referral; otherwise the refusing rule.
std::string BasisRefusal(v1::LegalBasis basis, const ReferralContext& context) {
  switch (basis) {
    case v1::LEGAL_BASIS_CONSENT:
      return context.consent_required ? "SHARE-NO-CONSENT" : "";
    case v1::LEGAL_BASIS_MARAC_SAFEGUARDING:
      return context.marac ? "" : "SHARE-NO-MARAC";
    case v1::LEGAL_BASIS_SAFEGUARDING:
      return context.marac || context.decision.safeguarding_notification()
                 ? ""
                 : "SHARE-NO-SAFEGUARDING";
    case v1::LEGAL_BASIS_LAW_ENFORCEMENT:
    case v1::LEGAL_BASIS_PUBLIC_TASK:
      return "";
    default:
      return "SHARE-NO-BASIS";
  }
}

class Decisions {
 public:
  // One decision per agency and field set: the first made, or else the
  // first refused (a later share whose basis holds replaces a refusal).
  void Add(ShareDecision decision) {
    auto key = std::make_pair(decision.agency_id, decision.field_set);
    auto [it, added] = index_.emplace(key, out_.size());
    if (added) {
      out_.push_back(std::move(decision));
    } else if (!out_[it->second].refusal_rule.empty() &&
               decision.refusal_rule.empty()) {
      out_[it->second] = std::move(decision);
    }
  }
  std::vector<ShareDecision> Take() { return std::move(out_); }

 private:
  std::map<std::pair<std::string, v1::FieldSet>, size_t> index_;
  std::vector<ShareDecision> out_;
};

}  // namespace

bool IsReferrerOutcome(const std::string& event_type) {
  static const auto* types = new std::set<std::string>({
      "signpost.v1.ReferralReceived",
      "signpost.v1.ReferralTriaged",
      "signpost.v1.ReferralReassessed",
      "signpost.v1.ReferralWaitlisted",
      "signpost.v1.ServiceOffered",
      "signpost.v1.AssignmentAccepted",
      "signpost.v1.FirstContactRecorded",
      "signpost.v1.ContactAttemptFailed",
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

bool EndsAssignment(const v1::EventEnvelope& e) {
  return e.has_assignment_declined() || e.has_offer_expired() ||
         e.has_assignment_released() || e.has_case_closed();
}

std::vector<ShareDecision> RouteReferralEvent(
    const PartnerPolicy& policy, const v1::EventEnvelope& envelope,
    const ReferralContext& context, const ReferralAudience& audience) {
  const std::string& type = envelope.type();
  const std::string& referral_id = envelope.referral_id();
  Decisions decisions;
  if (PartnerTypeOf(type).empty()) return {};

  if (type == "signpost.v1.ReferralWithdrawn") {
    // Everyone told about the referral, as they were told, and nobody else:
    // a withdrawal forbids new sharing.
    for (const ToldShare& t : audience.told) {
      if (!CanCarry(t.field_set, type)) continue;
      if (!t.linked_referral_id.empty() &&
          std::none_of(audience.linked_referrers.begin(),
                       audience.linked_referrers.end(),
                       [&](const LinkedReferrer& l) {
                         return l.agency_id == t.agency_id &&
                                l.linked_referral_id == t.partner_referral_id;
                       })) {
        continue;  // its referral was unlinked: not its business any more
      }
      decisions.Add({t.agency_id, t.field_set, t.basis, "",
                     t.partner_referral_id, t.linked_referral_id});
    }
    return decisions.Take();
  }

  for (const AgencyPolicy& agency : policy.agencies()) {
    if (!Contains(agency.areas, context.area_code)) continue;
    for (const v1::Share& share : agency.shares) {
      if (!Contains(share.event_types(), type)) continue;
      if (!InScope(policy, agency, share, context, audience)) continue;
      std::string refusal = BasisRefusal(share.legal_basis(), context);
      v1::LegalBasis basis = share.legal_basis();
      if (!refusal.empty() && IsStopNotice(type)) {
        // Already told in this set: it hears that support stopped, on the
        // basis of its original share (nothing new is shared).
        for (const ToldShare& t : audience.told) {
          if (t.agency_id == agency.agency_id &&
              t.field_set == share.field_set()) {
            refusal.clear();
            basis = t.basis;
            break;
          }
        }
      }
      decisions.Add({agency.agency_id, share.field_set(), basis, refusal,
                     referral_id, ""});
    }
  }

  if (envelope.has_marac_action_allocated()) {
    // The agency a MARAC meeting allocated an action to, whether or not it
    // subscribes: in the MARAC set, on the basis MARAC shares rest on.
    const std::string& agency = envelope.marac_action_allocated().agency_id();
    if (policy.IsRegistered(agency)) {
      decisions.Add({agency, v1::FIELD_SET_MARAC,
                     v1::LEGAL_BASIS_MARAC_SAFEGUARDING,
                     BasisRefusal(v1::LEGAL_BASIS_MARAC_SAFEGUARDING, context),
                     referral_id, ""});
    }
  }
  if (envelope.has_referral_linked()) {
    // The later referral's referrer learns its referral joined this one.
    const std::string& referrer = envelope.referral_linked().referrer_agency();
    if (policy.IsRegistered(referrer)) {
      decisions.Add({referrer, v1::FIELD_SET_REFERRER_OUTCOME,
                     v1::LEGAL_BASIS_OWN_REFERRAL, "",
                     envelope.referral_linked().linked_referral_id(),
                     referral_id});
    }
  }
  if (IsReferrerOutcome(type)) {
    if (policy.IsRegistered(audience.referrer_agency)) {
      decisions.Add({audience.referrer_agency, v1::FIELD_SET_REFERRER_OUTCOME,
                     v1::LEGAL_BASIS_OWN_REFERRAL, "", referral_id, ""});
    }
    for (const LinkedReferrer& linked : audience.linked_referrers) {
      if (!policy.IsRegistered(linked.agency_id)) continue;
      decisions.Add({linked.agency_id, v1::FIELD_SET_REFERRER_OUTCOME,
                     v1::LEGAL_BASIS_OWN_REFERRAL, "",
                     linked.linked_referral_id, referral_id});
    }
  }
  return decisions.Take();
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
  ReferralContext context{decision.area_code(),
                          decision.status() != v1::REFERRAL_STATUS_ROUTED,
                          decision.marac(), decision.legal_basis(), decision};
  // Notification needs neither the person nor the victim's safe-contact
  // rules and preferred specialisms: they are not kept.
  context.decision.clear_person_id();
  context.decision.clear_contact_rules();
  context.decision.clear_preferred_specialisms();
  return context;
}

std::string ProviderNamedBy(const v1::EventEnvelope& envelope) {
  if (envelope.has_advocate_offered()) {
    return envelope.advocate_offered().provider_id();
  }
  if (envelope.has_waitlist_assigned()) {
    return envelope.waitlist_assigned().provider_id();
  }
  if (envelope.has_service_offered()) {
    return envelope.service_offered().provider_id();
  }
  return "";
}

std::string AssignmentOf(const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kAdvocateOffered:
      return e.advocate_offered().assignment_id();
    case v1::EventEnvelope::kWaitlistAssigned:
      return e.waitlist_assigned().assignment_id();
    case v1::EventEnvelope::kServiceOffered:
      return e.service_offered().assignment_id();
    case v1::EventEnvelope::kDeadlineApproaching:
      return e.deadline_approaching().assignment_id();
    case v1::EventEnvelope::kDeadlineMissed:
      return e.deadline_missed().assignment_id();
    case v1::EventEnvelope::kReferralWaitlisted:
      return e.referral_waitlisted().assignment_id();
    case v1::EventEnvelope::kAssignmentAccepted:
      return e.assignment_accepted().assignment_id();
    case v1::EventEnvelope::kAssignmentDeclined:
      return e.assignment_declined().assignment_id();
    case v1::EventEnvelope::kOfferExpired:
      return e.offer_expired().assignment_id();
    case v1::EventEnvelope::kFirstContactRecorded:
      return e.first_contact_recorded().assignment_id();
    case v1::EventEnvelope::kContactAttemptFailed:
      return e.contact_attempt_failed().assignment_id();
    case v1::EventEnvelope::kCaseClosed:
      return e.case_closed().assignment_id();
    case v1::EventEnvelope::kAssignmentReleased:
      return e.assignment_released().assignment_id();
    default:
      return "";
  }
}

}  // namespace signpost::notification
