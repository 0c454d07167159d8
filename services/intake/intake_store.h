// Intake's store: referrals keyed by id and by idempotency key. The coded
// facts and the full referral (which holds personal data) are kept in
// separate columns; the latter is the part a later issue encrypts at rest.
// Submitting writes the referral and its ReferralReceived event in one
// transaction (outbox). Thread-safe (the Database serialises access).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/database.h"
#include "signpost/v1/intake.pb.h"

namespace signpost::intake {

struct SubmitOutcome {
  std::string referral_id;
  bool duplicate = false;
  absl::Time received_at;
  // The ReferralReceived event id (empty for a duplicate).
  std::string event_id;
};

class IntakeStore {
 public:
  explicit IntakeStore(store::Database& db) : db_(db) {}
  static std::vector<std::string> Migrations();

  // Stores a validated submission. A repeated idempotency key with the same
  // referral returns the first referral (duplicate=true); with a different
  // referral it is refused (FAILED_PRECONDITION, rule IDEMPOTENCY-KEY-REUSED).
  absl::StatusOr<SubmitOutcome> Submit(const v1::SubmitReferralRequest& request,
                                       absl::Time now,
                                       const std::string& traceparent);
  // NOT_FOUND when unknown.
  absl::StatusOr<v1::GetReferralResponse> Get(const std::string& referral_id);
  absl::StatusOr<int64_t> Count();

 private:
  store::Database& db_;
};

// Hex SHA-256 of the deterministic serialisation of `message`.
std::string DigestOf(const google::protobuf::Message& message);

}  // namespace signpost::intake
