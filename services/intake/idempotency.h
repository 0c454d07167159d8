// Intake's idempotency rule, in plain code: a client retries a submission
// with the same idempotency key and the same referral, and gets the first
// referral back; the same key with a different referral is refused. Referrals
// are compared by a keyed digest (HMAC-SHA256 under the person's data key)
// of their deterministic serialisation, so the stored digest says nothing
// about the referral to anyone without the key, and nothing at all once
// the key is destroyed. Thread-safe (pure).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace signpost::intake {

// Hex HMAC-SHA256 under `key` of the deterministic serialisation of
// `message`; with an empty key (rows stored before encryption), plain
// SHA-256.
std::string DigestOf(const google::protobuf::Message& message,
                     absl::string_view key);

// OK when a submission with digest `digest` is a retry of the stored one
// (`stored_digest`, same key); otherwise FAILED_PRECONDITION naming rule
// IDEMPOTENCY-KEY-REUSED.
absl::Status CheckRetry(absl::string_view stored_digest,
                        absl::string_view digest);

}  // namespace signpost::intake
