// Ed25519 signatures over Signpost event records (issue 9, item 5), through
// OpenSSL's EVP API. A producing service signs each record it publishes; a
// consuming service verifies each record against the producer it expects for
// the record's topic. store::OutboxRelay signs (Options::signer) and
// events::EventConsumer verifies (Options::verifier); ServiceHost wires both
// from --event_signing_key and --event_keys_dir.
//
// What is signed: the canonical byte string CanonicalSigningBytes() returns,
// which binds the topic, the record key, the payload (the serialized
// EventEnvelope) and the CloudEvents headers ce_id, ce_type, ce_source and
// ce_subject. It is, with every length an unsigned 64-bit big-endian integer:
//
//   canonical = field("signpost-event-signature-v1")   // domain separation
//             || field(topic)
//             || field(record key)
//             || header(ce_id) || header(ce_type)
//             || header(ce_source) || header(ce_subject)
//             || field(payload)
//   field(x)  = u64be(len(x)) || x
//   header(h) = 0x00                         when the record lacks h
//             | 0x01 || field(value of h)    otherwise (its first occurrence)
//
// Every field is length-prefixed, so no two different records share a
// canonical string; a header that is absent differs from one that is empty.
// A record that carries either hash-chain header (audit/chain.h) has them
// covered too: canonical continues with 0x02 || header(sp_chain_seq) ||
// header(sp_chain_prev) before field(payload). Stripping or adding them
// breaks the signature; records without them encode as before.
// Ed25519 signs the canonical bytes directly (no pre-hash).
//
// Record headers a signature adds (SignatureHeaders names them):
//   sp_sig_key  the key id: the first 16 hex digits (lowercase) of SHA-256
//               over the raw 32-byte Ed25519 public key; stable for a key
//   sp_sig      the 64-byte signature, standard base64 with padding
//   sp_sig_alg  "ed25519"
//
// Keys are PEM files: the private key PKCS#8 ("-----BEGIN PRIVATE KEY-----",
// as `openssl genpkey -algorithm ED25519` writes it, unencrypted), the public
// key SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----", as
// `openssl pkey -pubout` writes it).
//
// Errors never carry payload bytes, header values a sender chose, or key
// material; they name topics, producers, header names and well-formed key
// ids only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/events/envelope.h"
#include "common/kafka/kafka.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; openssl/*.h stays out of here.

namespace signpost::events {

inline constexpr char kSigKeyHeader[] = "sp_sig_key";
inline constexpr char kSigHeader[] = "sp_sig";
inline constexpr char kSigAlgHeader[] = "sp_sig_alg";
inline constexpr char kSigAlgEd25519[] = "ed25519";
// The hash-chain headers (audit/chain.h), covered by the signature.
inline constexpr char kChainSeqHeader[] = "sp_chain_seq";
inline constexpr char kChainPrevHeader[] = "sp_chain_prev";

// Rule ids of the refusals EventVerifier::Verify returns (all
// FAILED_PRECONDITION through errors::RuleViolation, so that the event
// consumer dead-letters the record at once).
inline constexpr char kRuleUnsigned[] = "EVENT-SIG-UNSIGNED";
inline constexpr char kRuleMalformed[] = "EVENT-SIG-MALFORMED";
inline constexpr char kRuleUnknownTopic[] = "EVENT-SIG-UNKNOWN-TOPIC";
inline constexpr char kRuleUnknownKey[] = "EVENT-SIG-UNKNOWN-KEY";
inline constexpr char kRuleWrongProducer[] = "EVENT-SIG-WRONG-PRODUCER";
inline constexpr char kRuleBadSignature[] = "EVENT-SIG-BAD-SIGNATURE";

// The producer of each topic (envelope.h), as LoadVerifier maps them.
struct TopicProducer {
  const char* topic;
  const char* producer;
};
inline constexpr TopicProducer kTopicProducers[] = {
    {kIntakeTopic, "intake"},
    {kTriageTopic, "triage"},
    {kAdvocacyTopic, "advocacy"},
    {kOrdersTopic, "orders"},
    {kNotificationTopic, "notification"},
};

// The canonical bytes a signature covers (see the top of this file).
std::string CanonicalSigningBytes(absl::string_view topic,
                                  absl::string_view key,
                                  absl::string_view payload,
                                  const kafka::Headers& headers);

namespace signing_internal {
struct PkeyFree {
  void operator()(evp_pkey_st* key) const;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyFree>;
}  // namespace signing_internal

// Signs outgoing records with one producer's private key. Immutable once
// made: Sign may be called from many threads at once. Movable, not copyable.
class EventSigner {
 public:
  // Reads a PKCS#8 PEM Ed25519 private key. Errors name the file (never its
  // contents); an encrypted key is refused, never prompted for.
  static absl::StatusOr<EventSigner> FromPemFile(const std::string& path,
                                                 std::string producer);
  static absl::StatusOr<EventSigner> FromPem(absl::string_view pem,
                                             std::string producer);

  // The three signature headers (sp_sig_key, sp_sig, sp_sig_alg) for
  // `message`, to append to its headers. `message.headers` must already hold
  // the CloudEvents headers: a header added or changed after signing breaks
  // the signature. Signing with a loaded key fails only if OpenSSL cannot
  // allocate memory; then the process aborts rather than publish a record
  // that no consumer will accept.
  kafka::Headers Sign(const kafka::OutgoingMessage& message) const;

  const std::string& key_id() const { return key_id_; }
  const std::string& producer() const { return producer_; }

 private:
  EventSigner(signing_internal::PkeyPtr key, std::string key_id,
              std::string producer);

  signing_internal::PkeyPtr key_;
  std::string key_id_;
  std::string producer_;
};

// Verifies consumed records against the known public keys of each producer
// and the producer expected for each topic. A producer may have several keys
// (rotation); a key belongs to one producer only.
//
// Thread-safety: configure it (AddKey, ExpectProducer) from one thread before
// sharing it; afterwards Verify (const) may be called from many threads at
// once. Movable, not copyable.
class EventVerifier {
 public:
  EventVerifier() = default;

  // Adds an SPKI PEM Ed25519 public key of `producer`. Refuses a malformed
  // or non-Ed25519 key, and a key already added for another producer.
  // Adding the same key for the same producer again is a no-op.
  absl::Status AddKey(std::string producer, absl::string_view pem_public_key);

  // Records on `topic` must be signed by a key of `producer`. Refuses a
  // topic already expected from another producer.
  absl::Status ExpectProducer(std::string topic, std::string producer);

  // OK only when the record carries each of sp_sig_key, sp_sig and
  // sp_sig_alg exactly once, its topic has an expected producer, the key id
  // is a known key of that producer, and the signature verifies over
  // CanonicalSigningBytes. Otherwise FAILED_PRECONDITION
  // (errors::RuleViolation) with one of the kRule* ids above and the reason.
  // A record carrying any signed ce_* header more than once is refused as
  // malformed, so that no reader can see a value other than the signed one.
  absl::Status Verify(const kafka::ConsumedMessage& message) const;

  // As Verify, but for a record on any topic (the audit log, a partner
  // topic, a copy): the producer is the one whose key signed it. Returns
  // that producer.
  absl::StatusOr<std::string> VerifyAnyProducer(
      const kafka::ConsumedMessage& message) const;

  // The key ids known for `producer` (for logs and tests); empty if none.
  std::vector<std::string> KeyIdsOf(absl::string_view producer) const;

 private:
  friend absl::StatusOr<EventVerifier> LoadVerifier(const std::string& dir);

  // AddKey with errors naming `source` (a file path, say).
  absl::Status AddKeyFrom(std::string producer, absl::string_view pem,
                          absl::string_view source);
  absl::Status AddKeyFile(std::string producer, const std::string& path);

  struct Key {
    std::string producer;
    signing_internal::PkeyPtr pkey;
  };
  std::map<std::string, Key, std::less<>> keys_;  // by key id
  std::map<std::string, std::string, std::less<>> producer_of_topic_;
};

// A verifier with `<dir>/<producer>.pub` for each producer of
// kTopicProducers, each expected on its own topic, plus any
// `<dir>/<producer>.<label>.pub` as further keys of that producer (say
// `intake.next.pub` during a key rotation). Every missing or bad file is
// reported at once, each by its path.
absl::StatusOr<EventVerifier> LoadVerifier(const std::string& dir);

}  // namespace signpost::events
