// Triage's store: SQL and row mapping only. It keeps the coded facts of each
// referral with the practitioner override in force, every decision version
// (with the override's free-text reason, which never leaves this store), and
// its own record of each linked victim's referrals (for MARAC-REPEAT and
// MARAC-ESCALATION). Every method works inside the caller's transaction.
// Thread-safe (stateless; the Tx is the caller's).
#pragma once

#include <optional>
#include <string>
#include <utility>
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
// Consent given or withdrawn after submission (ConsentUpdated).
inline constexpr char kCauseConsent[] = "CONSENT";
// The referral withdrawn or cancelled (ReferralWithdrawn).
inline constexpr char kCauseWithdrawn[] = "WITHDRAWN";

// The `override_reason` column's format: sealed with the person's data key
// (crypto::kSealedFieldFormat), or "" for plaintext written before sealing
// (still read as it is).
inline constexpr char kOverrideReasonColumn[] = "override_reason";

// A free-text value as the store holds it: sealed bytes and their format,
// or plaintext with format "".
struct StoredText {
  std::string value;
  std::string format;
};

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
  // Free text, kept here only (sealed: the app seals it before InsertDecision
  // and opens it after reading).
  StoredText override_reason;
  std::string cause_event_id;  // the consumed event, if any
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
  // What OutboxService must never replay (store::ReplaySelection::guard):
  // a decision made before the referral's latest withdrawal (or erasure),
  // which would route it again; the withdrawal and later versions may be.
  static constexpr char kReplayGuard[] =
      "NOT (event_type IN ('signpost.v1.ReferralTriaged', "
      "'signpost.v1.ReferralReassessed') AND created_at_ms < COALESCE((SELECT "
      "MAX(d.decided_at_ms) FROM decisions d WHERE d.referral_id = "
      "outbox.referral_id AND d.cause = 'WITHDRAWN'), 0))";

  // The history lookups' SQL (named for the tests that check their plans
  // and how many index entries they read, which must not grow with the
  // victim's history).
  // ?1 victim, ?2 referral excluded, ?3 incident ms: the latest MARAC
  // referral's incident time at or before it.
  static constexpr char kLastMaracSql[] =
      "SELECT MAX(incident_time_ms) FROM victim_history WHERE "
      "victim_ref = ?1 AND marac = 1 AND incident_time_ms <= ?3 AND "
      "referral_id != ?2";
  // ?1 victim, ?2 ms: how many of the victim's domestic-abuse rows have an
  // incident at or before ?2 (the last one's da_seq; no row when none).
  static constexpr char kDaPositionSql[] =
      "SELECT da_seq FROM victim_history WHERE victim_ref = ?1 AND "
      "domestic_abuse = 1 AND incident_time_ms <= ?2 "
      "ORDER BY incident_time_ms DESC, da_seq DESC LIMIT 1";

  // What Signpost has seen of the victim of `facts` before its incident
  // (`referral_id` itself excluded). Empty when the victim is not linked.
  // Reads a fixed number of index entries, however long the history.
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
  // the victim is not linked. Keeps the victim's da_seq numbering: a
  // referral recorded out of incident order renumbers the later ones.
  absl::Status RecordVictimReferral(store::Tx& tx,
                                    const ReferralId& referral_id,
                                    const v1::ReferralFacts& facts,
                                    bool marac) const;

  // The override reasons of the referral's versions that have one, by
  // version, as stored.
  absl::StatusOr<std::vector<std::pair<int, StoredText>>> ListOverrideReasons(
      store::Tx& tx, const ReferralId& referral_id) const;

  // Erasure: blanks every override reason of the referral and removes the
  // person from its stored facts (so no later version re-links it). Returns
  // how many reasons were blanked.
  absl::StatusOr<int> EraseReferralFreeText(
      store::Tx& tx, const ReferralId& referral_id) const;
  // Erasure: deletes the person's victim history (the pseudonym index).
  // Returns how many rows went.
  absl::StatusOr<int> DeleteVictimHistory(store::Tx& tx,
                                          const std::string& person_id) const;

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
