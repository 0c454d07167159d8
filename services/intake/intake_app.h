// Intake's application layer: one use case per method, each in one
// transaction (load, decide, persist, emit). Submitting writes the referral
// and its ReferralReceived event together (outbox); the caller wakes the
// outbox relay after a submission that was not a duplicate. Thread-safe (the
// Database serialises transactions).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/crypto/person_keys.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/events.pb.h"
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

// A referral as one caller may see it.
struct ReferralView {
  ReceivedReferral referral;  // reduced to field_class (disclosure.h)
  v1::FieldClass field_class = v1::FIELD_CLASS_NONE;
  // True when the read was written to the access audit (the caller then
  // wakes the outbox relay).
  bool audited = false;
};

class IntakeApp {
 public:
  // `keys` seals every referral with its person's data key
  // (common/crypto/person_keys.h).
  IntakeApp(store::Database& db, std::shared_ptr<const crypto::PersonKeys> keys)
      : db_(db), keys_(std::move(keys)) {}

  // Stores a validated referral from `caller` received at `now` (truncated
  // to milliseconds, the one value stored, emitted and returned) and emits
  // ReferralReceived. The referral is recorded as the caller's:
  // referrer_org, when given, must name the caller (PERMISSION_DENIED,
  // AUTHZ-OWN-AGENCY) and is stored as its agency id. Idempotency keys are
  // scoped to the caller: a repeated key with the same referral returns the
  // first referral (duplicate=true, nothing written); with a different
  // referral it is refused (FAILED_PRECONDITION, IDEMPOTENCY-KEY-REUSED).
  absl::StatusOr<SubmitOutcome> SubmitReferral(
      const access::Principal& caller, const std::string& idempotency_key,
      v1::Referral referral, absl::Time now, absl::string_view traceparent);

  // The referral as `caller` may see it (disclosure.h). A read that
  // releases personal data (the whole referral or the MARAC set) is written
  // to the access audit in the same transaction; a break-glass read also
  // keeps its reason. Unknown and not-permitted ids are refused alike.
  absl::StatusOr<ReferralView> GetReferral(const access::Principal& caller,
                                           const ReferralId& referral_id,
                                           absl::string_view break_glass_reason,
                                           absl::Time now,
                                           absl::string_view traceparent);

  // Triage's and advocacy's events, in the consumer's transaction: a
  // decision says whether the referral goes to MARAC; offers and accepted
  // assignments give a provider its hold on a referral, and a decline, an
  // expiry or a closure ends it. Other events are ignored.
  absl::Status ApplyRoutingEvent(store::Tx& tx, const v1::EventEnvelope& event);

  absl::StatusOr<int64_t> CountReferrals();

 private:
  // `stored` opened with its person's data key.
  absl::StatusOr<ReceivedReferral> OpenReferral(store::Tx& tx,
                                                StoredReferral stored);

  store::Database& db_;
  std::shared_ptr<const crypto::PersonKeys> keys_;
  IntakeStore store_;
};

}  // namespace signpost::intake
