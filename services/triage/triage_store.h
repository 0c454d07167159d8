// Triage's store: decisions per referral (versioned) and its own record of
// MARAC referrals per linked victim, for MARAC-REPEAT. Recording a decision
// writes the decision, the victim history and ReferralTriaged in one
// transaction, guarded by the inbox. Thread-safe.
#pragma once

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
      const TriagePolicy& policy, const events::IncomingEvent& event);

  // The latest decision; NOT_FOUND when none.
  absl::StatusOr<v1::GetDecisionResponse> GetDecision(
      const std::string& referral_id);

 private:
  store::Database& db_;
};

}  // namespace signpost::triage
