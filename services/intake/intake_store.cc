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
)sql",
          R"sql(
-- People, not references (issue 10): blind indexes (HMAC digests under the
-- matching key, matching.h) find a person again; erasing a person deletes
-- theirs.
CREATE TABLE blind_index (
  kind TEXT NOT NULL,
  digest BLOB NOT NULL,
  person_id TEXT NOT NULL,
  PRIMARY KEY (kind, digest)
);
CREATE INDEX blind_index_person ON blind_index(person_id);
CREATE INDEX referrals_person ON referrals(person_id, received_at_ms);
-- The referral after submission: ReferralLifecycle, the referral a linked
-- one joined, the incident (a digest of the crime reference, and its time)
-- for linking, when it closed (retention) and when it was erased.
ALTER TABLE referrals ADD COLUMN lifecycle INTEGER NOT NULL DEFAULT 1;
ALTER TABLE referrals ADD COLUMN linked_to TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN incident_digest BLOB NOT NULL DEFAULT x'';
ALTER TABLE referrals ADD COLUMN incident_time_ms INTEGER;
ALTER TABLE referrals ADD COLUMN closed_at_ms INTEGER;
ALTER TABLE referrals ADD COLUMN erased_at_ms INTEGER;
-- Who recorded each consent change, and when (codes only).
CREATE TABLE consent_changes (
  referral_id TEXT NOT NULL,
  pathway INTEGER NOT NULL,
  rj_party INTEGER NOT NULL,
  status INTEGER NOT NULL,
  recorded_by TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL
);
CREATE INDEX consent_changes_referral ON consent_changes(referral_id);
-- Each erasure: the ground, who asked, and the stated reason (free text,
-- sealed under a data key of the erasure's own).
CREATE TABLE erasures (
  erasure_id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL,
  ground INTEGER NOT NULL,
  erased_by TEXT NOT NULL,
  sealed_reason BLOB NOT NULL,
  referrals INTEGER NOT NULL,
  erased_at_ms INTEGER NOT NULL
);
CREATE INDEX erasures_person ON erasures(person_id);
-- Durable retention timers: a person is erased when theirs falls due.
CREATE TABLE retention_timers (
  person_id TEXT PRIMARY KEY,
  due_at_ms INTEGER NOT NULL
);
CREATE INDEX retention_due ON retention_timers(due_at_ms);
)sql",
          R"sql(
-- Linking looks at a person's referrals of the same crime reference or
-- near the same time only, however many referrals the person has.
CREATE INDEX referrals_person_incident
  ON referrals(person_id, incident_digest);
CREATE INDEX referrals_person_time
  ON referrals(person_id, incident_time_ms);
)sql",
          R"sql(
-- A check value of the matching key (an HMAC of a fixed label): a start
-- with another key, which would match nobody again, is refused.
CREATE TABLE matching_key_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  check_value BLOB NOT NULL
);
)sql",
          R"sql(
-- Issue 12: what the victim is told (notice_store.h). One row per referral
-- and kind; no personal data (the address is read from the sealed
-- referral when the notice is sent).
CREATE TABLE victim_notices (
  referral_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  channel INTEGER NOT NULL DEFAULT 0,
  due_at_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  sent_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (referral_id, kind)
);
CREATE INDEX victim_notices_due ON victim_notices(status, due_at_ms);
)sql",
          R"sql(
-- Issue 13: each referral's progress through triage and advocacy, and the
-- stall watchdog's marks (stalls.h). Referrals from before are taken as
-- through, so an upgrade raises no false stalls.
ALTER TABLE referrals ADD COLUMN triaged_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN routing_since_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN routed_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN stall_stage TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN stall_first_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN stall_last_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN stall_reports INTEGER NOT NULL DEFAULT 0;
UPDATE referrals SET triaged_at_ms = received_at_ms,
                     routed_at_ms = received_at_ms;
CREATE INDEX referrals_untriaged ON referrals(triaged_at_ms, received_at_ms);
CREATE INDEX referrals_unrouted
  ON referrals(routed_at_ms, routing_since_ms);
)sql",
          R"sql(
-- Issue 16: the referrers of the referrals linked to one (FindAccessFacts,
-- kLinkedReferrersSql) without a scan of every referral.
CREATE INDEX referrals_linked
  ON referrals(linked_to, lifecycle, submitted_by);
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
                 "submitted_by, person_id, lifecycle, linked_to, "
                 "incident_digest, incident_time_ms) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
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
      .Bind(11, referral.person_id)
      .Bind(12, static_cast<int64_t>(referral.linked_to.value().empty()
                                         ? v1::REFERRAL_LIFECYCLE_ACTIVE
                                         : v1::REFERRAL_LIFECYCLE_LINKED))
      .Bind(13, referral.linked_to.value())
      .BindBlob(14, referral.incident_digest);
  if (referral.incident_time.has_value()) {
    insert.Bind(15, absl::ToUnixMillis(*referral.incident_time));
  }
  return insert.Run();
}

absl::StatusOr<std::optional<StoredReferral>> IntakeStore::Find(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT protected_referral, received_at_ms, person_id, "
                 "protected_format, lifecycle, linked_to, erased_at_ms "
                 "FROM referrals WHERE referral_id = ?"));
  stmt.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  StoredReferral out{referral_id,
                     stmt.ColumnText(2),
                     stmt.ColumnText(3),
                     stmt.ColumnBlob(0),
                     absl::FromUnixMillis(stmt.ColumnInt(1)),
                     static_cast<v1::ReferralLifecycle>(stmt.ColumnInt(4)),
                     ReferralId(stmt.ColumnText(5)),
                     std::nullopt};
  if (!stmt.ColumnIsNull(6)) {
    out.erased_at = absl::FromUnixMillis(stmt.ColumnInt(6));
  }
  return out;
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
                            referral.ColumnInt(2) != 0,
                            {}};
  ASSIGN_OR_RETURN(store::Statement linked, tx.Prepare(kLinkedReferrersSql));
  linked.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(v1::REFERRAL_LIFECYCLE_LINKED));
  while (true) {
    ASSIGN_OR_RETURN(bool row, linked.Step());
    if (!row) break;
    facts.linked_referrers.emplace_back(linked.ColumnText(0));
  }
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
      tx.Prepare("INSERT INTO provider_holds (assignment_id, referral_id, "
                 "provider_id, accepted) VALUES (?,?,?,0) ON "
                 "CONFLICT(assignment_id) DO UPDATE SET provider_id = "
                 "excluded.provider_id WHERE provider_holds.provider_id = ''"));
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

absl::StatusOr<std::optional<PersonMatch>> IntakeStore::FindPerson(
    store::Tx& tx, const std::vector<BlindIndex>& indexes) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("SELECT person_id FROM blind_index WHERE "
                              "kind = ? AND digest = ?"));
  for (const BlindIndex& index : indexes) {  // strongest first
    stmt.Reset();
    stmt.Bind(1, IndexKindName(index.kind)).BindBlob(2, index.digest);
    ASSIGN_OR_RETURN(bool found, stmt.Step());
    if (found) return PersonMatch{stmt.ColumnText(0), index.kind};
  }
  return std::nullopt;
}

absl::StatusOr<bool> IntakeStore::HasIndexOfKind(store::Tx& tx,
                                                 absl::string_view person_id,
                                                 IndexKind kind) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT 1 FROM blind_index WHERE person_id = ? AND kind = ? "
                 "LIMIT 1"));
  stmt.Bind(1, person_id).Bind(2, IndexKindName(kind));
  return stmt.Step();
}

absl::Status IntakeStore::PutIndexes(
    store::Tx& tx, absl::string_view person_id,
    const std::vector<BlindIndex>& indexes) const {
  // An entry already naming someone else keeps them: the stronger match
  // found this person, and one digest names one person.
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("INSERT OR IGNORE INTO blind_index (kind, "
                              "digest, person_id) VALUES (?,?,?)"));
  for (const BlindIndex& index : indexes) {
    stmt.Reset();
    stmt.Bind(1, IndexKindName(index.kind))
        .BindBlob(2, index.digest)
        .Bind(3, person_id);
    RETURN_IF_ERROR(stmt.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> IntakeStore::DeleteIndexes(
    store::Tx& tx, absl::string_view person_id) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("DELETE FROM blind_index WHERE person_id = ?"));
  stmt.Bind(1, person_id);
  RETURN_IF_ERROR(stmt.Run());
  return tx.Changes();
}

absl::StatusOr<std::vector<IncidentCandidate>> IntakeStore::LinkCandidates(
    store::Tx& tx, absl::string_view person_id, const AgencyId& referrer,
    absl::string_view incident_digest, std::optional<absl::Time> incident_time,
    absl::Duration window) const {
  // The same crime reference, or an incident within the window: the only
  // referrals FindLink can choose (matching.h), oldest first.
  ASSIGN_OR_RETURN(store::Statement stmt, tx.Prepare(kLinkCandidatesSql));
  stmt.Bind(1, person_id)
      .Bind(2, static_cast<int64_t>(v1::REFERRAL_LIFECYCLE_ACTIVE))
      .BindBlob(3, incident_digest)
      .Bind(6, referrer.value());
  if (incident_time.has_value()) {
    stmt.Bind(4, absl::ToUnixMillis(*incident_time - window))
        .Bind(5, absl::ToUnixMillis(*incident_time + window));
  } else {
    stmt.BindNull(4).BindNull(5);
  }
  std::vector<IncidentCandidate> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    IncidentCandidate c{ReferralId(stmt.ColumnText(0)),
                        AgencyId(stmt.ColumnText(1)), stmt.ColumnBlob(2),
                        std::nullopt};
    if (!stmt.ColumnIsNull(3)) {
      c.incident_time = absl::FromUnixMillis(stmt.ColumnInt(3));
    }
    out.push_back(std::move(c));
  }
}

absl::StatusOr<std::optional<ReferralState>> IntakeStore::FindState(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT person_id, lifecycle, linked_to, facts, area_code, "
                 "submitted_by FROM referrals WHERE referral_id = ?"));
  stmt.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  ReferralState state;
  state.referral_id = referral_id;
  state.person_id = stmt.ColumnText(0);
  state.lifecycle = static_cast<v1::ReferralLifecycle>(stmt.ColumnInt(1));
  state.linked_to = ReferralId(stmt.ColumnText(2));
  if (!state.facts.ParseFromString(stmt.ColumnBlob(3))) {
    return absl::DataLossError("stored referral facts do not parse");
  }
  state.area_code = stmt.ColumnText(4);
  state.submitted_by = AgencyId(stmt.ColumnText(5));
  return state;
}

absl::Status IntakeStore::UpdateState(store::Tx& tx,
                                      const ReferralState& state) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("UPDATE referrals SET lifecycle = ?, facts = ? "
                              "WHERE referral_id = ?"));
  stmt.Bind(1, static_cast<int64_t>(state.lifecycle))
      .BindBlob(2, state.facts.SerializeAsString())
      .Bind(3, state.referral_id.value());
  return stmt.Run();
}

absl::Status IntakeStore::InsertConsentChange(
    store::Tx& tx, const ReferralId& referral_id, v1::Pathway pathway,
    v1::RjParty party, v1::ConsentStatus status, const AgencyId& recorded_by,
    absl::Time at) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("INSERT INTO consent_changes (referral_id, pathway, "
                 "rj_party, status, recorded_by, recorded_at_ms) "
                 "VALUES (?,?,?,?,?,?)"));
  stmt.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(pathway))
      .Bind(3, static_cast<int64_t>(party))
      .Bind(4, static_cast<int64_t>(status))
      .Bind(5, recorded_by.value())
      .Bind(6, absl::ToUnixMillis(at));
  return stmt.Run();
}

absl::StatusOr<std::vector<PersonReferral>> IntakeStore::ReferralsOfPerson(
    store::Tx& tx, absl::string_view person_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT referral_id, lifecycle, area_code, closed_at_ms "
                 "FROM referrals WHERE person_id = ? "
                 "ORDER BY received_at_ms, referral_id"));
  stmt.Bind(1, person_id);
  std::vector<PersonReferral> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    PersonReferral r{ReferralId(stmt.ColumnText(0)),
                     static_cast<v1::ReferralLifecycle>(stmt.ColumnInt(1)),
                     stmt.ColumnText(2), std::nullopt};
    if (!stmt.ColumnIsNull(3)) {
      r.closed_at = absl::FromUnixMillis(stmt.ColumnInt(3));
    }
    out.push_back(std::move(r));
  }
}

absl::Status IntakeStore::MarkClosed(store::Tx& tx,
                                     const ReferralId& referral_id,
                                     absl::Time at) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("UPDATE referrals SET closed_at_ms = ? WHERE "
                              "referral_id = ? AND closed_at_ms IS NULL"));
  stmt.Bind(1, absl::ToUnixMillis(at)).Bind(2, referral_id.value());
  return stmt.Run();
}

absl::StatusOr<bool> IntakeStore::ClearClosed(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("UPDATE referrals SET closed_at_ms = NULL WHERE referral_id "
                 "= ? AND lifecycle = ? AND closed_at_ms IS NOT NULL"));
  stmt.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(v1::REFERRAL_LIFECYCLE_ACTIVE));
  RETURN_IF_ERROR(stmt.Run());
  return tx.Changes() > 0;
}

absl::StatusOr<int64_t> IntakeStore::CountHolds(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("SELECT COUNT(*) FROM provider_holds WHERE "
                              "referral_id = ?"));
  stmt.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError("COUNT(*) returned no row");
  return stmt.ColumnInt(0);
}

absl::Status IntakeStore::EraseReferral(store::Tx& tx,
                                        const ReferralId& referral_id,
                                        const v1::ReferralFacts& facts,
                                        absl::Time at) const {
  // With secure_delete on, the old bytes are zeroed, not left in free
  // pages; the caller checkpoints the WAL after the commit.
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("UPDATE referrals SET protected_referral = x'', "
                 "protected_format = ?, lifecycle = ?, erased_at_ms = ?, "
                 "facts = ?, incident_digest = x'' WHERE referral_id = ?"));
  stmt.Bind(1, kErasedFormat)
      .Bind(2, static_cast<int64_t>(v1::REFERRAL_LIFECYCLE_ERASED))
      .Bind(3, absl::ToUnixMillis(at))
      .BindBlob(4, facts.SerializeAsString())
      .Bind(5, referral_id.value());
  RETURN_IF_ERROR(stmt.Run());
  ASSIGN_OR_RETURN(
      store::Statement reads,
      tx.Prepare("DELETE FROM break_glass_reads WHERE referral_id = ?"));
  reads.Bind(1, referral_id.value());
  RETURN_IF_ERROR(reads.Run());
  ASSIGN_OR_RETURN(
      store::Statement holds,
      tx.Prepare("DELETE FROM provider_holds WHERE referral_id = ?"));
  holds.Bind(1, referral_id.value());
  return holds.Run();
}

absl::Status IntakeStore::InsertErasure(store::Tx& tx,
                                        const ErasureRecord& e) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("INSERT INTO erasures (erasure_id, person_id, ground, "
                 "erased_by, sealed_reason, referrals, erased_at_ms) "
                 "VALUES (?,?,?,?,?,?,?)"));
  stmt.Bind(1, e.erasure_id)
      .Bind(2, e.person_id)
      .Bind(3, static_cast<int64_t>(e.ground))
      .Bind(4, e.erased_by)
      .BindBlob(5, e.sealed_reason)
      .Bind(6, static_cast<int64_t>(e.referrals))
      .Bind(7, absl::ToUnixMillis(e.erased_at));
  return stmt.Run();
}

absl::StatusOr<std::optional<ErasureRecord>> IntakeStore::FindErasure(
    store::Tx& tx, absl::string_view person_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT erasure_id, ground, erased_by, referrals, "
                 "erased_at_ms FROM erasures WHERE person_id = ? "
                 "ORDER BY erased_at_ms DESC LIMIT 1"));
  stmt.Bind(1, person_id);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  return ErasureRecord{stmt.ColumnText(0),
                       std::string(person_id),
                       static_cast<v1::ErasureGround>(stmt.ColumnInt(1)),
                       stmt.ColumnText(2),
                       "",
                       static_cast<int>(stmt.ColumnInt(3)),
                       absl::FromUnixMillis(stmt.ColumnInt(4))};
}

absl::Status IntakeStore::PutRetentionTimer(store::Tx& tx,
                                            absl::string_view person_id,
                                            absl::Time due) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("INSERT INTO retention_timers (person_id, due_at_ms) "
                 "VALUES (?,?) ON CONFLICT(person_id) DO UPDATE SET "
                 "due_at_ms = excluded.due_at_ms"));
  stmt.Bind(1, person_id).Bind(2, absl::ToUnixMillis(due));
  return stmt.Run();
}

absl::Status IntakeStore::DeleteRetentionTimer(
    store::Tx& tx, absl::string_view person_id) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("DELETE FROM retention_timers WHERE person_id = ?"));
  stmt.Bind(1, person_id);
  return stmt.Run();
}

absl::StatusOr<std::vector<std::string>> IntakeStore::RetentionDue(
    store::Tx& tx, absl::Time now, int limit) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT person_id FROM retention_timers WHERE due_at_ms <= "
                 "? ORDER BY due_at_ms, person_id LIMIT ?"));
  stmt.Bind(1, absl::ToUnixMillis(now)).Bind(2, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(stmt.ColumnText(0));
  }
}

absl::StatusOr<std::optional<std::string>> IntakeStore::FindMatchingKeyCheck(
    store::Tx& tx) const {
  ASSIGN_OR_RETURN(
      store::Statement stmt,
      tx.Prepare("SELECT check_value FROM matching_key_check WHERE id = 1"));
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  return stmt.ColumnBlob(0);
}

absl::Status IntakeStore::InsertMatchingKeyCheck(
    store::Tx& tx, absl::string_view check_value) const {
  ASSIGN_OR_RETURN(store::Statement stmt,
                   tx.Prepare("INSERT INTO matching_key_check (id, "
                              "check_value) VALUES (1, ?)"));
  stmt.BindBlob(1, check_value);
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
