// Advocacy's store: the advocate roster with live caseloads, assignments and
// waitlist entries per referral. Assigning happens in one transaction with
// the capacity check, so capacity is never overbooked. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/advocacy/matching.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

class AdvocacyStore {
 public:
  explicit AdvocacyStore(store::Database& db) : db_(db) {}
  static std::vector<std::string> Migrations();

  // Inserts or updates roster entries; live caseloads are kept.
  absl::Status UpsertRoster(const v1::Roster& roster);

  // Routes a ReferralTriaged event exactly once: one assignment or waitlist
  // entry per advocate pathway, with AdvocateAssigned / ReferralWaitlisted
  // events. Returns the number of outcome rows written (0 for a duplicate).
  absl::StatusOr<int> RouteTriaged(const events::IncomingEvent& event);

  absl::StatusOr<v1::GetReferralAssignmentsResponse> GetReferralAssignments(
      const std::string& referral_id);
  absl::StatusOr<std::vector<v1::Advocate>> ListAdvocates();

 private:
  store::Database& db_;
};

}  // namespace signpost::advocacy
