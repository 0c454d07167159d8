// Victim notice rows (victim_notices): SQL and row mapping only, inside the
// caller's transaction. A row holds the notice's kind, status, channel and
// times, never the victim's address. Thread-safe (stateless).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "signpost/v1/common.pb.h"

namespace signpost::intake {

// PENDING (to plan), HELD (until a safe time), SENT, SUPPRESSED (never:
// `reason` says why), FAILED (the gateway refused it at the retry limit).
inline constexpr char kNoticePending[] = "PENDING";
inline constexpr char kNoticeHeld[] = "HELD";
inline constexpr char kNoticeSent[] = "SENT";
inline constexpr char kNoticeSuppressed[] = "SUPPRESSED";
inline constexpr char kNoticeFailed[] = "FAILED";

struct NoticeRow {
  ReferralId referral_id;
  std::string kind;  // NoticeKindName
  std::string status = kNoticePending;
  v1::ContactChannel channel = v1::CONTACT_CHANNEL_UNSPECIFIED;
  absl::Time due_at;
  int attempts = 0;
  std::string reason;
  absl::Time created_at;
  std::optional<absl::Time> sent_at;
};

class NoticeStore {
 public:
  // Adds the notice unless the referral has one of that kind already.
  // True when it was added.
  absl::StatusOr<bool> Add(store::Tx& tx, const NoticeRow& row) const;
  absl::Status Update(store::Tx& tx, const NoticeRow& row) const;
  // PENDING or HELD notices due at or before `now`, earliest first.
  absl::StatusOr<std::vector<NoticeRow>> Due(store::Tx& tx, absl::Time now,
                                             int limit) const;
  // The earliest due time of any PENDING or HELD notice.
  absl::StatusOr<std::optional<absl::Time>> NextDue(store::Tx& tx) const;
  absl::StatusOr<std::optional<NoticeRow>> Find(store::Tx& tx,
                                                const ReferralId& referral_id,
                                                const std::string& kind) const;
  // Oldest first.
  absl::StatusOr<std::vector<NoticeRow>> OfReferral(
      store::Tx& tx, const ReferralId& referral_id) const;
};

}  // namespace signpost::intake
