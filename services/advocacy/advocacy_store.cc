#include "services/advocacy/advocacy_store.h"

#include "common/store/data_key_store.h"

namespace signpost::advocacy {

namespace {

// Version 1: advocates, assignments as offer-or-waitlist outcomes, routed
// referrals.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE advocates (
  advocate_id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  role INTEGER NOT NULL,
  languages TEXT NOT NULL,
  localities TEXT NOT NULL,
  capacity INTEGER NOT NULL CHECK (capacity >= 0),
  caseload INTEGER NOT NULL DEFAULT 0,
  last_assigned_ms INTEGER NOT NULL DEFAULT 0,
  CHECK (caseload <= capacity OR caseload = 0)
);
CREATE INDEX advocates_role ON advocates(role);
CREATE TABLE assignments (
  assignment_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  pathway INTEGER NOT NULL,
  outcome INTEGER NOT NULL,
  advocate_id TEXT,
  interpreter INTEGER NOT NULL,
  reason TEXT NOT NULL,
  priority INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX assignments_referral ON assignments(referral_id);
CREATE TABLE routed_referrals (
  referral_id TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  routed_at_ms INTEGER NOT NULL
);
)sql";

// Version 2: the full directory and assignment lifecycle. Capacity may now be
// lowered below a live caseload (no new offers until it drops), so the
// advocates table is rebuilt without that CHECK.
constexpr char kSchemaV2[] = R"sql(
CREATE TABLE providers (
  provider_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  address_confidential INTEGER NOT NULL DEFAULT 0
);
INSERT INTO providers (provider_id, name)
  SELECT DISTINCT provider_id, provider_id FROM advocates;
CREATE TABLE advocates_v2 (
  advocate_id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL REFERENCES providers(provider_id),
  display_name TEXT NOT NULL,
  role INTEGER NOT NULL,
  languages TEXT NOT NULL,
  localities TEXT NOT NULL,
  capacity INTEGER NOT NULL CHECK (capacity >= 0),
  caseload INTEGER NOT NULL DEFAULT 0 CHECK (caseload >= 0),
  last_assigned_ms INTEGER NOT NULL DEFAULT 0,
  specialisms TEXT NOT NULL DEFAULT '',
  on_leave INTEGER NOT NULL DEFAULT 0,
  available_from_ms INTEGER NOT NULL DEFAULT 0,
  available_to_ms INTEGER NOT NULL DEFAULT 0
);
INSERT INTO advocates_v2 (advocate_id, provider_id, display_name, role, languages, localities,
                          capacity, caseload, last_assigned_ms)
  SELECT advocate_id, provider_id, display_name, role, languages, localities, capacity,
         caseload, last_assigned_ms FROM advocates;
DROP TABLE advocates;
ALTER TABLE advocates_v2 RENAME TO advocates;
CREATE INDEX advocates_role ON advocates(role);
CREATE TABLE advocate_localities (
  locality TEXT NOT NULL,
  advocate_id TEXT NOT NULL,
  PRIMARY KEY (locality, advocate_id)
);
WITH RECURSIVE split(advocate_id, rest, locality) AS (
  SELECT advocate_id, localities || ',', '' FROM advocates
  UNION ALL
  SELECT advocate_id, substr(rest, instr(rest, ',') + 1), substr(rest, 1, instr(rest, ',') - 1)
  FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO advocate_localities (locality, advocate_id)
  SELECT locality, advocate_id FROM split WHERE locality <> '';
CREATE TABLE assignments_v2 (
  assignment_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  pathway INTEGER NOT NULL,
  state INTEGER NOT NULL,
  advocate_id TEXT NOT NULL DEFAULT '',
  interpreter INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  priority INTEGER NOT NULL,
  victim_ref TEXT NOT NULL DEFAULT '',
  locality TEXT NOT NULL DEFAULT '',
  language TEXT NOT NULL DEFAULT '',
  language_required INTEGER NOT NULL DEFAULT 0,
  first_contact_due_ms INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  waitlisted_at_ms INTEGER NOT NULL DEFAULT 0,
  offer_expires_at_ms INTEGER NOT NULL DEFAULT 0,
  first_contact_at_ms INTEGER NOT NULL DEFAULT 0,
  closed_at_ms INTEGER NOT NULL DEFAULT 0,
  closure_reason INTEGER NOT NULL DEFAULT 0,
  feels_safer INTEGER NOT NULL DEFAULT 0,
  copes_better INTEGER NOT NULL DEFAULT 0,
  better_informed INTEGER NOT NULL DEFAULT 0
);
-- Old outcomes: 1 ASSIGNED becomes OFFERED (2), 2 WAITLISTED stays 1.
INSERT INTO assignments_v2 (assignment_id, referral_id, pathway, state, advocate_id,
                            interpreter, reason, priority, created_at_ms, waitlisted_at_ms,
                            offer_expires_at_ms)
  SELECT assignment_id, referral_id, pathway, CASE outcome WHEN 1 THEN 2 ELSE 1 END,
         COALESCE(advocate_id, ''), interpreter, reason, priority, created_at_ms,
         CASE outcome WHEN 2 THEN created_at_ms ELSE 0 END,
         CASE outcome WHEN 1 THEN created_at_ms + 86400000 ELSE 0 END
  FROM assignments WHERE outcome IN (1, 2);
DROP TABLE assignments;
ALTER TABLE assignments_v2 RENAME TO assignments;
CREATE INDEX assignments_referral ON assignments(referral_id, pathway);
CREATE INDEX assignments_state ON assignments(state, offer_expires_at_ms);
CREATE INDEX assignments_advocate ON assignments(advocate_id, state);
CREATE INDEX assignments_victim ON assignments(victim_ref);
CREATE TABLE assignment_history (
  assignment_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  step TEXT NOT NULL,
  advocate_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  -- Staff note on a decline: free text, kept here only.
  note TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (assignment_id, seq)
);
)sql";

// The authenticated agency behind an advocate's step (issue 9); empty for
// Signpost's own steps (offer, waitlist, expiry).
constexpr char kSchemaV3[] = R"sql(
ALTER TABLE assignment_history ADD COLUMN agency_id TEXT NOT NULL DEFAULT '';
)sql";

// Issue 10: staff notes are sealed with the person's data key
// (crypto::SealField, associated data "<assignment_id>/<seq>/note").
// note_format is crypto::kSealedFieldFormat for a sealed note and '' for a
// note written in plaintext before this version (still read as it is).
constexpr char kSchemaV5[] = R"sql(
ALTER TABLE assignment_history ADD COLUMN note_format TEXT NOT NULL DEFAULT '';
)sql";

// Referrals whose person was erased (VictimErased): a triage decision that
// arrives later on the other topic creates nothing for them.
constexpr char kSchemaV6[] = R"sql(
CREATE TABLE erased_referrals (
  referral_id TEXT PRIMARY KEY,
  erased_at_ms INTEGER NOT NULL
);
)sql";

// Issue 12: the victim's coded safe-contact rules per referral, sealed with
// the person's data key (associated data "<referral_id>/contact_rules");
// service referrals (an assignment with a service and a provider, no
// advocate); and the services each provider offers, by area.
constexpr char kSchemaV7[] = R"sql(
CREATE TABLE referral_contact_rules (
  referral_id TEXT PRIMARY KEY,
  format TEXT NOT NULL,
  sealed BLOB NOT NULL
);
ALTER TABLE assignments ADD COLUMN service INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN provider_id TEXT NOT NULL DEFAULT '';
CREATE INDEX assignments_provider ON assignments(provider_id, state);
ALTER TABLE assignments ADD COLUMN area TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN also_pathway INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN specialisms TEXT NOT NULL DEFAULT '';
CREATE TABLE provider_services (
  kind INTEGER NOT NULL,
  area TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  PRIMARY KEY (kind, area, provider_id)
);
)sql";
// Issue 13: the first-contact deadline's rule, and the watchdog's marks
// (0: not yet), so that each report is made once across restarts.
constexpr char kSchemaV8[] = R"sql(
ALTER TABLE assignments ADD COLUMN first_contact_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN deadline_warned_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN deadline_missed_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX assignments_deadline
  ON assignments(first_contact_at_ms, first_contact_due_ms);
)sql";

// Issue 13: Victims' Code updates and referral deadlines, each with the
// watchdog's marks; the outcome baseline taken at first contact; and every
// update given, for the figures.
constexpr char kSchemaV9[] = R"sql(
ALTER TABLE assignments ADD COLUMN offered_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN accepted_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN referral_due_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN referral_warned_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN referral_missed_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN update_working_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN update_due_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN update_warned_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN update_missed_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN last_update_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN updates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN baseline_feels_safe INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN baseline_copes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN baseline_informed INTEGER NOT NULL DEFAULT 0;
UPDATE assignments SET offered_at_ms = created_at_ms
  WHERE state <> 1 AND waitlisted_at_ms = 0;
CREATE TABLE assignment_updates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  assignment_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  within_deadline INTEGER NOT NULL
);
CREATE INDEX assignment_updates_at ON assignment_updates(at_ms);
CREATE INDEX assignments_area ON assignments(area, created_at_ms);
)sql";

// Issue 16: "who supported this victim before" reads a few index entries
// per advocate (AssignmentStore::kSupportedVictimSql), however many
// assignments the victim has; the old index on victim_ref alone is a prefix
// of the new one.
constexpr char kSchemaV10[] = R"sql(
CREATE INDEX assignments_victim_support
  ON assignments(victim_ref, state, advocate_id, assignment_id);
DROP INDEX assignments_victim;
)sql";

// Issue 16: a provider's open services are counted from this index alone
// (DirectoryStore::ProvidersOffering). Through assignments_provider each
// open assignment's row was read to check its service: 58% of advocacy's
// CPU under load, and growing with every open service offer.
constexpr char kSchemaV11[] = R"sql(
CREATE INDEX assignments_provider_service
  ON assignments(provider_id, service, state);
)sql";

}  // namespace

std::vector<std::string> AdvocacyStore::Migrations() {
  // Version 4 is the shared data key table.
  return {kSchemaV1, kSchemaV2,  kSchemaV3, store::kDataKeysMigration,
          kSchemaV5, kSchemaV6,  kSchemaV7, kSchemaV8,
          kSchemaV9, kSchemaV10, kSchemaV11};
}

absl::StatusOr<std::vector<metrics::Sample>> AdvocacyStore::WaitlistDepth(
    store::Tx& tx) {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT pathway, COUNT(*) FROM assignments "
                              "WHERE state = ? GROUP BY pathway"));
  q.Bind(1, static_cast<int64_t>(v1::ASSIGNMENT_STATE_WAITLISTED));
  std::vector<metrics::Sample> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({{{"pathway", v1::Pathway_Name(
                                    static_cast<v1::Pathway>(q.ColumnInt(0)))}},
                   static_cast<double>(q.ColumnInt(1))});
  }
  return out;
}

absl::StatusOr<std::vector<metrics::Sample>> AdvocacyStore::DeadlinesMissed(
    store::Tx& tx) {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT COALESCE(SUM(deadline_missed_ms > 0), 0), "
                 "COALESCE(SUM(referral_missed_ms > 0), 0) FROM assignments"));
  RETURN_IF_ERROR(q.Step().status());
  return std::vector<metrics::Sample>{
      {{{"kind", "FIRST_CONTACT"}}, static_cast<double>(q.ColumnInt(0))},
      {{{"kind", "VCOP_REFERRAL"}}, static_cast<double>(q.ColumnInt(1))}};
}

}  // namespace signpost::advocacy
