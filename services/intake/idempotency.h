// Intake's idempotency rule, in plain code: a client retries a submission
// with the same idempotency key and the same referral, and gets the first
// referral back; the same key with a different referral is refused. Referrals
// are compared by a digest of their deterministic serialisation. Thread-safe
// (pure).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace signpost::intake {

// Hex SHA-256 of the deterministic serialisation of `message`.
std::string DigestOf(const google::protobuf::Message& message);

// OK when a submission with digest `digest` is a retry of the stored one
// (`stored_digest`, same key); otherwise FAILED_PRECONDITION naming rule
// IDEMPOTENCY-KEY-REUSED.
absl::Status CheckRetry(absl::string_view stored_digest,
                        absl::string_view digest);

}  // namespace signpost::intake
