#include "common/events/signing.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::events {
namespace signing_internal {

void PkeyFree::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

}  // namespace signing_internal

namespace {

using signing_internal::PkeyPtr;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

constexpr char kDomain[] = "signpost-event-signature-v1";
constexpr size_t kSignatureBytes = 64;
constexpr size_t kRawPublicKeyBytes = 32;
constexpr size_t kKeyIdHexDigits = 16;
// A PEM Ed25519 key is a few hundred bytes; anything far larger is not one.
constexpr size_t kMaxPemFileBytes = 64 * 1024;

// The headers a signature covers, in canonical order.
constexpr const char* kSignedHeaders[] = {"ce_id", "ce_type", "ce_source",
                                          "ce_subject"};

void AppendField(std::string* out, absl::string_view value) {
  const uint64_t n = value.size();
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((n >> shift) & 0xff));
  }
  out->append(value.data(), value.size());
}

const std::string* FirstHeader(const kafka::Headers& headers,
                               absl::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

int CountHeader(const kafka::Headers& headers, absl::string_view name) {
  int n = 0;
  for (const auto& header : headers) {
    if (header.first == name) ++n;
  }
  return n;
}

// The reason of the first queued OpenSSL error (no key material: reasons are
// OpenSSL's own fixed strings); empties this thread's error queue.
std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  std::string out = reason != nullptr ? reason : "unknown OpenSSL error";
  ERR_clear_error();
  return out;
}

// Never prompt on a terminal for a passphrase: an encrypted key is refused.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

absl::StatusOr<BioPtr> MemoryBio(absl::string_view pem,
                                 absl::string_view source) {
  if (pem.size() > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": larger than ", kMaxPemFileBytes, " bytes; not a PEM key"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": cannot allocate a BIO: ", TakeOpenSslError()));
  }
  return bio;
}

absl::Status CheckEd25519(const EVP_PKEY* key, absl::string_view source) {
  if (EVP_PKEY_is_a(key, "ED25519") == 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": not an Ed25519 key"));
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(absl::string_view pem,
                                        absl::string_view source) {
  ASSIGN_OR_RETURN(BioPtr bio, MemoryBio(pem, source));
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not an unencrypted PKCS#8 PEM private key (",
                     TakeOpenSslError(), ")"));
  }
  RETURN_IF_ERROR(CheckEd25519(key.get(), source));
  return key;
}

absl::StatusOr<PkeyPtr> ParsePublicKey(absl::string_view pem,
                                       absl::string_view source) {
  ASSIGN_OR_RETURN(BioPtr bio, MemoryBio(pem, source));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not a SubjectPublicKeyInfo PEM public key (",
                     TakeOpenSslError(), ")"));
  }
  RETURN_IF_ERROR(CheckEd25519(key.get(), source));
  return key;
}

// First 16 hex digits of SHA-256 over the raw 32-byte public key.
absl::StatusOr<std::string> KeyIdOf(const EVP_PKEY* key,
                                    absl::string_view source) {
  unsigned char raw[kRawPublicKeyBytes];
  size_t raw_len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &raw_len) != 1 ||
      raw_len != kRawPublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": cannot read the raw public key: ", TakeOpenSslError()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(raw, raw_len, md, &md_len, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(
        absl::StrCat(source, ": SHA-256 failed: ", TakeOpenSslError()));
  }
  return absl::BytesToHexString(
             absl::string_view(reinterpret_cast<const char*>(md), md_len))
      .substr(0, kKeyIdHexDigits);
}

absl::StatusOr<std::string> SignBytes(EVP_PKEY* key, absl::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate an EVP_MD_CTX");
  }
  // Ed25519 takes no digest: the message is signed as it is.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return absl::InternalError(
        absl::StrCat("EVP_DigestSignInit: ", TakeOpenSslError()));
  }
  unsigned char sig[kSignatureBytes];
  size_t sig_len = sizeof(sig);
  if (EVP_DigestSign(ctx.get(), sig, &sig_len,
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      sig_len != kSignatureBytes) {
    return absl::InternalError(
        absl::StrCat("EVP_DigestSign: ", TakeOpenSslError()));
  }
  return std::string(reinterpret_cast<const char*>(sig), sig_len);
}

// True only when `signature` is a valid signature by `key` over `data`.
bool VerifyBytes(EVP_PKEY* key, absl::string_view data,
                 absl::string_view signature) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
          data.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  std::string data(kMaxPemFileBytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": larger than ", kMaxPemFileBytes, " bytes; not a PEM key"));
  }
  return data;
}

bool IsKeyId(absl::string_view s) {
  if (s.size() != kKeyIdHexDigits) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

absl::Status Malformed(absl::string_view header,
                       absl::string_view description) {
  return errors::RuleViolation(kRuleMalformed, header, description);
}

struct SignatureFields {
  std::string key_id;
  std::string signature;  // raw 64 bytes
};

// The signature headers, each present once and well formed; and no signed
// header present more than once.
absl::StatusOr<SignatureFields> ParseSignatureHeaders(
    const kafka::Headers& headers) {
  const std::string* sig = FirstHeader(headers, kSigHeader);
  if (sig == nullptr) {
    return errors::RuleViolation(
        kRuleUnsigned, kSigHeader,
        "record is unsigned: it carries no sp_sig header");
  }
  for (const char* name : {kSigKeyHeader, kSigHeader, kSigAlgHeader}) {
    const int n = CountHeader(headers, name);
    if (n == 0) {
      return Malformed(
          name, absl::StrCat("signed record lacks the ", name, " header"));
    }
    if (n > 1) {
      return Malformed(name, absl::StrCat("header ", name, " appears ", n,
                                          " times; expected once"));
    }
  }
  for (const char* name : std::initializer_list<const char*>{
           kSignedHeaders[0], kSignedHeaders[1], kSignedHeaders[2],
           kSignedHeaders[3], kChainSeqHeader, kChainPrevHeader}) {
    const int n = CountHeader(headers, name);
    if (n > 1) {
      return Malformed(name, absl::StrCat("signed header ", name, " appears ",
                                          n, " times; expected at most once"));
    }
  }
  if (*FirstHeader(headers, kSigAlgHeader) != kSigAlgEd25519) {
    return Malformed(kSigAlgHeader,
                     "unsupported sp_sig_alg; only ed25519 is accepted");
  }
  SignatureFields out;
  out.key_id = *FirstHeader(headers, kSigKeyHeader);
  if (!IsKeyId(out.key_id)) {
    return Malformed(kSigKeyHeader,
                     "sp_sig_key is not a key id (16 lowercase hex digits)");
  }
  if (!absl::Base64Unescape(*sig, &out.signature)) {
    return Malformed(kSigHeader, "sp_sig is not base64");
  }
  if (out.signature.size() != kSignatureBytes) {
    return Malformed(kSigHeader,
                     absl::StrCat("sp_sig decodes to ", out.signature.size(),
                                  " bytes, not a 64-byte "
                                  "Ed25519 signature"));
  }
  if (absl::Base64Escape(out.signature) != *sig) {
    return Malformed(kSigHeader, "sp_sig is not canonical padded base64");
  }
  return out;
}

absl::Status NonEmpty(absl::string_view what, absl::string_view value) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, " must not be empty"));
}

}  // namespace

std::string CanonicalSigningBytes(absl::string_view topic,
                                  absl::string_view key,
                                  absl::string_view payload,
                                  const kafka::Headers& headers) {
  std::string out;
  out.reserve(payload.size() + topic.size() + key.size() + 256);
  AppendField(&out, kDomain);
  AppendField(&out, topic);
  AppendField(&out, key);
  auto append_header = [&](const char* name) {
    const std::string* value = FirstHeader(headers, name);
    if (value == nullptr) {
      out.push_back('\x00');
    } else {
      out.push_back('\x01');
      AppendField(&out, *value);
    }
  };
  for (const char* name : kSignedHeaders) append_header(name);
  if (FirstHeader(headers, kChainSeqHeader) != nullptr ||
      FirstHeader(headers, kChainPrevHeader) != nullptr) {
    out.push_back('\x02');
    append_header(kChainSeqHeader);
    append_header(kChainPrevHeader);
  }
  AppendField(&out, payload);
  return out;
}

// --- EventSigner ---

EventSigner::EventSigner(PkeyPtr key, std::string key_id, std::string producer)
    : key_(std::move(key)),
      key_id_(std::move(key_id)),
      producer_(std::move(producer)) {}

absl::StatusOr<EventSigner> EventSigner::FromPemFile(const std::string& path,
                                                     std::string producer) {
  RETURN_IF_ERROR(NonEmpty("producer", producer));
  ASSIGN_OR_RETURN(std::string pem, ReadKeyFile(path));
  absl::StatusOr<PkeyPtr> key = ParsePrivateKey(pem, path);
  OPENSSL_cleanse(pem.data(), pem.size());  // the copy of the private key
  ASSIGN_OR_RETURN(PkeyPtr parsed, std::move(key));
  ASSIGN_OR_RETURN(std::string key_id, KeyIdOf(parsed.get(), path));
  return EventSigner(std::move(parsed), std::move(key_id), std::move(producer));
}

absl::StatusOr<EventSigner> EventSigner::FromPem(absl::string_view pem,
                                                 std::string producer) {
  RETURN_IF_ERROR(NonEmpty("producer", producer));
  const std::string source = absl::StrCat("private key of ", producer);
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(pem, source));
  ASSIGN_OR_RETURN(std::string key_id, KeyIdOf(key.get(), source));
  return EventSigner(std::move(key), std::move(key_id), std::move(producer));
}

kafka::Headers EventSigner::Sign(const kafka::OutgoingMessage& message) const {
  absl::StatusOr<std::string> signature = SignBytes(
      key_.get(), CanonicalSigningBytes(message.topic, message.key,
                                        message.payload, message.headers));
  if (!signature.ok()) {
    // Only memory exhaustion gets here with a key that loaded. Publishing
    // unsigned would dead-letter the record at every consumer; stop instead.
    log::Error("event signing failed; aborting",
               {{"producer", producer_},
                {"key_id", key_id_},
                {"error", std::string(signature.status().message())}});
    std::abort();
  }
  return {
      {kSigKeyHeader, key_id_},
      {kSigHeader, absl::Base64Escape(*signature)},
      {kSigAlgHeader, kSigAlgEd25519},
  };
}

// --- EventVerifier ---

absl::Status EventVerifier::AddKey(std::string producer,
                                   absl::string_view pem_public_key) {
  RETURN_IF_ERROR(NonEmpty("producer", producer));
  const std::string source = absl::StrCat("public key of ", producer);
  return AddKeyFrom(std::move(producer), pem_public_key, source);
}

absl::Status EventVerifier::AddKeyFrom(std::string producer,
                                       absl::string_view pem,
                                       absl::string_view source) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePublicKey(pem, source));
  ASSIGN_OR_RETURN(std::string key_id, KeyIdOf(key.get(), source));
  auto it = keys_.find(key_id);
  if (it != keys_.end()) {
    if (it->second.producer == producer) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": key ", key_id, " already belongs to producer ",
                     it->second.producer));
  }
  keys_.emplace(std::move(key_id), Key{std::move(producer), std::move(key)});
  return absl::OkStatus();
}

absl::Status EventVerifier::ExpectProducer(std::string topic,
                                           std::string producer) {
  RETURN_IF_ERROR(NonEmpty("topic", topic));
  RETURN_IF_ERROR(NonEmpty("producer", producer));
  auto it = producer_of_topic_.find(topic);
  if (it != producer_of_topic_.end()) {
    if (it->second == producer) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("topic ", topic, " is already expected from producer ",
                     it->second, ", not ", producer));
  }
  producer_of_topic_.emplace(std::move(topic), std::move(producer));
  return absl::OkStatus();
}

absl::Status EventVerifier::Verify(
    const kafka::ConsumedMessage& message) const {
  ASSIGN_OR_RETURN(SignatureFields sig, ParseSignatureHeaders(message.headers));
  auto topic_it = producer_of_topic_.find(message.topic);
  if (topic_it == producer_of_topic_.end()) {
    return errors::RuleViolation(
        kRuleUnknownTopic, "topic",
        absl::StrCat("unknown topic: no producer is expected for topic ",
                     message.topic));
  }
  const std::string& expected = topic_it->second;
  auto key_it = keys_.find(sig.key_id);
  if (key_it == keys_.end()) {
    return errors::RuleViolation(
        kRuleUnknownKey, kSigKeyHeader,
        absl::StrCat("unknown key: ", sig.key_id,
                     " is not a known signing key (topic ", message.topic,
                     " expects producer ", expected, ")"));
  }
  const Key& key = key_it->second;
  if (key.producer != expected) {
    return errors::RuleViolation(
        kRuleWrongProducer, kSigKeyHeader,
        absl::StrCat("producer mismatch: key ", sig.key_id,
                     " belongs to producer ", key.producer,
                     ", but records on topic ", message.topic,
                     " must be signed by producer ", expected));
  }
  const std::string data = CanonicalSigningBytes(
      message.topic, message.key, message.payload, message.headers);
  if (!VerifyBytes(key.pkey.get(), data, sig.signature)) {
    return errors::RuleViolation(
        kRuleBadSignature, kSigHeader,
        absl::StrCat("bad signature: the signature by key ", sig.key_id,
                     " (producer ", expected,
                     ") does not verify over this record's topic, key, "
                     "payload and signed headers"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EventVerifier::VerifyAnyProducer(
    const kafka::ConsumedMessage& message) const {
  ASSIGN_OR_RETURN(SignatureFields sig, ParseSignatureHeaders(message.headers));
  auto key_it = keys_.find(sig.key_id);
  if (key_it == keys_.end()) {
    return errors::RuleViolation(kRuleUnknownKey, kSigKeyHeader,
                                 absl::StrCat("unknown key: ", sig.key_id,
                                              " is not a known signing key"));
  }
  const Key& key = key_it->second;
  const std::string data = CanonicalSigningBytes(
      message.topic, message.key, message.payload, message.headers);
  if (!VerifyBytes(key.pkey.get(), data, sig.signature)) {
    return errors::RuleViolation(
        kRuleBadSignature, kSigHeader,
        absl::StrCat("bad signature: the signature by key ", sig.key_id,
                     " (producer ", key.producer,
                     ") does not verify over this record"));
  }
  return key.producer;
}

std::vector<std::string> EventVerifier::KeyIdsOf(
    absl::string_view producer) const {
  std::vector<std::string> out;
  for (const auto& [id, key] : keys_) {
    if (key.producer == producer) out.push_back(id);
  }
  return out;
}

absl::Status EventVerifier::AddKeyFile(std::string producer,
                                       const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadKeyFile(path));
  return AddKeyFrom(std::move(producer), pem, path);
}

absl::StatusOr<EventVerifier> LoadVerifier(const std::string& dir) {
  EventVerifier verifier;
  std::vector<std::string> problems;
  // Extra keys for rotation: <producer>.<label>.pub, in name order.
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const TopicProducer& tp : kTopicProducers) {
    const std::string path = absl::StrCat(dir, "/", tp.producer, ".pub");
    absl::Status loaded = verifier.AddKeyFile(tp.producer, path);
    if (!loaded.ok()) problems.emplace_back(loaded.message());
    const std::string prefix = absl::StrCat(tp.producer, ".");
    for (const std::string& name : names) {
      if (name.size() > prefix.size() + 4 && absl::StartsWith(name, prefix) &&
          absl::EndsWith(name, ".pub") && name != absl::StrCat(prefix, "pub")) {
        absl::Status extra =
            verifier.AddKeyFile(tp.producer, absl::StrCat(dir, "/", name));
        if (!extra.ok()) problems.emplace_back(extra.message());
      }
    }
    RETURN_IF_ERROR(verifier.ExpectProducer(tp.topic, tp.producer));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event signing public keys: ", absl::StrJoin(problems, "; ")));
  }
  return verifier;
}

}  // namespace signpost::events
