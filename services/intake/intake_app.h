// Intake's application layer: one use case per method, each in one
// transaction (load, decide, persist, emit). Submitting writes the referral
// and its ReferralReceived event together (outbox); the caller wakes the
// outbox relay after a submission that was not a duplicate. Thread-safe (the
// Database serialises transactions).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::intake {

struct SubmitOutcome {
  ReferralId referral_id;
  bool duplicate = false;
  // Millisecond precision: exactly what GetReferral reports later.
  absl::Time received_at;
  // The ReferralReceived event id (empty for a duplicate).
  EventId event_id;
};

class IntakeApp {
 public:
  explicit IntakeApp(store::Database& db) : db_(db) {}

  // Stores a validated referral received at `now` (truncated to
  // milliseconds, the one value stored, emitted and returned) and emits
  // ReferralReceived. A repeated idempotency key with the same referral
  // returns the first referral (duplicate=true, nothing written); with a
  // different referral it is refused (FAILED_PRECONDITION, rule
  // IDEMPOTENCY-KEY-REUSED).
  absl::StatusOr<SubmitOutcome> SubmitReferral(
      const std::string& idempotency_key, const v1::Referral& referral,
      absl::Time now, absl::string_view traceparent);

  // NOT_FOUND when unknown.
  absl::StatusOr<ReceivedReferral> GetReferral(const ReferralId& referral_id);

  absl::StatusOr<int64_t> CountReferrals();

 private:
  store::Database& db_;
  IntakeStore store_;
};

}  // namespace signpost::intake
