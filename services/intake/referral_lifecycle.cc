#include "services/intake/referral_lifecycle.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace signpost::intake {
namespace {

using v1::ReferralLifecycle;
constexpr ReferralLifecycle kActive = v1::REFERRAL_LIFECYCLE_ACTIVE;
constexpr ReferralLifecycle kLinked = v1::REFERRAL_LIFECYCLE_LINKED;
constexpr ReferralLifecycle kWithdrawn = v1::REFERRAL_LIFECYCLE_WITHDRAWN;
constexpr ReferralLifecycle kCancelled = v1::REFERRAL_LIFECYCLE_CANCELLED;
constexpr ReferralLifecycle kErased = v1::REFERRAL_LIFECYCLE_ERASED;

}  // namespace

const std::set<LifecycleTransition>& LegalLifecycleTransitions() {
  static const auto* table = new std::set<LifecycleTransition>{
      {kActive, ReferralAction::kUpdateConsent, kActive},
      {kActive, ReferralAction::kRecordRjConsent, kActive},
      {kActive, ReferralAction::kWithdrawConsent, kWithdrawn},
      {kActive, ReferralAction::kCancel, kCancelled},
      {kLinked, ReferralAction::kCancel, kCancelled},
      {kActive, ReferralAction::kErase, kErased},
      {kLinked, ReferralAction::kErase, kErased},
      {kWithdrawn, ReferralAction::kErase, kErased},
      {kCancelled, ReferralAction::kErase, kErased},
  };
  return *table;
}

std::string ReferralActionName(ReferralAction action) {
  switch (action) {
    case ReferralAction::kUpdateConsent:
      return "update the consent of";
    case ReferralAction::kWithdrawConsent:
      return "withdraw the consent of";
    case ReferralAction::kRecordRjConsent:
      return "record restorative-justice consent on";
    case ReferralAction::kCancel:
      return "cancel";
    case ReferralAction::kErase:
      return "erase";
  }
  return "act on";
}

absl::StatusOr<v1::ReferralLifecycle> NextLifecycle(
    v1::ReferralLifecycle from, ReferralAction action,
    const ReferralId& referral_id, const ReferralId& linked_to) {
  for (const LifecycleTransition& t : LegalLifecycleTransitions()) {
    if (t.from == from && t.action == action) return t.to;
  }
  if (from == kLinked) {
    return errors::RuleViolation(
        kLinkedRule, "referral_id",
        absl::StrCat("referral ", referral_id.value(),
                     " is linked to referral ", linked_to.value(),
                     " (the same person and incident); ",
                     ReferralActionName(action), " that referral instead"));
  }
  return errors::RuleViolation(
      kLifecycleRule, "referral_id",
      absl::StrCat("cannot ", ReferralActionName(action),
                   " a referral that is ", v1::ReferralLifecycle_Name(from)));
}

absl::Status ValidateConsentChange(const ConsentChange& change, bool rj) {
  errors::FieldErrors errors;
  const bool status_ok = change.status == v1::CONSENT_STATUS_GIVEN ||
                         change.status == v1::CONSENT_STATUS_WITHDRAWN ||
                         (rj && change.status == v1::CONSENT_STATUS_REFUSED);
  if (!status_ok) {
    errors.Add("status", rj ? "must be GIVEN, REFUSED or WITHDRAWN"
                            : "must be GIVEN or WITHDRAWN");
  }
  if (!v1::Pathway_IsValid(change.pathway)) {
    errors.Add("pathway", "is not a known pathway");
  }
  if (rj && (change.party == v1::RJ_PARTY_UNSPECIFIED ||
             !v1::RjParty_IsValid(change.party))) {
    errors.Add("party", "must be VICTIM or OFFENDER");
  }
  return errors.ToStatus();
}

ReferralAction ActionFor(const ConsentChange& change) {
  if (change.party != v1::RJ_PARTY_UNSPECIFIED) {
    return ReferralAction::kRecordRjConsent;
  }
  if (change.pathway == v1::PATHWAY_UNSPECIFIED &&
      change.status == v1::CONSENT_STATUS_WITHDRAWN) {
    return ReferralAction::kWithdrawConsent;
  }
  return ReferralAction::kUpdateConsent;
}

void ApplyConsent(const ConsentChange& change, v1::Consent* consent) {
  if (change.party == v1::RJ_PARTY_VICTIM) {
    consent->set_rj_victim_consent(change.status);
    if (change.status == v1::CONSENT_STATUS_GIVEN) {
      consent->set_rj_requested(true);
    }
    return;
  }
  if (change.party == v1::RJ_PARTY_OFFENDER) {
    consent->set_rj_offender_consent(change.status);
    return;
  }
  if (change.pathway == v1::PATHWAY_UNSPECIFIED) {
    consent->set_referral_consent(change.status);
    return;
  }
  for (v1::PathwayConsent& p : *consent->mutable_pathway_consents()) {
    if (p.pathway() == change.pathway) {
      p.set_status(change.status);
      return;
    }
  }
  v1::PathwayConsent* added = consent->add_pathway_consents();
  added->set_pathway(change.pathway);
  added->set_status(change.status);
}

absl::Status ValidateCancelReason(v1::WithdrawalReason reason) {
  if (reason == v1::WITHDRAWAL_REASON_UNSPECIFIED ||
      reason == v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN ||
      reason == v1::WITHDRAWAL_REASON_ERASED ||
      !v1::WithdrawalReason_IsValid(reason)) {
    return errors::FieldError(
        "reason",
        "must be ENTERED_IN_ERROR, DUPLICATE, VICTIM_DECLINED or OTHER "
        "(consent withdrawn is UpdateConsent)");
  }
  return absl::OkStatus();
}

}  // namespace signpost::intake
