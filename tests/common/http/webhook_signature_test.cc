// Standard Webhooks signatures: the specification's published vector,
// secrets, tolerance, several signatures in one header, tampering.
#include "common/http/webhook_signature.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::http {
namespace {

using ::testing::HasSubstr;

// The vector the Standard Webhooks reference libraries test against
// (checked independently with Python's hmac before being written here).
constexpr char kVectorSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kVectorId[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kVectorTimestamp = 1614265330;
constexpr char kVectorBody[] = R"({"test": 2432232314})";
constexpr char kVectorSignature[] =
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const absl::Time kVectorTime = absl::FromUnixSeconds(kVectorTimestamp);

std::string VectorKey() {
  absl::StatusOr<std::string> key = ParseWebhookSecret(kVectorSecret);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.value_or("");
}

TEST(WebhookSignatureTest, SigningReproducesTheStandardWebhooksVector) {
  EXPECT_EQ(SignWebhook(VectorKey(), kVectorId, kVectorTimestamp, kVectorBody),
            kVectorSignature);
  const WebhookHeaders headers =
      MakeWebhookHeaders(VectorKey(), kVectorId, kVectorTime, kVectorBody);
  EXPECT_EQ(headers.id, kVectorId);
  EXPECT_EQ(headers.timestamp, "1614265330");
  EXPECT_EQ(headers.signature, kVectorSignature);
}

TEST(WebhookSignatureTest, VerifyAcceptsTheStandardWebhooksVector) {
  EXPECT_TRUE(VerifyWebhook(VectorKey(), kVectorId, "1614265330",
                            kVectorSignature, kVectorBody, kVectorTime)
                  .ok());
}

TEST(WebhookSignatureTest, SecretsParseOnlyWithPrefixBase64AndSaneLength) {
  EXPECT_EQ(VectorKey().size(), 24u);
  const std::string key32(32, 'k');
  EXPECT_EQ(*ParseWebhookSecret(FormatWebhookSecret(key32)), key32);
  for (const std::string& bad :
       {std::string("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),  // no prefix
        std::string("whsec_"),                            // no key
        std::string("whsec_not base64!!"),                // not base64
        std::string("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        FormatWebhookSecret(std::string(23, 'k')),     // too short
        FormatWebhookSecret(std::string(65, 'k'))}) {  // too long
    absl::StatusOr<std::string> parsed = ParseWebhookSecret(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // The message never echoes the secret.
  EXPECT_THAT(ParseWebhookSecret("whsec_c2hvcnQ=").status().message(),
              ::testing::Not(HasSubstr("c2hvcnQ")));
}

TEST(WebhookSignatureTest, TamperedBodyIdTimestampOrKeyIsDenied) {
  const std::string key = VectorKey();
  const std::string other_key(32, 'x');
  struct Case {
    const char* what;
    std::string key, id, timestamp, body;
  } cases[] = {
      {"body", key, kVectorId, "1614265330", R"({"test": 2432232315})"},
      {"id", key, "msg_other", "1614265330", kVectorBody},
      {"timestamp", key, kVectorId, "1614265331", kVectorBody},
      {"key", other_key, kVectorId, "1614265330", kVectorBody},
  };
  for (const Case& c : cases) {
    absl::Status status = VerifyWebhook(c.key, c.id, c.timestamp,
                                        kVectorSignature, c.body, kVectorTime);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << c.what;
    EXPECT_THAT(status.message(), HasSubstr("matches")) << c.what;
  }
}

TEST(WebhookSignatureTest, TimestampsOutsideTheToleranceAreDeniedEitherWay) {
  const std::string key = VectorKey();
  // Exactly at the edge is still accepted, on either side.
  EXPECT_TRUE(VerifyWebhook(key, kVectorId, "1614265330", kVectorSignature,
                            kVectorBody, kVectorTime + absl::Minutes(5))
                  .ok());
  EXPECT_TRUE(VerifyWebhook(key, kVectorId, "1614265330", kVectorSignature,
                            kVectorBody, kVectorTime - absl::Minutes(5))
                  .ok());
  for (absl::Duration skew : {absl::Minutes(5) + absl::Seconds(1),
                              -absl::Minutes(5) - absl::Seconds(1)}) {
    absl::Status status =
        VerifyWebhook(key, kVectorId, "1614265330", kVectorSignature,
                      kVectorBody, kVectorTime + skew);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << skew;
    EXPECT_THAT(status.message(), HasSubstr("webhook-timestamp")) << skew;
  }
  // A custom tolerance applies.
  EXPECT_EQ(
      VerifyWebhook(key, kVectorId, "1614265330", kVectorSignature, kVectorBody,
                    kVectorTime + absl::Seconds(31), absl::Seconds(30))
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, AnyOfSeveralSpaceSeparatedSignaturesMayMatch) {
  const std::string key = VectorKey();
  const std::string rotated_out = SignWebhook(std::string(32, 'o'), kVectorId,
                                              kVectorTimestamp, kVectorBody);
  for (const std::string& header :
       {absl::StrCat(rotated_out, " ", kVectorSignature),
        absl::StrCat(kVectorSignature, " ", rotated_out),
        absl::StrCat("v2,whatever ", kVectorSignature),
        absl::StrCat("v1,not-base64!! ", kVectorSignature),
        absl::StrCat("  ", kVectorSignature, "  ")}) {
    EXPECT_TRUE(VerifyWebhook(key, kVectorId, "1614265330", header, kVectorBody,
                              kVectorTime)
                    .ok())
        << header;
  }
  EXPECT_EQ(VerifyWebhook(key, kVectorId, "1614265330",
                          absl::StrCat(rotated_out, " v1,AAAA"), kVectorBody,
                          kVectorTime)
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, MalformedInputIsInvalidAndNamesTheField) {
  const std::string key = VectorKey();
  struct Case {
    const char* what;
    std::string key, id, timestamp, signature, names;
  } cases[] = {
      {"empty key", "", kVectorId, "1614265330", kVectorSignature, "key"},
      {"no id", key, "", "1614265330", kVectorSignature, "webhook-id"},
      {"no timestamp", key, kVectorId, "", kVectorSignature,
       "webhook-timestamp"},
      {"signed timestamp", key, kVectorId, "+1614265330", kVectorSignature,
       "webhook-timestamp"},
      {"fraction", key, kVectorId, "1614265330.5", kVectorSignature,
       "webhook-timestamp"},
      {"huge", key, kVectorId, "99999999999999999999999", kVectorSignature,
       "webhook-timestamp"},
      {"no signature", key, kVectorId, "1614265330", "", "webhook-signature"},
      {"other scheme only", key, kVectorId, "1614265330",
       "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "webhook-signature"},
  };
  for (const Case& c : cases) {
    absl::Status status = VerifyWebhook(c.key, c.id, c.timestamp, c.signature,
                                        kVectorBody, kVectorTime);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(status.message(), HasSubstr(c.names)) << c.what;
  }
}

TEST(WebhookSignatureTest, FreshKeysRoundTripThroughHeaders) {
  const std::string key = *crypto::RandomBytes(32);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const std::string body = R"({"type":"referral.routed","id":"r-1"})";
  const WebhookHeaders headers = MakeWebhookHeaders(key, "msg_1", now, body);
  EXPECT_TRUE(VerifyWebhook(key, headers.id, headers.timestamp,
                            headers.signature, body, now + absl::Seconds(3))
                  .ok());
}

}  // namespace
}  // namespace signpost::http
