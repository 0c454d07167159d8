#include "services/triage/triage_store.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "common/time/timestamps.h"
#include "services/triage/marac_store.h"

namespace signpost::triage {
namespace {

constexpr int64_t kYearMillis = int64_t{365} * 86400000;

int64_t IncidentMillis(const v1::ReferralFacts& facts) {
  return absl::ToUnixMillis(IncidentTime(facts));
}

absl::Status Unparsable(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("stored ", what, " does not parse"));
}

}  // namespace

std::vector<std::string> TriageStore::Migrations() {
  return {R"sql(
CREATE TABLE decisions (
  referral_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  decision BLOB NOT NULL,
  policy_version TEXT NOT NULL,
  area_code TEXT NOT NULL,
  marac INTEGER NOT NULL,
  decided_at_ms INTEGER NOT NULL,
  cause_event_id TEXT NOT NULL,
  PRIMARY KEY (referral_id, version)
);
CREATE INDEX decisions_area_marac ON decisions(area_code, marac);
CREATE TABLE victim_history (
  victim_ref TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  incident_time_ms INTEGER NOT NULL,
  marac INTEGER NOT NULL,
  PRIMARY KEY (victim_ref, referral_id)
);
)sql",
          R"sql(
CREATE TABLE referral_facts (
  referral_id TEXT PRIMARY KEY,
  facts BLOB NOT NULL,
  override_risk INTEGER NOT NULL DEFAULT 0,
  override_practitioner TEXT NOT NULL DEFAULT ''
);
ALTER TABLE decisions ADD COLUMN cause TEXT NOT NULL DEFAULT 'RECEIVED';
ALTER TABLE decisions ADD COLUMN practitioner_id TEXT NOT NULL DEFAULT '';
-- Free text from the practitioner: kept here only, never on the event log.
ALTER TABLE decisions ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
)sql",
          R"sql(
ALTER TABLE victim_history ADD COLUMN domestic_abuse INTEGER NOT NULL DEFAULT 1;
CREATE INDEX victim_history_time ON victim_history(victim_ref, incident_time_ms);
)sql",
          R"sql(
-- Keyset paging of the MARAC agenda, in its order.
CREATE INDEX decisions_agenda
  ON decisions(area_code, marac, decided_at_ms, referral_id);
)sql",
          R"sql(
-- The authenticated agency a practitioner acted for (issue 9).
ALTER TABLE decisions ADD COLUMN practitioner_agency TEXT NOT NULL DEFAULT '';
)sql", store::kDataKeysMigration,
          R"sql(
-- Override reasons sealed with the person's data key (issue 10): the
-- format of override_reason ('' = plaintext written before sealing).
ALTER TABLE decisions ADD COLUMN override_reason_format TEXT NOT NULL DEFAULT '';
)sql", kMaracMigration,
          R"sql(
-- Issue 16: the history lookups read a bounded number of index entries
-- however many referrals the victim has. da_seq numbers a victim's
-- domestic-abuse rows 1, 2, ... in incident order (ties in the order they
-- were recorded; 0 on other rows), so the count in a window is the
-- difference of two positions instead of a walk over the window.
ALTER TABLE victim_history ADD COLUMN da_seq INTEGER NOT NULL DEFAULT 0;
UPDATE victim_history SET da_seq = (
  SELECT COUNT(*) FROM victim_history h
  WHERE h.victim_ref = victim_history.victim_ref AND h.domestic_abuse = 1
    AND (h.incident_time_ms, h.rowid) <=
        (victim_history.incident_time_ms, victim_history.rowid))
  WHERE domestic_abuse = 1;
CREATE INDEX victim_history_da
  ON victim_history(victim_ref, domestic_abuse, incident_time_ms, da_seq);
CREATE INDEX victim_history_marac
  ON victim_history(victim_ref, marac, incident_time_ms, referral_id);
DROP INDEX victim_history_time;
)sql"};
}

namespace {

// The victim's row for one referral, as recorded.
struct HistoryRow {
  int64_t incident_time_ms = 0;
  bool domestic_abuse = false;
  int64_t da_seq = 0;
};

absl::StatusOr<std::optional<HistoryRow>> FindHistoryRow(
    store::Tx& tx, const std::string& victim_ref,
    const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT incident_time_ms, domestic_abuse, da_seq FROM "
                 "victim_history WHERE victim_ref = ? AND referral_id = ?"));
  q.Bind(1, victim_ref).Bind(2, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<HistoryRow>();
  return std::optional<HistoryRow>(
      HistoryRow{q.ColumnInt(0), q.ColumnInt(1) != 0, q.ColumnInt(2)});
}

// How many of the victim's domestic-abuse rows have an incident at or before
// `at_ms`: the position of the last of them (one index entry).
absl::StatusOr<int64_t> DaRowsUpTo(store::Tx& tx, const std::string& victim_ref,
                                   int64_t at_ms) {
  ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(TriageStore::kDaPositionSql));
  q.Bind(1, victim_ref).Bind(2, at_ms);
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.ColumnInt(0) : 0;
}

}  // namespace

absl::StatusOr<VictimHistory> TriageStore::LoadVictimHistory(
    store::Tx& tx, const ReferralId& referral_id,
    const v1::ReferralFacts& facts) const {
  VictimHistory history;
  if (facts.person_id().empty()) return history;
  const std::string& victim_ref = facts.person_id();
  const int64_t incident_ms = IncidentMillis(facts);
  ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(kLastMaracSql));
  q.Bind(1, victim_ref).Bind(2, referral_id.value()).Bind(3, incident_ms);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (row && !q.ColumnIsNull(0)) {
    history.last_marac_referral = absl::FromUnixMillis(q.ColumnInt(0));
  }
  // Domestic-abuse referrals with an incident in (incident - 1 year,
  // incident], this one excluded.
  const int64_t from_ms = incident_ms - kYearMillis;
  ASSIGN_OR_RETURN(int64_t up_to_incident,
                   DaRowsUpTo(tx, victim_ref, incident_ms));
  ASSIGN_OR_RETURN(int64_t up_to_from, DaRowsUpTo(tx, victim_ref, from_ms));
  int64_t count = up_to_incident - up_to_from;
  ASSIGN_OR_RETURN(std::optional<HistoryRow> own,
                   FindHistoryRow(tx, victim_ref, referral_id));
  if (own.has_value() && own->domestic_abuse &&
      own->incident_time_ms > from_ms && own->incident_time_ms <= incident_ms) {
    --count;
  }
  history.earlier_da_referrals_12_months = static_cast<int>(count);
  return history;
}

absl::StatusOr<std::optional<ReferralRecord>> TriageStore::FindReferral(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT f.facts, f.override_risk, f.override_practitioner, "
                 "d.decision FROM referral_facts f "
                 "JOIN decisions d ON d.referral_id = f.referral_id "
                 "WHERE f.referral_id = ? ORDER BY d.version DESC LIMIT 1"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<ReferralRecord>();
  ReferralRecord r;
  if (!r.facts.ParseFromString(q.ColumnBlob(0)) ||
      !r.latest.ParseFromString(q.ColumnBlob(3))) {
    return Unparsable("triage state");
  }
  r.override_risk.risk = static_cast<v1::RiskLevel>(q.ColumnInt(1));
  r.override_risk.practitioner_id = q.ColumnText(2);
  return std::optional<ReferralRecord>(std::move(r));
}

absl::Status TriageStore::InsertFacts(store::Tx& tx,
                                      const ReferralId& referral_id,
                                      const v1::ReferralFacts& facts) const {
  ASSIGN_OR_RETURN(store::Statement f,
                   tx.Prepare("INSERT OR REPLACE INTO referral_facts "
                              "(referral_id, facts) VALUES (?,?)"));
  f.Bind(1, referral_id.value()).BindBlob(2, facts.SerializeAsString());
  return f.Run();
}

absl::Status TriageStore::UpdateFacts(store::Tx& tx,
                                      const ReferralId& referral_id,
                                      const v1::ReferralFacts& facts) const {
  ASSIGN_OR_RETURN(
      store::Statement f,
      tx.Prepare("UPDATE referral_facts SET facts = ? WHERE referral_id = ?"));
  f.BindBlob(1, facts.SerializeAsString()).Bind(2, referral_id.value());
  return f.Run();
}

absl::Status TriageStore::UpdateOverride(
    store::Tx& tx, const ReferralId& referral_id,
    const RiskOverride& override_risk) const {
  ASSIGN_OR_RETURN(
      store::Statement f,
      tx.Prepare("UPDATE referral_facts SET override_risk = ?, "
                 "override_practitioner = ? WHERE referral_id = ?"));
  f.Bind(1, static_cast<int64_t>(override_risk.risk))
      .Bind(2, override_risk.practitioner_id)
      .Bind(3, referral_id.value());
  return f.Run();
}

absl::Status TriageStore::InsertDecision(store::Tx& tx,
                                         const ReferralId& referral_id,
                                         const DecisionRecord& record) const {
  const v1::ReferralTriaged& d = record.decision;
  ASSIGN_OR_RETURN(
      store::Statement insert,
      tx.Prepare("INSERT INTO decisions (referral_id, version, decision, "
                 "policy_version, area_code, marac, decided_at_ms, "
                 "cause_event_id, cause, practitioner_id, override_reason, "
                 "practitioner_agency, override_reason_format) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  insert.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(d.version()))
      .BindBlob(3, d.SerializeAsString())
      .Bind(4, d.policy_version())
      .Bind(5, d.area_code())
      .Bind(6, static_cast<int64_t>(d.marac()))
      .Bind(7, absl::ToUnixMillis(record.decided_at))
      .Bind(8, record.cause_event_id)
      .Bind(9, record.cause)
      .Bind(10, record.practitioner_id)
      .BindBlob(11, record.override_reason.value)
      .Bind(12, record.practitioner_agency)
      .Bind(13, record.override_reason.format);
  return insert.Run();
}

absl::Status TriageStore::RecordVictimReferral(store::Tx& tx,
                                               const ReferralId& referral_id,
                                               const v1::ReferralFacts& facts,
                                               bool marac) const {
  if (facts.person_id().empty()) return absl::OkStatus();
  const std::string& victim_ref = facts.person_id();
  const int64_t incident_ms = IncidentMillis(facts);
  const bool da =
      std::find(facts.harm_types().begin(), facts.harm_types().end(),
                v1::HARM_TYPE_DOMESTIC_ABUSE) != facts.harm_types().end();
  ASSIGN_OR_RETURN(std::optional<HistoryRow> old,
                   FindHistoryRow(tx, victim_ref, referral_id));
  if (old.has_value() && old->incident_time_ms == incident_ms &&
      old->domestic_abuse == da) {
    // Its place among the victim's rows stays: only MARAC may change.
    ASSIGN_OR_RETURN(store::Statement u,
                     tx.Prepare("UPDATE victim_history SET marac = ? WHERE "
                                "victim_ref = ? AND referral_id = ?"));
    u.Bind(1, static_cast<int64_t>(marac))
        .Bind(2, victim_ref)
        .Bind(3, referral_id.value());
    return u.Run();
  }
  if (old.has_value()) {
    ASSIGN_OR_RETURN(store::Statement d,
                     tx.Prepare("DELETE FROM victim_history WHERE "
                                "victim_ref = ? AND referral_id = ?"));
    d.Bind(1, victim_ref).Bind(2, referral_id.value());
    RETURN_IF_ERROR(d.Run());
    if (old->domestic_abuse) {
      // The rows after it move up one place.
      ASSIGN_OR_RETURN(
          store::Statement up,
          tx.Prepare("UPDATE victim_history SET da_seq = da_seq - 1 WHERE "
                     "victim_ref = ? AND domestic_abuse = 1 AND "
                     "incident_time_ms >= ? AND da_seq > ?"));
      up.Bind(1, victim_ref)
          .Bind(2, old->incident_time_ms)
          .Bind(3, old->da_seq);
      RETURN_IF_ERROR(up.Run());
    }
  }
  int64_t da_seq = 0;
  if (da) {
    // Last among the rows of its incident time; the rows of later incidents
    // (none, when referrals arrive in incident order) move down one place.
    ASSIGN_OR_RETURN(int64_t before, DaRowsUpTo(tx, victim_ref, incident_ms));
    da_seq = before + 1;
    ASSIGN_OR_RETURN(
        store::Statement down,
        tx.Prepare("UPDATE victim_history SET da_seq = da_seq + 1 WHERE "
                   "victim_ref = ? AND domestic_abuse = 1 AND "
                   "incident_time_ms > ?"));
    down.Bind(1, victim_ref).Bind(2, incident_ms);
    RETURN_IF_ERROR(down.Run());
  }
  ASSIGN_OR_RETURN(
      store::Statement h,
      tx.Prepare("INSERT INTO victim_history (victim_ref, referral_id, "
                 "incident_time_ms, marac, domestic_abuse, da_seq) "
                 "VALUES (?,?,?,?,?,?)"));
  h.Bind(1, victim_ref)
      .Bind(2, referral_id.value())
      .Bind(3, incident_ms)
      .Bind(4, static_cast<int64_t>(marac))
      .Bind(5, static_cast<int64_t>(da))
      .Bind(6, da_seq);
  return h.Run();
}

absl::StatusOr<std::vector<std::pair<int, StoredText>>>
TriageStore::ListOverrideReasons(store::Tx& tx,
                                 const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT version, override_reason, override_reason_format "
                 "FROM decisions WHERE referral_id = ? AND "
                 "length(override_reason) > 0 ORDER BY version"));
  q.Bind(1, referral_id.value());
  std::vector<std::pair<int, StoredText>> reasons;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return reasons;
    reasons.emplace_back(static_cast<int>(q.ColumnInt(0)),
                         StoredText{q.ColumnBlob(1), q.ColumnText(2)});
  }
}

absl::StatusOr<int> TriageStore::EraseReferralFreeText(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement blank,
      tx.Prepare("UPDATE decisions SET override_reason = '', "
                 "override_reason_format = '' WHERE referral_id = ? AND "
                 "length(override_reason) > 0"));
  blank.Bind(1, referral_id.value());
  RETURN_IF_ERROR(blank.Run());
  const int blanked = static_cast<int>(tx.Changes());
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT facts FROM referral_facts WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (row) {
    v1::ReferralFacts facts;
    if (!facts.ParseFromString(q.ColumnBlob(0))) return Unparsable("facts");
    // The safe-contact rules describe the person's situation: they go too.
    if (!facts.person_id().empty() || facts.has_contact_rules()) {
      facts.clear_person_id();
      facts.clear_contact_rules();
      RETURN_IF_ERROR(UpdateFacts(tx, referral_id, facts));
    }
  }
  // And from every decision version kept.
  ASSIGN_OR_RETURN(store::Statement versions,
                   tx.Prepare("SELECT version, decision FROM decisions WHERE "
                              "referral_id = ?"));
  versions.Bind(1, referral_id.value());
  std::vector<std::pair<int64_t, std::string>> stripped;
  while (true) {
    ASSIGN_OR_RETURN(bool more, versions.Step());
    if (!more) break;
    v1::ReferralTriaged decision;
    if (!decision.ParseFromString(versions.ColumnBlob(1))) {
      return Unparsable("decision");
    }
    if (!decision.has_contact_rules() &&
        decision.preferred_specialisms().empty()) {
      continue;
    }
    decision.clear_contact_rules();
    decision.clear_preferred_specialisms();
    stripped.emplace_back(versions.ColumnInt(0), decision.SerializeAsString());
  }
  for (const auto& [version, bytes] : stripped) {
    ASSIGN_OR_RETURN(store::Statement update,
                     tx.Prepare("UPDATE decisions SET decision = ? WHERE "
                                "referral_id = ? AND version = ?"));
    update.BindBlob(1, bytes).Bind(2, referral_id.value()).Bind(3, version);
    RETURN_IF_ERROR(update.Run());
  }
  return blanked;
}

absl::StatusOr<int> TriageStore::DeleteVictimHistory(
    store::Tx& tx, const std::string& person_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("DELETE FROM victim_history WHERE victim_ref = ?"));
  q.Bind(1, person_id);
  RETURN_IF_ERROR(q.Run());
  return static_cast<int>(tx.Changes());
}

absl::StatusOr<std::vector<v1::DecisionVersion>>
TriageStore::ListDecisionVersions(store::Tx& tx,
                                  const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT decision, decided_at_ms, cause, practitioner_id, "
                 "practitioner_agency FROM decisions WHERE referral_id = ? "
                 "ORDER BY version"));
  q.Bind(1, referral_id.value());
  std::vector<v1::DecisionVersion> versions;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::DecisionVersion& v = versions.emplace_back();
    if (!v.mutable_decision()->ParseFromString(q.ColumnBlob(0))) {
      return Unparsable("decision");
    }
    v.set_version(v.decision().version());
    *v.mutable_decided_at() =
        timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(1)));
    v.set_cause(q.ColumnText(2));
    v.set_practitioner_id(q.ColumnText(3));
    v.set_practitioner_agency(q.ColumnText(4));
  }
  return versions;
}

absl::StatusOr<paging::Page<LatestDecision>>
TriageStore::ListLatestMaracDecisions(store::Tx& tx,
                                      const std::string& area_code,
                                      const paging::PageRequest& page) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT d.referral_id, d.decision, d.decided_at_ms "
          "FROM decisions d WHERE d.area_code = ? AND d.marac = 1 "
          "AND d.version = (SELECT MAX(version) FROM decisions m "
          "WHERE m.referral_id = d.referral_id) ",
          page.after ? "AND (d.decided_at_ms, d.referral_id) > (?, ?) " : "",
          "ORDER BY d.decided_at_ms, d.referral_id LIMIT ?")));
  int arg = 1;
  q.Bind(arg, area_code);
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0)).Bind(arg + 2, page.after->Text(1));
    arg += 2;
  }
  q.Bind(arg + 1, page.limit());
  return paging::ReadPage(
      page, q,
      [](const store::Statement& row)
          -> absl::StatusOr<paging::Keyed<LatestDecision>> {
        LatestDecision d;
        d.referral_id = ReferralId(row.ColumnText(0));
        if (!d.decision.ParseFromString(row.ColumnBlob(1))) {
          return Unparsable("decision");
        }
        d.decided_at = absl::FromUnixMillis(row.ColumnInt(2));
        paging::Cursor key({row.ColumnInt(2), d.referral_id.value()});
        return paging::Keyed<LatestDecision>{std::move(d), std::move(key)};
      });
}

}  // namespace signpost::triage
