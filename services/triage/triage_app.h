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
  absl::StatusOr<v1::DecisionVersion> Reassess(const Reassessment& r,
                                               const std::string& traceparent);

  // A new version from a practitioner's judgement, which only raises
  // (FAILED_PRECONDITION naming PJ-RAISE otherwise, writing nothing). Emits
  // RiskOverridden and ReferralReassessed. NOT_FOUND as for Reassess.
  absl::StatusOr<v1::DecisionVersion> OverrideRisk(
      const RiskJudgement& j, const std::string& traceparent);

  // Every decision version, oldest first; NOT_FOUND when there is none.
  absl::StatusOr<std::vector<v1::DecisionVersion>> GetDecision(
      const ReferralId& referral_id);

  // One page of the area's referrals heading for MARAC, oldest decision
  // first (kMaracAgendaListing), each with the MARAC-* reasons that sent it.
  absl::StatusOr<paging::Page<v1::MaracAgendaItem>> ListMaracAgenda(
      const std::string& area_code, const paging::PageRequest& page = {});

 private:
  // Loads the referral's record; NOT_FOUND when triage has no decision.
  absl::StatusOr<ReferralRecord> LoadReferral(store::Tx& tx,
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
