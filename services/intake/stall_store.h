// Referral progress for stall detection (stalls.h): columns of intake's
// referrals table, SQL and row mapping only, inside the caller's
// transaction. Ids, codes and times only. Thread-safe (stateless).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/intake/stalls.h"

namespace signpost::intake {

// ListStalled pages by (received_at, referral_id).
inline constexpr paging::KeyKind kStalledKeys[] = {paging::KeyKind::kInt,
                                                   paging::KeyKind::kText};
inline constexpr paging::Listing kStalledListing{"ListStalled", kStalledKeys};

class StallStore {
 public:
  // The progress of an active referral (not linked, withdrawn, cancelled
  // or erased); nullopt otherwise.
  absl::StatusOr<std::optional<Progress>> FindActive(
      store::Tx& tx, const ReferralId& referral_id) const;
  absl::Status Save(store::Tx& tx, const Progress& p) const;
  // Active referrals stuck at `now` (untriaged since `after`, or owed
  // routing since `after`) whose report is due: never made at this stage,
  // or `interval` old. At most `limit`, oldest first.
  absl::StatusOr<std::vector<Progress>> ReportsDue(store::Tx& tx,
                                                   absl::Time now,
                                                   absl::Duration after,
                                                   absl::Duration interval,
                                                   int limit) const;
  // Every active referral stuck at `now`, of `area_code` (empty: every
  // area), oldest first.
  absl::StatusOr<paging::Page<Progress>> ListStuck(
      store::Tx& tx, const std::string& area_code, absl::Time now,
      absl::Duration after, const paging::PageRequest& page) const;
};

}  // namespace signpost::intake
