#include "common/events/signing.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::events {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// RFC 8032 section 7.1, test 1: its secret key as PKCS#8 PEM (written by
// `openssl pkey`); its public key is d75a9801...f707511a.
constexpr char kRfc8032PrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfc8032PublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
// First 16 hex digits of SHA-256 over those 32 raw public-key bytes
// (computed with `xxd -r -p | sha256sum`).
constexpr char kRfc8032KeyId[] = "21fe31dfa154a261";

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string PrivatePem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                     nullptr, nullptr),
            1);
  return BioText(bio.get());
}

std::string PublicPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), key), 1);
  return BioText(bio.get());
}

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair NewKeyPair(const char* type = "ED25519") {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  EXPECT_NE(key, nullptr);
  return {PrivatePem(key.get()), PublicPem(key.get())};
}

KeyPair NewEcKeyPair() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_NE(key, nullptr);
  return {PrivatePem(key.get()), PublicPem(key.get())};
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

const char* TopicOf(const std::string& producer) {
  for (const TopicProducer& tp : kTopicProducers) {
    if (producer == tp.producer) return tp.topic;
  }
  return "";
}

v1::EventEnvelope Received(const std::string& producer = "intake") {
  v1::EventEnvelope e = NewEnvelope(producer, NewUuid());
  e.mutable_referral_received()->mutable_facts();
  StampType(&e);
  return e;
}

// An outgoing record as the relay will build it: CloudEvents headers, then
// the signature headers appended; delivered unchanged as a consumed record.
kafka::ConsumedMessage SignedRecord(const EventSigner& signer,
                                    const std::string& topic,
                                    const v1::EventEnvelope& e) {
  kafka::OutgoingMessage out;
  out.topic = topic;
  out.key = e.referral_id();
  out.payload = e.SerializeAsString();
  out.headers = CloudEventHeaders(e, NewTraceparent());
  for (auto& header : signer.Sign(out)) out.headers.push_back(header);
  kafka::ConsumedMessage in;
  in.topic = out.topic;
  in.partition = 3;
  in.offset = 42;
  in.key = out.key;
  in.payload = out.payload;
  in.headers = out.headers;
  return in;
}

void SetHeader(kafka::ConsumedMessage* m, const std::string& name,
               const std::string& value) {
  for (auto& [k, v] : m->headers) {
    if (k == name) v = value;
  }
}

void RemoveHeader(kafka::ConsumedMessage* m, const std::string& name) {
  std::erase_if(m->headers, [&](const auto& h) { return h.first == name; });
}

std::string RuleIdOf(const absl::Status& s) {
  auto rule = errors::RuleViolationOf(s);
  return rule ? rule->rule_id : "";
}

// Every refusal is dead-lettered at once by the consumer's classification,
// and never echoes the record's payload or its referral id.
void ExpectRefused(const absl::Status& s, const std::string& rule_id,
                   const std::string& reason, const kafka::ConsumedMessage& m) {
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(RuleIdOf(s), rule_id) << s;
  EXPECT_THAT(s.message(), HasSubstr(reason));
  EXPECT_EQ(errors::Classify(s), errors::Disposition::kDeadLetter);
  EXPECT_THAT(s.message(), Not(HasSubstr(m.key)));
  if (!m.payload.empty()) {
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr(m.payload)));
  }
}

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const TopicProducer& tp : kTopicProducers) {
      KeyPair pair = NewKeyPair();
      auto signer = EventSigner::FromPem(pair.private_pem, tp.producer);
      ASSERT_TRUE(signer.ok()) << signer.status();
      signers_.emplace(tp.producer, std::move(*signer));
      public_pems_[tp.producer] = pair.public_pem;
      ASSERT_TRUE(verifier_.AddKey(tp.producer, pair.public_pem).ok());
      ASSERT_TRUE(verifier_.ExpectProducer(tp.topic, tp.producer).ok());
    }
  }

  const EventSigner& Signer(const std::string& producer) {
    return signers_.at(producer);
  }

  kafka::ConsumedMessage IntakeRecord() {
    return SignedRecord(Signer("intake"), kIntakeTopic, Received());
  }

  std::map<std::string, EventSigner> signers_;
  std::map<std::string, std::string> public_pems_;
  EventVerifier verifier_;
};

TEST_F(SigningTest, SignThenVerify) {
  for (const TopicProducer& tp : kTopicProducers) {
    kafka::ConsumedMessage m =
        SignedRecord(Signer(tp.producer), tp.topic, Received(tp.producer));
    EXPECT_TRUE(verifier_.Verify(m).ok())
        << tp.producer << ": " << verifier_.Verify(m);
  }
}

TEST_F(SigningTest, SignProducesTheThreeHeaders) {
  kafka::ConsumedMessage m = IntakeRecord();
  EXPECT_EQ(m.Header(kSigKeyHeader), Signer("intake").key_id());
  EXPECT_EQ(m.Header(kSigAlgHeader), "ed25519");
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(*m.Header(kSigHeader), &raw));
  EXPECT_EQ(raw.size(), 64u);
  EXPECT_EQ(Signer("intake").producer(), "intake");
}

TEST_F(SigningTest, RoundTripThroughKafkaTypes) {
  v1::EventEnvelope e = NewEnvelope("triage", NewUuid());
  e.mutable_referral_triaged()->set_risk(v1::RISK_LEVEL_HIGH);
  StampType(&e);
  kafka::OutgoingMessage out{kTriageTopic, e.referral_id(),
                             e.SerializeAsString(),
                             CloudEventHeaders(e, NewTraceparent())};
  kafka::Headers sig = Signer("triage").Sign(out);
  ASSERT_EQ(sig.size(), 3u);
  out.headers.insert(out.headers.end(), sig.begin(), sig.end());

  kafka::ConsumedMessage in;
  in.topic = out.topic;
  in.key = out.key;
  in.payload = out.payload;
  in.headers = out.headers;
  EXPECT_TRUE(verifier_.Verify(in).ok()) << verifier_.Verify(in);
  auto decoded = DecodeEnvelope(in);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->event_id(), e.event_id());
  EXPECT_EQ(in.Header("ce_type"), "signpost.v1.ReferralTriaged");
}

TEST_F(SigningTest, ChangedPayloadFails) {
  kafka::ConsumedMessage m = IntakeRecord();
  v1::EventEnvelope e;
  ASSERT_TRUE(e.ParseFromString(m.payload));
  e.set_causation_id(NewUuid());
  m.payload = e.SerializeAsString();
  ExpectRefused(verifier_.Verify(m), kRuleBadSignature, "bad signature", m);

  kafka::ConsumedMessage flipped = IntakeRecord();
  flipped.payload.back() ^= 0x01;
  ExpectRefused(verifier_.Verify(flipped), kRuleBadSignature, "bad signature",
                flipped);
}

TEST_F(SigningTest, ChangedRecordKeyFails) {
  kafka::ConsumedMessage m = IntakeRecord();
  m.key = NewUuid();
  ExpectRefused(verifier_.Verify(m), kRuleBadSignature, "bad signature", m);
}

TEST_F(SigningTest, ChangedTopicFails) {
  // Same producer expected on a second topic: only the topic binding stops
  // a replay there.
  ASSERT_TRUE(verifier_.ExpectProducer("signpost.intake.v2", "intake").ok());
  kafka::ConsumedMessage m = IntakeRecord();
  m.topic = "signpost.intake.v2";
  ExpectRefused(verifier_.Verify(m), kRuleBadSignature, "bad signature", m);
}

TEST_F(SigningTest, ChangedOrRemovedSignedHeaderFails) {
  for (const char* name : {"ce_id", "ce_type", "ce_source", "ce_subject"}) {
    kafka::ConsumedMessage changed = IntakeRecord();
    SetHeader(&changed, name, "signpost.v1.ReferralTriaged");
    ExpectRefused(verifier_.Verify(changed), kRuleBadSignature, "bad signature",
                  changed);

    kafka::ConsumedMessage emptied = IntakeRecord();
    SetHeader(&emptied, name, "");
    ExpectRefused(verifier_.Verify(emptied), kRuleBadSignature, "bad signature",
                  emptied);

    kafka::ConsumedMessage removed = IntakeRecord();
    RemoveHeader(&removed, name);
    ExpectRefused(verifier_.Verify(removed), kRuleBadSignature, "bad signature",
                  removed);
  }
}

TEST_F(SigningTest, UnsignedHeadersMayChange) {
  kafka::ConsumedMessage m = IntakeRecord();
  SetHeader(&m, "traceparent", NewTraceparent());
  m.headers.emplace_back("dlq_reason", "x");
  EXPECT_TRUE(verifier_.Verify(m).ok()) << verifier_.Verify(m);
}

TEST_F(SigningTest, DuplicatedSignedHeaderIsMalformed) {
  kafka::ConsumedMessage m = IntakeRecord();
  m.headers.emplace_back("ce_type", "signpost.v1.ReferralTriaged");
  ExpectRefused(verifier_.Verify(m), kRuleMalformed, "ce_type appears 2", m);

  kafka::ConsumedMessage twice = IntakeRecord();
  twice.headers.emplace_back(kSigHeader, *twice.Header(kSigHeader));
  ExpectRefused(verifier_.Verify(twice), kRuleMalformed, "sp_sig appears 2",
                twice);
}

TEST_F(SigningTest, UnsignedFails) {
  kafka::ConsumedMessage m = IntakeRecord();
  for (const char* h : {kSigKeyHeader, kSigHeader, kSigAlgHeader}) {
    RemoveHeader(&m, h);
  }
  ExpectRefused(verifier_.Verify(m), kRuleUnsigned, "unsigned", m);
}

TEST_F(SigningTest, PartlySignedIsMalformed) {
  kafka::ConsumedMessage no_key = IntakeRecord();
  RemoveHeader(&no_key, kSigKeyHeader);
  ExpectRefused(verifier_.Verify(no_key), kRuleMalformed,
                "lacks the sp_sig_key", no_key);
  kafka::ConsumedMessage no_alg = IntakeRecord();
  RemoveHeader(&no_alg, kSigAlgHeader);
  ExpectRefused(verifier_.Verify(no_alg), kRuleMalformed,
                "lacks the sp_sig_alg", no_alg);
}

TEST_F(SigningTest, AnotherProducersValidSignatureFails) {
  // A valid triage signature over a record on the intake topic.
  kafka::ConsumedMessage m =
      SignedRecord(Signer("triage"), kIntakeTopic, Received("intake"));
  absl::Status s = verifier_.Verify(m);
  ExpectRefused(s, kRuleWrongProducer, "producer mismatch", m);
  EXPECT_THAT(s.message(), HasSubstr("belongs to producer triage"));
  EXPECT_THAT(s.message(), HasSubstr("signed by producer intake"));
}

TEST_F(SigningTest, UnknownKeyFails) {
  auto stranger = EventSigner::FromPem(NewKeyPair().private_pem, "intake");
  ASSERT_TRUE(stranger.ok());
  kafka::ConsumedMessage m = SignedRecord(*stranger, kIntakeTopic, Received());
  absl::Status s = verifier_.Verify(m);
  ExpectRefused(s, kRuleUnknownKey, "unknown key", m);
  EXPECT_THAT(s.message(), HasSubstr(stranger->key_id()));
}

TEST_F(SigningTest, KeyIdThatIsNotAKeyIdIsMalformedAndNotEchoed) {
  kafka::ConsumedMessage m = IntakeRecord();
  SetHeader(&m, kSigKeyHeader, "<script>evil</script>");
  absl::Status s = verifier_.Verify(m);
  ExpectRefused(s, kRuleMalformed, "not a key id", m);
  EXPECT_THAT(s.message(), Not(HasSubstr("evil")));
}

TEST_F(SigningTest, GarbageSignatureFails) {
  kafka::ConsumedMessage garbage = IntakeRecord();
  SetHeader(&garbage, kSigHeader, "!!not*base64??");
  ExpectRefused(verifier_.Verify(garbage), kRuleMalformed, "not base64",
                garbage);

  kafka::ConsumedMessage short_sig = IntakeRecord();
  SetHeader(&short_sig, kSigHeader, absl::Base64Escape("too short"));
  ExpectRefused(verifier_.Verify(short_sig), kRuleMalformed, "64-byte",
                short_sig);

  kafka::ConsumedMessage zeros = IntakeRecord();
  SetHeader(&zeros, kSigHeader, absl::Base64Escape(std::string(64, '\0')));
  ExpectRefused(verifier_.Verify(zeros), kRuleBadSignature, "bad signature",
                zeros);

  kafka::ConsumedMessage unpadded = IntakeRecord();
  std::string sig = *unpadded.Header(kSigHeader);
  ASSERT_EQ(sig.substr(sig.size() - 2), "==");
  SetHeader(&unpadded, kSigHeader, sig.substr(0, sig.size() - 2));
  ExpectRefused(verifier_.Verify(unpadded), kRuleMalformed,
                "not canonical padded base64", unpadded);
}

TEST_F(SigningTest, OtherAlgorithmFails) {
  kafka::ConsumedMessage m = IntakeRecord();
  SetHeader(&m, kSigAlgHeader, "none");
  ExpectRefused(verifier_.Verify(m), kRuleMalformed, "only ed25519", m);
}

TEST_F(SigningTest, UnknownTopicFails) {
  kafka::ConsumedMessage m =
      SignedRecord(Signer("intake"), "signpost.audit.v1", Received());
  ExpectRefused(verifier_.Verify(m), kRuleUnknownTopic, "unknown topic", m);
}

TEST_F(SigningTest, SignAndVerifyFromManyThreads) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        kafka::ConsumedMessage m =
            SignedRecord(Signer("orders"), kOrdersTopic, Received("orders"));
        if (!verifier_.Verify(m).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(KeyIdTest, IsStable) {
  auto a = EventSigner::FromPem(kRfc8032PrivatePem, "intake");
  auto b = EventSigner::FromPem(kRfc8032PrivatePem, "intake");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->key_id(), kRfc8032KeyId);
  EXPECT_EQ(b->key_id(), kRfc8032KeyId);

  EventVerifier v;
  ASSERT_TRUE(v.AddKey("intake", kRfc8032PublicPem).ok());
  EXPECT_THAT(v.KeyIdsOf("intake"), ::testing::ElementsAre(kRfc8032KeyId));

  KeyPair pair = NewKeyPair();
  auto fresh = EventSigner::FromPem(pair.private_pem, "intake");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(v.AddKey("intake", pair.public_pem).ok());
  EXPECT_THAT(v.KeyIdsOf("intake"), ::testing::Contains(fresh->key_id()));
  EXPECT_NE(fresh->key_id(), kRfc8032KeyId);
}

TEST(CanonicalBytesTest, IsLengthPrefixedAndMarksAbsentHeaders) {
  kafka::Headers headers = {{"ce_id", "i"},
                            {"traceparent", "ignored"},
                            {"ce_type", ""},
                            {"ce_source", "s"}};
  std::string expected;
  auto field = [&](const std::string& v) {
    expected += std::string(7, '\0');
    expected += static_cast<char>(v.size());
    expected += v;
  };
  field("signpost-event-signature-v1");
  field("t");
  field("k");
  expected += '\x01';
  field("i");  // ce_id
  expected += '\x01';
  field("");  // ce_type, present and empty
  expected += '\x01';
  field("s");        // ce_source
  expected += '\0';  // ce_subject absent
  field("p");
  EXPECT_EQ(CanonicalSigningBytes("t", "k", "p", headers), expected);
  // Moving bytes between fields changes the canonical string.
  EXPECT_NE(CanonicalSigningBytes("tk", "", "p", headers),
            CanonicalSigningBytes("t", "k", "p", headers));
}

TEST(CanonicalBytesTest, SignatureMatchesOpenSslCli) {
  // Golden value from `openssl pkeyutl -sign -rawin` over the same canonical
  // bytes, written independently: pins the encoding across versions.
  auto signer = EventSigner::FromPem(kRfc8032PrivatePem, "intake");
  ASSERT_TRUE(signer.ok()) << signer.status();
  kafka::OutgoingMessage m{kIntakeTopic,
                           "ref-1",
                           "payload",
                           {{"ce_id", "id-1"},
                            {"ce_type", "signpost.v1.ReferralReceived"},
                            {"ce_source", "/signpost/intake"}}};
  kafka::Headers sig = signer->Sign(m);
  ASSERT_EQ(sig.size(), 3u);
  EXPECT_EQ(sig[0],
            (std::pair<std::string, std::string>{"sp_sig_key", kRfc8032KeyId}));
  EXPECT_EQ(sig[1].first, "sp_sig");
  EXPECT_EQ(
      sig[1].second,
      "RW9yJlD7Dwe584AkXzVENg6BWZUB9NvxnsNVgObztoxtbvIE8jUYQ1tS74k9aKVHBPm"
      "kFF6//Dc98lBtpOLSBA==");
  EXPECT_EQ(sig[2],
            (std::pair<std::string, std::string>{"sp_sig_alg", "ed25519"}));
}

TEST(SignerTest, FromPemFileReadsAndNamesBadFiles) {
  testing::TempDir dir;
  KeyPair pair = NewKeyPair();
  WriteFile(dir.File("intake.key"), pair.private_pem);
  auto ok = EventSigner::FromPemFile(dir.File("intake.key"), "intake");
  ASSERT_TRUE(ok.ok()) << ok.status();

  WriteFile(dir.File("bad.key"), "not a key\n");
  auto bad = EventSigner::FromPemFile(dir.File("bad.key"), "intake");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr(dir.File("bad.key")));

  auto missing = EventSigner::FromPemFile(dir.File("none.key"), "intake");
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr(dir.File("none.key")));

  // A public key is not a private key.
  auto public_only = EventSigner::FromPem(pair.public_pem, "intake");
  EXPECT_EQ(public_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EventSigner::FromPem(pair.private_pem, "").ok());
}

TEST(SignerTest, RefusesEncryptedAndNonEd25519Keys) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  Bio bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(),
                                          EVP_aes_256_cbc(), nullptr, 0,
                                          nullptr, const_cast<char*>("pass")),
            1);
  // Refused without prompting for a passphrase.
  auto encrypted = EventSigner::FromPem(BioText(bio.get()), "intake");
  EXPECT_EQ(encrypted.status().code(), absl::StatusCode::kInvalidArgument);

  auto ec = EventSigner::FromPem(NewEcKeyPair().private_pem, "intake");
  EXPECT_EQ(ec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ec.status().message(), HasSubstr("not an Ed25519 key"));
}

TEST(VerifierTest, AddKeyAndExpectProducerRefuseConflicts) {
  EventVerifier v;
  KeyPair pair = NewKeyPair();
  ASSERT_TRUE(v.AddKey("intake", pair.public_pem).ok());
  EXPECT_TRUE(v.AddKey("intake", pair.public_pem).ok());  // no-op
  absl::Status twice = v.AddKey("triage", pair.public_pem);
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(twice.message(), HasSubstr("already belongs to producer intake"));

  EXPECT_FALSE(v.AddKey("intake", "garbage").ok());
  EXPECT_THAT(v.AddKey("intake", NewEcKeyPair().public_pem).message(),
              HasSubstr("not an Ed25519 key"));
  EXPECT_FALSE(v.AddKey("", NewKeyPair().public_pem).ok());

  ASSERT_TRUE(v.ExpectProducer(kIntakeTopic, "intake").ok());
  EXPECT_TRUE(v.ExpectProducer(kIntakeTopic, "intake").ok());
  EXPECT_FALSE(v.ExpectProducer(kIntakeTopic, "triage").ok());
  EXPECT_FALSE(v.ExpectProducer("", "triage").ok());
}

TEST(LoadVerifierTest, ReadsEveryProducersPublicKey) {
  testing::TempDir dir;
  std::map<std::string, EventSigner> signers;
  for (const TopicProducer& tp : kTopicProducers) {
    KeyPair pair = NewKeyPair();
    WriteFile(dir.File(std::string(tp.producer) + ".pub"), pair.public_pem);
    auto signer = EventSigner::FromPem(pair.private_pem, tp.producer);
    ASSERT_TRUE(signer.ok());
    signers.emplace(tp.producer, std::move(*signer));
  }
  auto verifier = LoadVerifier(dir.path());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  for (const auto& [producer, signer] : signers) {
    kafka::ConsumedMessage m =
        SignedRecord(signer, TopicOf(producer), Received(producer));
    EXPECT_TRUE(verifier->Verify(m).ok()) << producer;
    EXPECT_THAT(verifier->KeyIdsOf(producer),
                ::testing::ElementsAre(signer.key_id()));
  }
  // The topic mapping is the one of envelope.h.
  kafka::ConsumedMessage forged =
      SignedRecord(signers.at("notification"), kOrdersTopic, Received());
  EXPECT_EQ(RuleIdOf(verifier->Verify(forged)), kRuleWrongProducer);
}

// Rotation: a producer's next key sits beside its current one as
// <producer>.<label>.pub, and records signed with either verify.
TEST(LoadVerifierTest, ReadsAProducersFurtherKeysForRotation) {
  testing::TempDir dir;
  for (const TopicProducer& tp : kTopicProducers) {
    WriteFile(dir.File(std::string(tp.producer) + ".pub"),
              NewKeyPair().public_pem);
  }
  KeyPair current = NewKeyPair();
  KeyPair next = NewKeyPair();
  WriteFile(dir.File("intake.pub"), current.public_pem);
  WriteFile(dir.File("intake.next.pub"), next.public_pem);
  WriteFile(dir.File("intake.pub.bak"), "not a key, and not read");
  auto verifier = LoadVerifier(dir.path());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ(verifier->KeyIdsOf("intake").size(), 2u);
  EXPECT_EQ(verifier->KeyIdsOf("triage").size(), 1u);
  for (const KeyPair* pair : {&current, &next}) {
    auto signer = EventSigner::FromPem(pair->private_pem, "intake");
    ASSERT_TRUE(signer.ok());
    EXPECT_TRUE(
        verifier->Verify(SignedRecord(*signer, kIntakeTopic, Received())).ok());
  }
  // A bad further key is reported by its path like any other.
  WriteFile(dir.File("triage.2026.pub"), "-----BEGIN PUBLIC KEY-----\nxx\n");
  auto refused = LoadVerifier(dir.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr(dir.File("triage.2026.pub")));
}

TEST(LoadVerifierTest, NamesEveryBadOrMissingFile) {
  testing::TempDir dir;
  for (const TopicProducer& tp : kTopicProducers) {
    WriteFile(dir.File(std::string(tp.producer) + ".pub"),
              NewKeyPair().public_pem);
  }
  WriteFile(dir.File("triage.pub"), "-----BEGIN PUBLIC KEY-----\nxx\n");
  std::remove(dir.File("orders.pub").c_str());
  auto verifier = LoadVerifier(dir.path());
  ASSERT_FALSE(verifier.ok());
  EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(verifier.status().message(), HasSubstr(dir.File("triage.pub")));
  EXPECT_THAT(verifier.status().message(), HasSubstr(dir.File("orders.pub")));
  EXPECT_THAT(verifier.status().message(),
              Not(HasSubstr(dir.File("intake.pub"))));
}

}  // namespace
}  // namespace signpost::events
