// Triage's decision engine: the default routing policy's rules (see
// docs/policy.md) as plain C++ over coded referral facts. Every rule that
// fires adds its id and a short human reason to the decision. The gRPC and
// Kafka code only adapt to this. Thread-safe (pure functions).
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::triage {

// Policy parameters; defaults are the shipped default policy.
struct TriagePolicy {
  std::string version = "signpost-default/1";
  int high_threshold = 14;
  int medium_threshold = 10;
  int marac_threshold = 14;
  int escalation_incidents = 3;
  int repeat_marac_days = 365;
  int sarc_window_days = 7;
  int stalking_high_threshold = 6;
};

// What triage remembers about the linked victim.
struct VictimHistory {
  // Incident time of the victim's most recent referral that went to MARAC.
  std::optional<absl::Time> last_marac_referral;
};

inline constexpr char kLegalBasisSafeguarding[] = "DPA2018-SCH1-PARA18";

// The incident time used for repeat-MARAC: the offence time if known,
// otherwise the report time.
absl::Time IncidentTime(const v1::ReferralFacts& facts);

// Applies every rule of `policy` to `facts`. The result's `reasons` cite the
// rule ids that fired, in evaluation order.
v1::ReferralTriaged Decide(const TriagePolicy& policy,
                           const v1::ReferralFacts& facts,
                           const VictimHistory& history);

}  // namespace signpost::triage
