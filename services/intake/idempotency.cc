#include "services/intake/idempotency.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "common/errors/errors.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace signpost::intake {

std::string DigestOf(const google::protobuf::Message& message,
                     absl::string_view key) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (key.empty()) {
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  } else {
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md,
         &len);
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

absl::Status CheckRetry(absl::string_view stored_digest,
                        absl::string_view digest) {
  if (stored_digest == digest) return absl::OkStatus();
  return errors::RuleViolation(
      "IDEMPOTENCY-KEY-REUSED", "idempotency_key",
      "this idempotency key was used for a different referral; use a new key "
      "for a new referral");
}

}  // namespace signpost::intake
