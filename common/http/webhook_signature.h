// Signatures for the webhooks Signpost sends to partner endpoints, after the
// Standard Webhooks convention (https://www.standardwebhooks.com/) so that a
// partner can verify them with any of that specification's libraries.
//
//   headers        webhook-id, webhook-timestamp (Unix seconds) and
//                  webhook-signature
//   signed content "<webhook-id>.<webhook-timestamp>.<body>", HMAC-SHA256
//                  under the endpoint's secret key
//   signature      "v1,<base64 of the HMAC>"; a header may carry several,
//                  space separated (a key being rotated), and one matching
//                  is enough
//   secret         written "whsec_<base64 of the key bytes>"
//
// The timestamp is signed, and a receiver refuses one outside a tolerance,
// so a captured delivery cannot be replayed later. Functions only, no state:
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signpost::http {

inline constexpr char kWebhookSecretPrefix[] = "whsec_";
inline constexpr size_t kMinWebhookKeyBytes = 24;
inline constexpr size_t kMaxWebhookKeyBytes = 64;

// The header names of the convention (lower case, as HTTP/2 sends them).
inline constexpr char kWebhookIdHeader[] = "webhook-id";
inline constexpr char kWebhookTimestampHeader[] = "webhook-timestamp";
inline constexpr char kWebhookSignatureHeader[] = "webhook-signature";

// The key bytes of a "whsec_<base64>" secret. INVALID_ARGUMENT when the
// prefix is missing, the rest is not base64, or the key is not 24-64 bytes.
// The message never contains the secret.
absl::StatusOr<std::string> ParseWebhookSecret(absl::string_view text);

// The key in a secret file (one "whsec_..." line, surrounding whitespace
// ignored). INVALID_ARGUMENT naming the file when it cannot be read.
absl::StatusOr<std::string> LoadWebhookSecretFile(const std::string& path);

// "whsec_<base64>" for raw key bytes (the inverse of ParseWebhookSecret).
std::string FormatWebhookSecret(absl::string_view key_bytes);

// "v1,<base64(HMAC-SHA256(key, id.timestamp.body))>".
std::string SignWebhook(absl::string_view secret_key_bytes,
                        absl::string_view id, int64_t timestamp_seconds,
                        absl::string_view body);

// The three header values of one delivery attempt.
struct WebhookHeaders {
  std::string id;
  std::string timestamp;
  std::string signature;
};

// Headers for a delivery of `body` with message id `id`, signed at `now`
// (whole seconds). A retry of the same message keeps its id and is signed
// again with a fresh timestamp.
WebhookHeaders MakeWebhookHeaders(absl::string_view key, absl::string_view id,
                                  absl::Time now, absl::string_view body);

// The headers of one signed JSON POST of `body`: Content-Type and the three
// Standard Webhooks headers (MakeWebhookHeaders), for HttpClient::Post.
std::vector<std::pair<std::string, std::string>> SignedJsonHeaders(
    absl::string_view key, absl::string_view id, absl::Time now,
    absl::string_view body);

// Checks a received delivery. OK when one of the "v1," signatures in
// `signature_header` is the HMAC of `id`.`timestamp`.`body` under `key`
// (compared in constant time) and `timestamp` is within `tolerance` of
// `now`, either way. Errors say what failed:
//   INVALID_ARGUMENT   an empty key or id, a timestamp that is not a
//                      number of seconds, a header with no v1 signature
//   PERMISSION_DENIED  a timestamp outside the tolerance, or no signature
//                      that matches
absl::Status VerifyWebhook(absl::string_view key, absl::string_view id,
                           absl::string_view timestamp,
                           absl::string_view signature_header,
                           absl::string_view body, absl::Time now,
                           absl::Duration tolerance = absl::Minutes(5));

}  // namespace signpost::http
