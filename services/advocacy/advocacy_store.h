// Advocacy's store: the schema of its SQLite database. The SQL and row
// mapping live in DirectoryStore (providers, advocates and their live
// caseloads) and AssignmentStore (assignments, their history, routed
// referrals). Every change, its capacity bookkeeping and its events commit in
// one transaction that the application opens, so capacity is never
// overbooked and nothing is half-written. Offer deadlines are rows, so they
// survive restarts. Thread-safe (pure).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"
#include "common/store/database.h"
#include "services/advocacy/assignment_store.h"
#include "services/advocacy/directory_store.h"

namespace signpost::advocacy {

class AdvocacyStore {
 public:
  // The schema, one migration per version (for store::Database::Open).
  static std::vector<std::string> Migrations();
  // What OutboxService must never replay (store::ReplaySelection::guard):
  // anything of an erased referral.
  static constexpr char kReplayGuard[] =
      "referral_id NOT IN (SELECT referral_id FROM erased_referrals)";

  // Metrics, read at each scrape (codes only). Assignments waiting now,
  // by pathway.
  static absl::StatusOr<std::vector<metrics::Sample>> WaitlistDepth(
      store::Tx& tx);
  // Deadlines missed so far, by kind: FIRST_CONTACT and VCOP_REFERRAL
  // (each marked once, in its row).
  static absl::StatusOr<std::vector<metrics::Sample>> DeadlinesMissed(
      store::Tx& tx);
};

}  // namespace signpost::advocacy
