// A referral's life in intake after submission, in plain code: the states,
// the actions that move it, and how a consent change applies. Pure domain
// code: no gRPC, no SQLite. Thread-safe (pure).
//
//   ACTIVE    --update consent, RJ consent-->  ACTIVE
//   ACTIVE    --withdraw referral consent-->   WITHDRAWN
//   ACTIVE    --cancel-->                      CANCELLED
//   LINKED    --cancel-->                      CANCELLED
//   any state but ERASED --erase-->            ERASED
//
// A linked referral is not routed: consent is recorded on the referral it
// joined (REFERRAL-LINKED names it). WITHDRAWN, CANCELLED and ERASED are
// final: a refused action is FAILED_PRECONDITION REFERRAL-LIFECYCLE.
#pragma once

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids/ids.h"
#include "signpost/v1/common.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::intake {

inline constexpr char kLifecycleRule[] = "REFERRAL-LIFECYCLE";
inline constexpr char kLinkedRule[] = "REFERRAL-LINKED";

enum class ReferralAction {
  kUpdateConsent,    // given, or withdrawn for one pathway
  kWithdrawConsent,  // the referral's consent as a whole withdrawn
  kRecordRjConsent,
  kCancel,
  kErase,
};

struct LifecycleTransition {
  v1::ReferralLifecycle from;
  ReferralAction action;
  v1::ReferralLifecycle to;
  auto operator<=>(const LifecycleTransition&) const = default;
};

// Every legal transition.
const std::set<LifecycleTransition>& LegalLifecycleTransitions();
std::string ReferralActionName(ReferralAction action);

// The state `action` leads to from `from`, or FAILED_PRECONDITION naming
// REFERRAL-LINKED (a linked referral's consent: act on `linked_to`) or
// REFERRAL-LIFECYCLE.
absl::StatusOr<v1::ReferralLifecycle> NextLifecycle(
    v1::ReferralLifecycle from, ReferralAction action,
    const ReferralId& referral_id, const ReferralId& linked_to);

// A consent change: the referral as a whole (pathway and party both
// UNSPECIFIED), one pathway, or one RJ party.
struct ConsentChange {
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  v1::RjParty party = v1::RJ_PARTY_UNSPECIFIED;
  v1::ConsentStatus status = v1::CONSENT_STATUS_UNSPECIFIED;
};

// INVALID_ARGUMENT naming every bad field (`status` must be GIVEN or
// WITHDRAWN, or REFUSED for an RJ party; `pathway` and `party` known
// values).
absl::Status ValidateConsentChange(const ConsentChange& change, bool rj);
// The action a valid change is (kWithdrawConsent for the referral's own
// consent withdrawn).
ReferralAction ActionFor(const ConsentChange& change);
// Applies a valid change to `consent`. A victim's RJ consent given also
// records that RJ is requested.
void ApplyConsent(const ConsentChange& change, v1::Consent* consent);

// INVALID_ARGUMENT naming `reason` unless it is a known reason a referrer
// cancels with (not CONSENT_WITHDRAWN: that is UpdateConsent).
absl::Status ValidateCancelReason(v1::WithdrawalReason reason);

}  // namespace signpost::intake
