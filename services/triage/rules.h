// Triage's decision engine: every rule of the routing policy (docs/policy.md)
// as plain C++ over coded referral facts and a loaded Policy. Every rule that
// fires adds its id and a short human reason to the decision. The gRPC and
// Kafka code only adapt to this. Refusals are errors::RuleViolation naming
// the rule. Thread-safe (pure functions).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/triage/policy.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::triage {

// What triage remembers about the linked victim.
struct VictimHistory {
  // Incident time of the victim's most recent referral that went to MARAC.
  std::optional<absl::Time> last_marac_referral;
  // Domestic-abuse referrals of this victim Signpost has seen in the 12
  // months before this incident (this one excluded).
  int earlier_da_referrals_12_months = 0;
};

// A practitioner's professional-judgement override (raises only).
struct RiskOverride {
  v1::RiskLevel risk = v1::RISK_LEVEL_UNSPECIFIED;
  std::string practitioner_id;
};

// The incident time used for MARAC-REPEAT: the latest incident from a
// reassessment, else the offence time, else the report time.
absl::Time IncidentTime(const v1::ReferralFacts& facts);

// Applies every rule of `policy` to `facts`. The result's `reasons` cite the
// rule ids that fired, in evaluation order; deadlines are absolute.
v1::ReferralTriaged Decide(const Policy& policy, const v1::ReferralFacts& facts,
                           const VictimHistory& history,
                           const RiskOverride* override_risk = nullptr);

// REFERRAL-WITHDRAWN: once a referral's facts record a withdrawal (consent
// withdrawn, cancelled or erased) a practitioner can no longer reassess it
// or override its risk: FAILED_PRECONDITION naming REFERRAL-WITHDRAWN.
absl::Status RequireNotWithdrawn(const v1::ReferralFacts& facts);

// PJ-RAISE for a practitioner's override: professional judgement only
// raises. A `requested` risk below `current`'s is refused with
// FAILED_PRECONDITION naming PJ-RAISE (and the rule behind the current risk).
// Otherwise returns the override in force from now on: the higher of
// `in_force` and `requested`, judged by `practitioner_id`.
absl::StatusOr<RiskOverride> ApplyOverride(const v1::ReferralTriaged& current,
                                           const RiskOverride& in_force,
                                           v1::RiskLevel requested,
                                           absl::string_view practitioner_id);

}  // namespace signpost::triage
