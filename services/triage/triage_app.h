// Triage's application layer: one use case per method, each in one
// transaction that loads (TriageStore), decides (rules.h), persists and
// emits its events through the outbox. ReferralReceived runs in the event
// consumer's transaction (the consumer has claimed the inbox); the API's use
// cases open their own. Callers wake the outbox relay after a commit.
// Thread-safe (the database serialises transactions; the policy is an
// immutable snapshot).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/access/authz.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/triage/policy.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"
#include "signpost/v1/triage.pb.h"

namespace signpost::triage {

// ListMaracAgenda pages by (decided_at, referral_id).
inline constexpr paging::KeyKind kMaracAgendaKeys[] = {paging::KeyKind::kInt,
                                                       paging::KeyKind::kText};
inline constexpr paging::Listing kMaracAgendaListing{"ListMaracAgenda",
                                                     kMaracAgendaKeys};

// New assessment facts from a practitioner.
struct Reassessment {
  ReferralId referral_id;
  v1::Assessment assessment;  // replaces the referral's assessment
  std::optional<google::protobuf::Timestamp> new_incident_time;
  std::string practitioner_id;
};

// A practitioner's professional judgement of the risk.
struct RiskJudgement {
  ReferralId referral_id;
  v1::RiskLevel risk = v1::RISK_LEVEL_UNSPECIFIED;
  std::string practitioner_id;
  std::string reason;  // free text: stored, never emitted
};

class TriageApp {
 public:
  TriageApp(store::Database& db, std::shared_ptr<const Policy> policy)
      : db_(db), policy_(std::move(policy)) {}

  // Decides the first version for a ReferralReceived `received`, inside the
  // consumer's `tx`, and emits ReferralTriaged (caused by `received`).
  absl::StatusOr<v1::ReferralTriaged> TriageReceived(
      store::Tx& tx, const v1::EventEnvelope& received,
      const std::string& traceparent);

  // A new version from new facts; emits ReferralReassessed. NOT_FOUND for a
  // referral without a decision.
  // Referrer of the referral or operator (RequireReferralAccess).
  absl::StatusOr<v1::DecisionVersion> Reassess(const access::Principal& caller,
                                               const Reassessment& r,
                                               const std::string& traceparent);

  // A new version from a practitioner's judgement, which only raises
  // (FAILED_PRECONDITION naming PJ-RAISE otherwise, writing nothing). Emits
  // RiskOverridden and ReferralReassessed. NOT_FOUND as for Reassess.
  // Referrer of the referral, or the MARAC coordinator of its area.
  absl::StatusOr<v1::DecisionVersion> OverrideRisk(
      const access::Principal& caller, const RiskJudgement& j,
      const std::string& traceparent);

  // Every decision version, oldest first: for the referrer, the MARAC
  // coordinator and police of the referral's area, operators and auditors.
  // NOT_FOUND when there is none (to operators and auditors; others are
  // refused alike for unknown and not-theirs).
  absl::StatusOr<std::vector<v1::DecisionVersion>> GetDecision(
      const access::Principal& caller, const ReferralId& referral_id);

  // One page of the area's referrals heading for MARAC, oldest decision
  // first (kMaracAgendaListing), each with the MARAC-* reasons that sent it.
  // A MARAC coordinator sees its own areas only (AUTHZ-OWN-AREA).
  absl::StatusOr<paging::Page<v1::MaracAgendaItem>> ListMaracAgenda(
      const access::Principal& caller, const std::string& area_code,
      const paging::PageRequest& page = {});

 private:
  // Loads the referral's record for `caller` under `rule`; an unknown
  // referral is refused as RequireReferralAccess says.
  absl::StatusOr<ReferralRecord> LoadReferral(store::Tx& tx,
                                              const access::Principal& caller,
                                              const access::ReferralRule& rule,
                                              const ReferralId& referral_id);
  // Decides the next version of `referral` (its facts as they now stand,
  // its latest decision the previous version) under `override_risk`.
  absl::StatusOr<v1::ReferralTriaged> DecideNextVersion(
      store::Tx& tx, const ReferralId& referral_id,
      const ReferralRecord& referral, const RiskOverride& override_risk);
  // Persists `record` (a version after `referral.latest`) and emits `audit`
  // (if set), then ReferralReassessed (caused by `audit`).
  absl::StatusOr<v1::DecisionVersion> RecordNewVersion(
      store::Tx& tx, const ReferralId& referral_id,
      const ReferralRecord& referral, const DecisionRecord& record,
      v1::EventEnvelope* audit, const std::string& traceparent);

  store::Database& db_;
  const std::shared_ptr<const Policy> policy_;
  TriageStore store_;
};

}  // namespace signpost::triage
