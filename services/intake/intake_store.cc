#include "services/intake/intake_store.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/intake/validation.h"

namespace signpost::intake {

std::vector<std::string> IntakeStore::Migrations() {
  return {R"sql(
CREATE TABLE referrals (
  referral_id TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  request_digest TEXT NOT NULL,
  facts BLOB NOT NULL,
  -- The whole referral, personal data included. Stored as 'plain-v0' until
  -- field encryption lands; the format column says which.
  protected_referral BLOB NOT NULL,
  protected_format TEXT NOT NULL,
  area_code TEXT NOT NULL,
  source INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX referrals_area ON referrals(area_code, received_at_ms);
)sql"};
}

std::string DigestOf(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

absl::StatusOr<SubmitOutcome> IntakeStore::Submit(
    const v1::SubmitReferralRequest& request, absl::Time now,
    const std::string& traceparent) {
  SubmitOutcome outcome;
  std::string digest = DigestOf(request.referral());
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> find = tx.Prepare(
        "SELECT referral_id, request_digest, received_at_ms FROM referrals "
        "WHERE idempotency_key = ?");
    if (!find.ok()) return find.status();
    find->Bind(1, request.idempotency_key());
    absl::StatusOr<bool> found = find->Step();
    if (!found.ok()) return found.status();
    if (*found) {
      if (find->ColumnText(1) != digest) {
        return grpcutil::RuleViolation(
            "IDEMPOTENCY-KEY-REUSED", "idempotency_key",
            "this idempotency key was used for a different referral; use a "
            "new key for a new referral");
      }
      outcome.referral_id = find->ColumnText(0);
      outcome.duplicate = true;
      outcome.received_at = absl::FromUnixMillis(find->ColumnInt(2));
      return absl::OkStatus();
    }
    outcome.referral_id = NewUuid();
    outcome.received_at = now;
    v1::ReferralFacts facts = ExtractFacts(request.referral());
    absl::StatusOr<store::Statement> insert = tx.Prepare(
        "INSERT INTO referrals (referral_id, idempotency_key, request_digest, "
        "facts, protected_referral, protected_format, area_code, source, "
        "received_at_ms) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, outcome.referral_id)
        .Bind(2, request.idempotency_key())
        .Bind(3, digest)
        .BindBlob(4, facts.SerializeAsString())
        .BindBlob(5, request.referral().SerializeAsString())
        .Bind(6, "plain-v0")
        .Bind(7, request.referral().area_code())
        .Bind(8, static_cast<int64_t>(request.referral().source()))
        .Bind(9, absl::ToUnixMillis(now));
    if (absl::Status s = insert->Run(); !s.ok()) return s;

    v1::EventEnvelope event =
        events::NewEnvelope("intake", outcome.referral_id);
    *event.mutable_referral_received()->mutable_facts() = std::move(facts);
    events::StampType(&event);
    outcome.event_id = event.event_id();
    return store::AppendToOutbox(tx, event, events::kIntakeTopic, traceparent);
  });
  if (!status.ok()) return status;
  return outcome;
}

absl::StatusOr<v1::GetReferralResponse> IntakeStore::Get(
    const std::string& referral_id) {
  v1::GetReferralResponse response;
  bool found = false;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> stmt = tx.Prepare(
        "SELECT protected_referral, received_at_ms FROM referrals "
        "WHERE referral_id = ?");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, referral_id);
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    found = true;
    if (!response.mutable_referral()->ParseFromString(stmt->ColumnBlob(0))) {
      return absl::DataLossError("stored referral does not parse");
    }
    response.set_referral_id(referral_id);
    int64_t ms = stmt->ColumnInt(1);
    response.mutable_received_at()->set_seconds(ms / 1000);
    response.mutable_received_at()->set_nanos(static_cast<int>(ms % 1000) *
                                              1000000);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found)
    return absl::NotFoundError(
        absl::StrCat("referral ", referral_id, " not found"));
  return response;
}

absl::StatusOr<int64_t> IntakeStore::Count() {
  int64_t n = 0;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> stmt =
        tx.Prepare("SELECT COUNT(*) FROM referrals");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    n = stmt->ColumnInt(0);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return n;
}

}  // namespace signpost::intake
