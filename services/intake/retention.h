// How long a person's data is kept (the area's retention policy), in plain
// code: no gRPC, no SQLite. Thread-safe (pure).
//
// A person's retention clock starts when the last of their referrals closes:
// its last assignment closed, it was withdrawn or cancelled, or triage's
// decision left nobody holding it (consent required, service pathways
// only). An offer or a waitlisting after that opens it again. A linked
// referral follows the one it joined. The timer falls due at that closure
// plus the years of the latest closed referral's area. A new referral stops
// the clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/policy.pb.h"

namespace signpost::intake {

// Loads and checks a policy file: every problem named with its field.
absl::StatusOr<v1::RetentionPolicy> LoadRetentionPolicy(
    const std::string& path);
// INVALID_ARGUMENT naming every bad field.
absl::Status ValidateRetentionPolicy(const v1::RetentionPolicy& policy);

// The closure time plus the area's period (years, or days where set).
absl::Time RetentionEnd(const v1::RetentionPolicy& policy,
                        const std::string& area_code, absl::Time closed_at);

// When the person's data falls due for erasure, or nullopt while any of
// their referrals is still open.
std::optional<absl::Time> RetentionDue(
    const v1::RetentionPolicy& policy,
    const std::vector<PersonReferral>& referrals);

}  // namespace signpost::intake
