// Triage's figures store: SQL and row mapping only, over the coded columns
// and messages triage keeps (the facts' source and withdrawal code, the
// first decision's pathways). Works inside the caller's transaction.
// Thread-safe (stateless).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/database.h"
#include "signpost/v1/common.pb.h"

namespace signpost::triage {

// One referral as the figures see it: codes only.
struct ReceivedReferral {
  v1::ReferralSource source = v1::REFERRAL_SOURCE_UNSPECIFIED;
  v1::WithdrawalReason withdrawn = v1::WITHDRAWAL_REASON_UNSPECIFIED;
  // The pathways of its first decision (where it was routed on receipt).
  std::vector<v1::Pathway> pathways;
  bool marac = false;
};

// The referrals of `area_code` whose first decision was made in
// [from, to).
absl::StatusOr<std::vector<ReceivedReferral>> ReferralsReceived(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to);

}  // namespace signpost::triage
