#include "common/http/webhook_signature.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto/keyring.h"

namespace signpost::http {
namespace {

constexpr char kVersionPrefix[] = "v1,";
constexpr size_t kHmacBytes = 32;

std::string SignedContent(absl::string_view id, absl::string_view timestamp,
                          absl::string_view body) {
  return absl::StrCat(id, ".", timestamp, ".", body);
}

// A timestamp header is decimal digits only: no sign, no spaces, no
// fraction (absl::SimpleAtoi alone would accept "+12" and " 12").
bool ParseTimestamp(absl::string_view text, int64_t* seconds) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(text, seconds);
}

}  // namespace

absl::StatusOr<std::string> ParseWebhookSecret(absl::string_view text) {
  if (!absl::StartsWith(text, kWebhookSecretPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a webhook secret must start with \"", kWebhookSecretPrefix, "\""));
  }
  text.remove_prefix(sizeof(kWebhookSecretPrefix) - 1);
  std::string key;
  if (text.empty() || !absl::Base64Unescape(text, &key)) {
    return absl::InvalidArgumentError(
        "a webhook secret's key is not base64 after the prefix");
  }
  if (key.size() < kMinWebhookKeyBytes || key.size() > kMaxWebhookKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a webhook secret's key must be ", kMinWebhookKeyBytes,
                     "-", kMaxWebhookKeyBytes, " bytes, not ", key.size()));
  }
  return key;
}

std::string FormatWebhookSecret(absl::string_view key_bytes) {
  return absl::StrCat(kWebhookSecretPrefix, absl::Base64Escape(key_bytes));
}

std::string SignWebhook(absl::string_view secret_key_bytes,
                        absl::string_view id, int64_t timestamp_seconds,
                        absl::string_view body) {
  return absl::StrCat(
      kVersionPrefix,
      absl::Base64Escape(crypto::HmacSha256(
          secret_key_bytes,
          SignedContent(id, absl::StrCat(timestamp_seconds), body))));
}

WebhookHeaders MakeWebhookHeaders(absl::string_view key, absl::string_view id,
                                  absl::Time now, absl::string_view body) {
  const int64_t seconds = absl::ToUnixSeconds(now);
  return WebhookHeaders{std::string(id), absl::StrCat(seconds),
                        SignWebhook(key, id, seconds, body)};
}

absl::Status VerifyWebhook(absl::string_view key, absl::string_view id,
                           absl::string_view timestamp,
                           absl::string_view signature_header,
                           absl::string_view body, absl::Time now,
                           absl::Duration tolerance) {
  if (key.empty()) {
    return absl::InvalidArgumentError("webhook key is empty");
  }
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWebhookIdHeader, " is missing"));
  }
  int64_t seconds = 0;
  if (!ParseTimestamp(timestamp, &seconds)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWebhookTimestampHeader, " is not a number of Unix seconds"));
  }
  const absl::Duration skew =
      absl::AbsDuration(now - absl::FromUnixSeconds(seconds));
  if (skew > tolerance) {
    return absl::PermissionDeniedError(absl::StrCat(
        kWebhookTimestampHeader, " is ", absl::FormatDuration(skew),
        " away from now, beyond the tolerance of ",
        absl::FormatDuration(tolerance)));
  }

  // The timestamp is signed as received (digits only, checked above).
  const std::string expected =
      crypto::HmacSha256(key, SignedContent(id, timestamp, body));
  bool any_v1 = false;
  bool matched = false;
  for (absl::string_view entry :
       absl::StrSplit(signature_header, ' ', absl::SkipEmpty())) {
    if (!absl::StartsWith(entry, kVersionPrefix)) continue;  // other schemes
    any_v1 = true;
    entry.remove_prefix(sizeof(kVersionPrefix) - 1);
    std::string candidate;
    if (!absl::Base64Unescape(entry, &candidate) ||
        candidate.size() != kHmacBytes) {
      continue;
    }
    // Every entry is compared, so the time taken does not say which matched.
    matched |=
        CRYPTO_memcmp(candidate.data(), expected.data(), kHmacBytes) == 0;
  }
  if (!any_v1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWebhookSignatureHeader, " holds no v1 signature"));
  }
  if (!matched) {
    return absl::PermissionDeniedError(
        absl::StrCat("no ", kWebhookSignatureHeader,
                     " entry matches the body under this key"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadWebhookSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseWebhookSecret(absl::StripAsciiWhitespace(buffer.str()));
}

std::vector<std::pair<std::string, std::string>> SignedJsonHeaders(
    absl::string_view key, absl::string_view id, absl::Time now,
    absl::string_view body) {
  WebhookHeaders signed_headers = MakeWebhookHeaders(key, id, now, body);
  return {{"content-type", "application/json"},
          {kWebhookIdHeader, std::move(signed_headers.id)},
          {kWebhookTimestampHeader, std::move(signed_headers.timestamp)},
          {kWebhookSignatureHeader, std::move(signed_headers.signature)}};
}

}  // namespace signpost::http
