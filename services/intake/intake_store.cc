#include "services/intake/intake_store.h"

#include "common/status/macros.h"

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

absl::StatusOr<std::optional<KeyedReferral>> IntakeStore::FindByIdempotencyKey(
    store::Tx& tx, absl::string_view idempotency_key) const {
  ASSIGN_OR_RETURN(
      store::Statement find,
      tx.Prepare("SELECT referral_id, request_digest, received_at_ms FROM "
                 "referrals WHERE idempotency_key = ?"));
  find.Bind(1, idempotency_key);
  ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::nullopt;
  return KeyedReferral{ReferralId(find.ColumnText(0)), find.ColumnText(1),
                       absl::FromUnixMillis(find.ColumnInt(2))};
}

absl::Status IntakeStore::Insert(store::Tx& tx,
                                 const NewReferral& referral) const {
  ASSIGN_OR_RETURN(
      store::Statement insert,
      tx.Prepare("INSERT INTO referrals (referral_id, idempotency_key, "
                 "request_digest, facts, protected_referral, "
                 "protected_format, area_code, source, received_at_ms) "
                 "VALUES (?,?,?,?,?,?,?,?,?)"));
  insert.Bind(1, referral.referral_id.value())
      .Bind(2, referral.idempotency_key)
      .Bind(3, referral.request_digest)
      .BindBlob(4, referral.facts.SerializeAsString())
      .BindBlob(5, referral.referral.SerializeAsString())
      .Bind(6, "plain-v0")
      .Bind(7, referral.referral.area_code())
      .Bind(8, static_cast<int64_t>(referral.referral.source()))
      .Bind(9, absl::ToUnixMillis(referral.received_at));
  return insert.Run();
}

absl::StatusOr<std::optional<ReceivedReferral>> IntakeStore::Find(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("SELECT protected_referral, received_at_ms FROM "
                              "referrals WHERE referral_id = ?"));
  stmt.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  ReceivedReferral out{
      referral_id, {}, absl::FromUnixMillis(stmt.ColumnInt(1))};
  if (!out.referral.ParseFromString(stmt.ColumnBlob(0))) {
    return absl::DataLossError("stored referral does not parse");
  }
  return out;
}

absl::StatusOr<int64_t> IntakeStore::Count(store::Tx& tx) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("SELECT COUNT(*) FROM referrals"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError("COUNT(*) returned no row");
  return stmt.ColumnInt(0);
}

}  // namespace signpost::intake
