// Triage's store: SQL and row mapping only. It keeps the coded facts of each
// referral with the practitioner override in force, every decision version
// (with the override's free-text reason, which never leaves this store), and
// its own record of each linked victim's referrals (for MARAC-REPEAT and
// MARAC-ESCALATION). Every method works inside the caller's transaction.
// Thread-safe (stateless; the Tx is the caller's).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/triage/rules.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"
#include "signpost/v1/triage.pb.h"

namespace signpost::triage {

// How a decision version came about (the `cause` column and API field).
inline constexpr char kCauseReceived[] = "RECEIVED";
inline constexpr char kCauseReassessment[] = "REASSESSMENT";
inline constexpr char kCauseOverride[] = "OVERRIDE";

// What triage holds for one referral: its facts, the override in force, and
// its latest decision.
struct ReferralRecord {
  v1::ReferralFacts facts;
  RiskOverride override_risk;
  v1::ReferralTriaged latest;
};

// One decision version as written.
struct DecisionRecord {
  v1::ReferralTriaged decision;  // its version() is the row's version
  absl::Time decided_at;         // millisecond precision (the column's)
  std::string cause;             // kCause*
  std::string practitioner_id;   // "" for RECEIVED
  std::string override_reason;   // free text: kept here only
  std::string cause_event_id;    // the consumed event, for RECEIVED
  // The authenticated agency the practitioner acted for ("" for RECEIVED).
  std::string practitioner_agency;
};

// A referral's latest decision, for the MARAC agenda.
struct LatestDecision {
  ReferralId referral_id;
  v1::ReferralTriaged decision;
  absl::Time decided_at;
};

class TriageStore {
 public:
  static std::vector<std::string> Migrations();

  // What Signpost has seen of the victim of `facts` before its incident
  // (`referral_id` itself excluded). Empty when the victim is not linked.
  absl::StatusOr<VictimHistory> LoadVictimHistory(
      store::Tx& tx, const ReferralId& referral_id,
      const v1::ReferralFacts& facts) const;

  // The referral's facts, override and latest decision; nullopt when triage
  // has no decision for it.
  absl::StatusOr<std::optional<ReferralRecord>> FindReferral(
      store::Tx& tx, const ReferralId& referral_id) const;

  // The first facts of a referral (replacing any left without a decision).
  absl::Status InsertFacts(store::Tx& tx, const ReferralId& referral_id,
                           const v1::ReferralFacts& facts) const;
  absl::Status UpdateFacts(store::Tx& tx, const ReferralId& referral_id,
                           const v1::ReferralFacts& facts) const;
  absl::Status UpdateOverride(store::Tx& tx, const ReferralId& referral_id,
                              const RiskOverride& override_risk) const;

  // Writes one decision version. ALREADY_EXISTS when that version exists.
  absl::Status InsertDecision(store::Tx& tx, const ReferralId& referral_id,
                              const DecisionRecord& record) const;

  // Records (or updates) the referral in its victim's history; nothing when
  // the victim is not linked.
  absl::Status RecordVictimReferral(store::Tx& tx,
                                    const ReferralId& referral_id,
                                    const v1::ReferralFacts& facts,
                                    bool marac) const;

  // Every decision version of the referral, oldest first (empty if none).
  absl::StatusOr<std::vector<v1::DecisionVersion>> ListDecisionVersions(
      store::Tx& tx, const ReferralId& referral_id) const;

  // One page of the area's referrals whose latest decision goes to MARAC,
  // oldest decision first, then by referral id; keys (decided_at_ms,
  // referral_id).
  absl::StatusOr<paging::Page<LatestDecision>> ListLatestMaracDecisions(
      store::Tx& tx, const std::string& area_code,
      const paging::PageRequest& page) const;
};

}  // namespace signpost::triage
