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
)sql",
          R"sql(
-- The authenticated agency that submitted the referral (its certificate's
-- identity); idempotency keys are scoped to it.
ALTER TABLE referrals ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
-- Providers holding an offer or an accepted assignment, from advocacy's
-- events: who may read the referral (disclosure.h).
CREATE TABLE provider_holds (
  assignment_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  accepted INTEGER NOT NULL
);
CREATE INDEX provider_holds_referral ON provider_holds(referral_id);
-- Break-glass reads with their stated reasons (free text: kept here only;
-- the audit event carries the access id).
-- Whether triage's latest decision sends the referral to MARAC (from its
-- events): the MARAC coordinator sees the MARAC field set only then.
ALTER TABLE referrals ADD COLUMN marac INTEGER NOT NULL DEFAULT 0;
CREATE TABLE break_glass_reads (
  access_id TEXT PRIMARY KEY,
  agency_id TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  read_at_ms INTEGER NOT NULL
);
)sql",
          R"sql(
-- Envelope encryption (issue 10): each person's data key, wrapped by a
-- key-encryption key from the key file, with that key's id. Destroying a
-- row makes the person's sealed values unreadable.
CREATE TABLE data_keys (
  person_id TEXT PRIMARY KEY,
  kek_id TEXT NOT NULL,
  wrapped BLOB NOT NULL
);
ALTER TABLE referrals ADD COLUMN person_id TEXT NOT NULL DEFAULT '';
)sql"};
}

absl::StatusOr<std::optional<KeyedReferral>> IntakeStore::FindByIdempotencyKey(
    store::Tx& tx, absl::string_view idempotency_key) const {
  ASSIGN_OR_RETURN(
      store::Statement find,
      tx.Prepare("SELECT referral_id, request_digest, received_at_ms, "
                 "person_id FROM referrals WHERE idempotency_key = ?"));
  find.Bind(1, idempotency_key);
  ASSIGN_OR_RETURN(bool found, find.Step());
  if (!found) return std::nullopt;
  return KeyedReferral{ReferralId(find.ColumnText(0)), find.ColumnText(1),
                       absl::FromUnixMillis(find.ColumnInt(2)),
                       find.ColumnText(3)};
}

absl::Status IntakeStore::Insert(store::Tx& tx,
                                 const NewReferral& referral) const {
  ASSIGN_OR_RETURN(
      store::Statement insert,
      tx.Prepare("INSERT INTO referrals (referral_id, idempotency_key, "
                 "request_digest, facts, protected_referral, "
                 "protected_format, area_code, source, received_at_ms, "
                 "submitted_by, person_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
  insert.Bind(1, referral.referral_id.value())
      .Bind(2, referral.idempotency_key)
      .Bind(3, referral.request_digest)
      .BindBlob(4, referral.facts.SerializeAsString())
      .BindBlob(5, referral.sealed_referral)
      .Bind(6, kSealedFormat)
      .Bind(7, referral.referral.area_code())
      .Bind(8, static_cast<int64_t>(referral.referral.source()))
      .Bind(9, absl::ToUnixMillis(referral.received_at))
      .Bind(10, referral.submitted_by.value())
      .Bind(11, referral.person_id);
  return insert.Run();
}

absl::StatusOr<std::optional<StoredReferral>> IntakeStore::Find(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT protected_referral, received_at_ms, person_id, "
                 "protected_format FROM referrals WHERE referral_id = ?"));
  stmt.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  return StoredReferral{referral_id, stmt.ColumnText(2), stmt.ColumnText(3),
                        stmt.ColumnBlob(0),
                        absl::FromUnixMillis(stmt.ColumnInt(1))};
}

absl::StatusOr<std::optional<ReferralAccessFacts>> IntakeStore::FindAccessFacts(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement referral,
                   tx.Prepare("SELECT submitted_by, area_code, marac FROM "
                              "referrals WHERE referral_id = ?"));
  referral.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, referral.Step());
  if (!found) return std::nullopt;
  ReferralAccessFacts facts{AgencyId(referral.ColumnText(0)),
                            referral.ColumnText(1),
                            {},
                            referral.ColumnInt(2) != 0};
  ASSIGN_OR_RETURN(store::Statement holds,
                   tx.Prepare("SELECT provider_id, accepted FROM "
                              "provider_holds WHERE referral_id = ? "
                              "ORDER BY assignment_id"));
  holds.Bind(1, referral_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool row, holds.Step());
    if (!row) break;
    facts.holds.push_back(
        ProviderHold{ProviderId(holds.ColumnText(0)), holds.ColumnInt(1) != 0});
  }
  return facts;
}

absl::Status IntakeStore::PutHold(store::Tx& tx,
                                  const AssignmentId& assignment_id,
                                  const ReferralId& referral_id,
                                  const ProviderId& provider) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("INSERT OR IGNORE INTO provider_holds (assignment_id, "
                 "referral_id, provider_id, accepted) VALUES (?,?,?,0)"));
  stmt.Bind(1, assignment_id.value())
      .Bind(2, referral_id.value())
      .Bind(3, provider.value());
  return stmt.Run();
}

absl::Status IntakeStore::AcceptHold(store::Tx& tx,
                                     const AssignmentId& assignment_id) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("UPDATE provider_holds SET accepted = 1 WHERE "
                              "assignment_id = ?"));
  stmt.Bind(1, assignment_id.value());
  return stmt.Run();
}

absl::Status IntakeStore::EndHold(store::Tx& tx,
                                  const AssignmentId& assignment_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("DELETE FROM provider_holds WHERE assignment_id = ?"));
  stmt.Bind(1, assignment_id.value());
  return stmt.Run();
}

absl::Status IntakeStore::SetMarac(store::Tx& tx, const ReferralId& referral_id,
                                   bool marac) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("UPDATE referrals SET marac = ? WHERE referral_id = ?"));
  stmt.Bind(1, static_cast<int64_t>(marac)).Bind(2, referral_id.value());
  return stmt.Run();
}

absl::Status IntakeStore::InsertBreakGlass(store::Tx& tx,
                                           const BreakGlassRead& read) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("INSERT INTO break_glass_reads (access_id, agency_id, "
                 "referral_id, reason, read_at_ms) VALUES (?,?,?,?,?)"));
  stmt.Bind(1, read.access_id)
      .Bind(2, read.agency.value())
      .Bind(3, read.referral_id.value())
      .BindBlob(4, read.sealed_reason)
      .Bind(5, absl::ToUnixMillis(read.at));
  return stmt.Run();
}

absl::StatusOr<int64_t> IntakeStore::Count(store::Tx& tx) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("SELECT COUNT(*) FROM referrals"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError("COUNT(*) returned no row");
  return stmt.ColumnInt(0);
}

}  // namespace signpost::intake
