#include "services/advocacy/advocacy_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"

namespace signpost::advocacy {
namespace {

std::vector<std::string> SplitList(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, ',');
}

absl::StatusOr<std::vector<AdvocateView>> LoadRole(store::Tx& tx,
                                                   v1::AdvocateRole role) {
  std::vector<AdvocateView> out;
  absl::StatusOr<store::Statement> q = tx.Prepare(
      "SELECT advocate_id, provider_id, role, languages, localities, capacity, "
      "caseload, last_assigned_ms FROM advocates WHERE role = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(role));
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    AdvocateView a;
    a.advocate_id = q->ColumnText(0);
    a.provider_id = q->ColumnText(1);
    a.role = static_cast<v1::AdvocateRole>(q->ColumnInt(2));
    a.languages = SplitList(q->ColumnText(3));
    a.localities = SplitList(q->ColumnText(4));
    a.capacity = static_cast<int>(q->ColumnInt(5));
    a.caseload = static_cast<int>(q->ColumnInt(6));
    a.last_assigned_ms = q->ColumnInt(7);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

std::vector<std::string> AdvocacyStore::Migrations() {
  return {R"sql(
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
)sql"};
}

absl::Status AdvocacyStore::UpsertRoster(const v1::Roster& roster) {
  return db_.Write([&](store::Tx& tx) -> absl::Status {
    for (const v1::Advocate& a : roster.advocates()) {
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "INSERT INTO advocates (advocate_id, provider_id, display_name, "
          "role, "
          "languages, localities, capacity) VALUES (?,?,?,?,?,?,?) "
          "ON CONFLICT(advocate_id) DO UPDATE SET "
          "provider_id=excluded.provider_id, "
          "display_name=excluded.display_name, role=excluded.role, "
          "languages=excluded.languages, localities=excluded.localities, "
          "capacity=excluded.capacity");
      if (!q.ok()) return q.status();
      q->Bind(1, a.advocate_id())
          .Bind(2, a.provider_id())
          .Bind(3, a.display_name())
          .Bind(4, static_cast<int64_t>(a.role()))
          .Bind(5, absl::StrJoin(a.languages(), ","))
          .Bind(6, absl::StrJoin(a.localities(), ","))
          .Bind(7, static_cast<int64_t>(a.capacity()));
      if (absl::Status s = q->Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int> AdvocacyStore::RouteTriaged(
    const events::IncomingEvent& event) {
  // A reassessment carries a whole new decision; pathways already assigned
  // or waitlisted for this referral are not routed twice.
  const v1::ReferralTriaged& triaged =
      event.envelope.has_referral_reassessed()
          ? event.envelope.referral_reassessed().decision()
          : event.envelope.referral_triaged();
  const std::string& referral_id = event.envelope.referral_id();
  int written = 0;
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    int64_t now_ms = absl::ToUnixMillis(absl::Now());

    auto record =
        [&](v1::Pathway pathway, v1::AssignmentOutcome outcome,
            const std::string& advocate_id, bool interpreter,
            const std::string& reason) -> absl::StatusOr<std::string> {
      std::string id = NewUuid();
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "INSERT INTO assignments (assignment_id, referral_id, pathway, "
          "outcome, "
          "advocate_id, interpreter, reason, priority, created_at_ms) "
          "VALUES (?,?,?,?,?,?,?,?,?)");
      if (!q.ok()) return q.status();
      q->Bind(1, id)
          .Bind(2, referral_id)
          .Bind(3, static_cast<int64_t>(pathway))
          .Bind(4, static_cast<int64_t>(outcome))
          .Bind(5, advocate_id)
          .Bind(6, static_cast<int64_t>(interpreter))
          .Bind(7, reason)
          .Bind(8, static_cast<int64_t>(triaged.priority()))
          .Bind(9, now_ms);
      if (absl::Status s = q->Run(); !s.ok()) return s;
      ++written;
      return id;
    };

    if (triaged.status() == v1::REFERRAL_STATUS_ROUTED) {
      for (int p : triaged.pathways()) {
        auto pathway = static_cast<v1::Pathway>(p);
        std::optional<v1::AdvocateRole> role = RoleForPathway(pathway);
        if (!role) continue;  // service pathway: no advocate to assign
        absl::StatusOr<store::Statement> existing = tx.Prepare(
            "SELECT 1 FROM assignments WHERE referral_id = ? AND pathway = ?");
        if (!existing.ok()) return existing.status();
        existing->Bind(1, referral_id).Bind(2, static_cast<int64_t>(pathway));
        absl::StatusOr<bool> has = existing->Step();
        if (!has.ok()) return has.status();
        if (*has) continue;
        absl::StatusOr<std::vector<AdvocateView>> pool = LoadRole(tx, *role);
        if (!pool.ok()) return pool.status();
        MatchResult match =
            Match({pathway, triaged.locality_code(), triaged.language(),
                   triaged.language_match_required()},
                  *pool);
        v1::EventEnvelope out =
            events::NewEnvelope("advocacy", referral_id, &event.envelope);
        if (match.chosen) {
          absl::StatusOr<store::Statement> take = tx.Prepare(
              "UPDATE advocates SET caseload = caseload + 1, last_assigned_ms "
              "= ? "
              "WHERE advocate_id = ? AND caseload < capacity");
          if (!take.ok()) return take.status();
          take->Bind(1, now_ms).Bind(2, match.chosen->advocate_id);
          if (absl::Status s = take->Run(); !s.ok()) return s;
          if (tx.Changes() != 1) {
            return absl::AbortedError(
                "advocate capacity changed during assignment");
          }
          absl::StatusOr<std::string> id = record(
              pathway, v1::ASSIGNMENT_OUTCOME_ASSIGNED,
              match.chosen->advocate_id, match.interpreter, match.reason);
          if (!id.ok()) return id.status();
          auto* a = out.mutable_advocate_assigned();
          a->set_assignment_id(*id);
          a->set_pathway(pathway);
          a->set_advocate_id(match.chosen->advocate_id);
          a->set_provider_id(match.chosen->provider_id);
          a->set_interpreter_flag(match.interpreter);
          a->set_reason(match.reason);
        } else {
          absl::StatusOr<std::string> id =
              record(pathway, v1::ASSIGNMENT_OUTCOME_WAITLISTED, "", false,
                     match.reason);
          if (!id.ok()) return id.status();
          auto* w = out.mutable_referral_waitlisted();
          w->set_pathway(pathway);
          w->set_priority(triaged.priority());
          w->set_reason(match.reason);
        }
        events::StampType(&out);
        if (absl::Status s = store::AppendToOutbox(
                tx, out, events::kAdvocacyTopic, event.traceparent);
            !s.ok()) {
          return s;
        }
      }
    }
    absl::StatusOr<store::Statement> routed = tx.Prepare(
        "INSERT OR REPLACE INTO routed_referrals (referral_id, status, "
        "routed_at_ms) "
        "VALUES (?,?,?)");
    if (!routed.ok()) return routed.status();
    routed->Bind(1, referral_id)
        .Bind(2, static_cast<int64_t>(triaged.status()))
        .Bind(3, now_ms);
    return routed->Run();
  });
  if (!status.ok()) return status;
  return written;
}

absl::StatusOr<v1::GetReferralAssignmentsResponse>
AdvocacyStore::GetReferralAssignments(const std::string& referral_id) {
  v1::GetReferralAssignmentsResponse response;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> r =
        tx.Prepare("SELECT status FROM routed_referrals WHERE referral_id = ?");
    if (!r.ok()) return r.status();
    r->Bind(1, referral_id);
    absl::StatusOr<bool> routed = r->Step();
    if (!routed.ok()) return routed.status();
    response.set_processed(*routed);
    absl::StatusOr<store::Statement> q = tx.Prepare(
        "SELECT assignment_id, pathway, outcome, COALESCE(advocate_id,''), "
        "interpreter, "
        "reason, priority, created_at_ms FROM assignments WHERE referral_id = "
        "? "
        "ORDER BY created_at_ms, pathway");
    if (!q.ok()) return q.status();
    q->Bind(1, referral_id);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::Assignment* a = response.add_assignments();
      a->set_assignment_id(q->ColumnText(0));
      a->set_referral_id(referral_id);
      a->set_pathway(static_cast<v1::Pathway>(q->ColumnInt(1)));
      a->set_outcome(static_cast<v1::AssignmentOutcome>(q->ColumnInt(2)));
      a->set_advocate_id(q->ColumnText(3));
      a->set_interpreter_flag(q->ColumnInt(4) != 0);
      a->set_reason(q->ColumnText(5));
      a->set_priority(static_cast<v1::Priority>(q->ColumnInt(6)));
      a->mutable_created_at()->set_seconds(q->ColumnInt(7) / 1000);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<v1::Advocate>> AdvocacyStore::ListAdvocates() {
  std::vector<v1::Advocate> out;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        "SELECT advocate_id, provider_id, display_name, role, languages, "
        "localities, "
        "capacity, caseload FROM advocates ORDER BY advocate_id");
    if (!q.ok()) return q.status();
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::Advocate a;
      a.set_advocate_id(q->ColumnText(0));
      a.set_provider_id(q->ColumnText(1));
      a.set_display_name(q->ColumnText(2));
      a.set_role(static_cast<v1::AdvocateRole>(q->ColumnInt(3)));
      for (const std::string& l : SplitList(q->ColumnText(4)))
        a.add_languages(l);
      for (const std::string& l : SplitList(q->ColumnText(5)))
        a.add_localities(l);
      a.set_capacity(static_cast<int32_t>(q->ColumnInt(6)));
      a.set_caseload(static_cast<int32_t>(q->ColumnInt(7)));
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace signpost::advocacy
