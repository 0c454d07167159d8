// Triage's store: the coded facts of each referral, every decision version,
// practitioner overrides, and its own record of MARAC referrals per linked
// victim (for MARAC-REPEAT). Each decision, its history and its event commit
// in one transaction; event-driven work is guarded by the inbox.
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/triage/rules.h"
#include "signpost/v1/triage.pb.h"

namespace signpost::triage {

class TriageStore {
 public:
  explicit TriageStore(store::Database& db) : db_(db) {}
  static std::vector<std::string> Migrations();

  // Decides and records the triage of a ReferralReceived event, exactly once
  // per event id. Returns the decision (nullopt when already processed).
  absl::StatusOr<std::optional<v1::ReferralTriaged>> TriageReceived(
      const Policy& policy, const events::IncomingEvent& event);

  // A new version from new assessment facts; emits ReferralReassessed.
  // NOT_FOUND for an unknown referral.
  absl::StatusOr<v1::DecisionVersion> Reassess(
      const Policy& policy, const v1::ReassessRequest& request,
      const std::string& traceparent);

  // A practitioner's judgement; raises only (FAILED_PRECONDITION PJ-RAISE
  // otherwise). Emits RiskOverridden and ReferralReassessed.
  absl::StatusOr<v1::DecisionVersion> OverrideRisk(
      const Policy& policy, const v1::OverrideRiskRequest& request,
      const std::string& traceparent);

  // Latest decision and full history; NOT_FOUND when none.
  absl::StatusOr<v1::GetDecisionResponse> GetDecision(
      const std::string& referral_id);

  absl::StatusOr<v1::ListMaracAgendaResponse> ListMaracAgenda(
      const std::string& area_code);

 private:
  store::Database& db_;
};

}  // namespace signpost::triage
