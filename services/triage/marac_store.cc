#include "services/triage/marac_store.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::triage {
namespace {

// A meeting row: its columns then its listed count.
constexpr char kMeetingColumns[] =
    "m.meeting_id, m.area_code, m.meeting_at_ms, m.agenda_closes_at_ms, "
    "m.capacity, m.state, (SELECT COUNT(*) FROM marac_cases c WHERE "
    "c.meeting_id = m.meeting_id)";

MeetingRecord MeetingOf(const store::Statement& q) {
  MeetingRecord m;
  m.meeting_id = q.ColumnText(0);
  m.area_code = q.ColumnText(1);
  m.meeting_at = absl::FromUnixMillis(q.ColumnInt(2));
  m.agenda_closes_at = absl::FromUnixMillis(q.ColumnInt(3));
  m.capacity = static_cast<int>(q.ColumnInt(4));
  m.state = static_cast<v1::MaracMeetingState>(q.ColumnInt(5));
  m.listed = static_cast<int>(q.ColumnInt(6));
  return m;
}

// A case row joined with the referral's latest decision, or with the
// snapshot taken when its meeting closed.
constexpr char kCaseQuery[] =
    "SELECT c.meeting_id, c.referral_id, c.heard_at_ms, c.carried_from, "
    "COALESCE(c.snapshot, d.decision), COALESCE(c.snapshot_decided_at_ms, "
    "d.decided_at_ms) FROM marac_cases c JOIN decisions d ON "
    "d.referral_id = c.referral_id AND d.version = (SELECT MAX(version) FROM "
    "decisions v WHERE v.referral_id = c.referral_id) ";

absl::StatusOr<ListedCase> CaseOf(const store::Statement& q) {
  ListedCase c;
  c.meeting_id = q.ColumnText(0);
  c.referral_id = q.ColumnText(1);
  if (!q.ColumnIsNull(2)) c.heard_at = absl::FromUnixMillis(q.ColumnInt(2));
  c.carried_from = q.ColumnText(3);
  if (!c.decision.ParseFromString(q.ColumnBlob(4))) {
    return absl::DataLossError("stored decision does not parse");
  }
  c.decided_at = absl::FromUnixMillis(q.ColumnInt(5));
  return c;
}

constexpr char kActionColumns[] =
    "a.action_id, a.meeting_id, a.referral_id, a.agency_id, a.kind, "
    "a.due_ms, a.state, a.completed_at_ms";

v1::MaracAction ActionOf(const store::Statement& q) {
  v1::MaracAction a;
  a.set_action_id(q.ColumnText(0));
  a.set_meeting_id(q.ColumnText(1));
  a.set_referral_id(q.ColumnText(2));
  a.set_agency_id(q.ColumnText(3));
  a.set_kind(static_cast<v1::MaracActionKind>(q.ColumnInt(4)));
  *a.mutable_due() =
      timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(5)));
  a.set_state(static_cast<v1::MaracActionState>(q.ColumnInt(6)));
  if (!q.ColumnIsNull(7)) {
    *a.mutable_completed_at() =
        timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(7)));
  }
  return a;
}

}  // namespace

absl::Status MaracStore::InsertMeeting(store::Tx& tx,
                                       const MeetingRecord& m) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT INTO marac_meetings (meeting_id, area_code, "
                 "meeting_at_ms, agenda_closes_at_ms, capacity, state) "
                 "VALUES (?,?,?,?,?,?)"));
  q.Bind(1, m.meeting_id)
      .Bind(2, m.area_code)
      .Bind(3, absl::ToUnixMillis(m.meeting_at))
      .Bind(4, absl::ToUnixMillis(m.agenda_closes_at))
      .Bind(5, static_cast<int64_t>(m.capacity))
      .Bind(6, static_cast<int64_t>(m.state));
  return q.Run();
}

absl::Status MaracStore::SetMeetingState(store::Tx& tx,
                                         const std::string& meeting_id,
                                         v1::MaracMeetingState state) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE marac_meetings SET state = ? WHERE meeting_id = ?"));
  q.Bind(1, static_cast<int64_t>(state)).Bind(2, meeting_id);
  return q.Run();
}

absl::StatusOr<std::optional<MeetingRecord>> MaracStore::FindMeeting(
    store::Tx& tx, const std::string& meeting_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare(absl::StrCat("SELECT ", kMeetingColumns,
                                           " FROM marac_meetings m WHERE "
                                           "m.meeting_id = ?")));
  q.Bind(1, meeting_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<MeetingRecord>();
  return std::optional<MeetingRecord>(MeetingOf(q));
}

absl::StatusOr<std::vector<MeetingRecord>> MaracStore::ScheduledMeetings(
    store::Tx& tx, const std::string& area_code) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat("SELECT ", kMeetingColumns,
                              " FROM marac_meetings m WHERE m.area_code = ? "
                              "AND m.state = ? ORDER BY m.meeting_at_ms, "
                              "m.meeting_id")));
  q.Bind(1, area_code)
      .Bind(2, static_cast<int64_t>(v1::MARAC_MEETING_STATE_SCHEDULED));
  std::vector<MeetingRecord> meetings;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return meetings;
    meetings.push_back(MeetingOf(q));
  }
}

absl::StatusOr<paging::Page<MeetingRecord>> MaracStore::ListMeetings(
    store::Tx& tx, const std::string& area_code,
    const paging::PageRequest& page) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kMeetingColumns,
          " FROM marac_meetings m WHERE m.area_code = ? ",
          page.after ? "AND (m.meeting_at_ms, m.meeting_id) > (?, ?) " : "",
          "ORDER BY m.meeting_at_ms, m.meeting_id LIMIT ?")));
  int arg = 1;
  q.Bind(arg, area_code);
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0)).Bind(arg + 2, page.after->Text(1));
    arg += 2;
  }
  q.Bind(arg + 1, page.limit());
  return paging::ReadPage(
      page, q, [](const store::Statement& row) -> paging::Keyed<MeetingRecord> {
        MeetingRecord m = MeetingOf(row);
        paging::Cursor key({absl::ToUnixMillis(m.meeting_at), m.meeting_id});
        return {std::move(m), std::move(key)};
      });
}

absl::Status MaracStore::InsertCase(store::Tx& tx,
                                    const std::string& meeting_id,
                                    const std::string& referral_id,
                                    absl::Time listed_at,
                                    const std::string& carried_from) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT INTO marac_cases (meeting_id, referral_id, "
                 "listed_at_ms, carried_from) VALUES (?,?,?,?)"));
  q.Bind(1, meeting_id)
      .Bind(2, referral_id)
      .Bind(3, absl::ToUnixMillis(listed_at))
      .Bind(4, carried_from);
  return q.Run();
}

absl::Status MaracStore::SetHeard(store::Tx& tx, const std::string& meeting_id,
                                  const std::string& referral_id,
                                  absl::Time at) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("UPDATE marac_cases SET heard_at_ms = ? WHERE "
                              "meeting_id = ? AND referral_id = ?"));
  q.Bind(1, absl::ToUnixMillis(at)).Bind(2, meeting_id).Bind(3, referral_id);
  return q.Run();
}

absl::Status MaracStore::SnapshotCase(store::Tx& tx,
                                      const std::string& meeting_id,
                                      const std::string& referral_id,
                                      const v1::ReferralTriaged& decision,
                                      absl::Time decided_at) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE marac_cases SET snapshot = ?, "
                 "snapshot_decided_at_ms = ? WHERE meeting_id = ? AND "
                 "referral_id = ?"));
  q.BindBlob(1, decision.SerializeAsString())
      .Bind(2, absl::ToUnixMillis(decided_at))
      .Bind(3, meeting_id)
      .Bind(4, referral_id);
  return q.Run();
}

absl::StatusOr<std::vector<ListedCase>> MaracStore::CasesOf(
    store::Tx& tx, const std::string& meeting_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(kCaseQuery, "WHERE c.meeting_id = ?")));
  q.Bind(1, meeting_id);
  std::vector<ListedCase> cases;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return cases;
    ASSIGN_OR_RETURN(ListedCase c, CaseOf(q));
    cases.push_back(std::move(c));
  }
}

absl::StatusOr<std::optional<ListedCase>> MaracStore::FindCase(
    store::Tx& tx, const std::string& meeting_id,
    const std::string& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(kCaseQuery,
                              "WHERE c.meeting_id = ? AND c.referral_id = ?")));
  q.Bind(1, meeting_id).Bind(2, referral_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<ListedCase>();
  ASSIGN_OR_RETURN(ListedCase c, CaseOf(q));
  return std::optional<ListedCase>(std::move(c));
}

absl::StatusOr<int> MaracStore::RemoveFromOpenAgendas(
    store::Tx& tx, const std::string& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("DELETE FROM marac_cases WHERE referral_id = ? AND "
                 "heard_at_ms IS NULL AND meeting_id IN (SELECT meeting_id "
                 "FROM marac_meetings WHERE state = ?)"));
  q.Bind(1, referral_id)
      .Bind(2, static_cast<int64_t>(v1::MARAC_MEETING_STATE_SCHEDULED));
  RETURN_IF_ERROR(q.Run());
  return static_cast<int>(tx.Changes());
}

absl::StatusOr<bool> MaracStore::NeedsPlacing(
    store::Tx& tx, const std::string& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT COUNT(*) FROM marac_cases c JOIN marac_meetings m "
                 "ON m.meeting_id = c.meeting_id WHERE c.referral_id = ? AND "
                 "(c.heard_at_ms IS NOT NULL OR m.state = ?)"));
  q.Bind(1, referral_id)
      .Bind(2, static_cast<int64_t>(v1::MARAC_MEETING_STATE_SCHEDULED));
  RETURN_IF_ERROR(q.Step());
  return q.ColumnInt(0) == 0;
}

absl::StatusOr<std::string> MaracStore::LastMeetingNotHeard(
    store::Tx& tx, const std::string& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT c.meeting_id FROM marac_cases c JOIN marac_meetings "
                 "m ON m.meeting_id = c.meeting_id WHERE c.referral_id = ? "
                 "AND c.heard_at_ms IS NULL AND m.state = ? ORDER BY "
                 "m.meeting_at_ms DESC, m.meeting_id DESC LIMIT 1"));
  q.Bind(1, referral_id)
      .Bind(2, static_cast<int64_t>(v1::MARAC_MEETING_STATE_CLOSED));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.ColumnText(0) : std::string();
}

absl::StatusOr<std::vector<PendingCase>> MaracStore::PendingCases(
    store::Tx& tx, const std::string& area_code) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(
          "SELECT d.referral_id, d.decided_at_ms FROM decisions d "
          "WHERE d.area_code = ? AND d.marac = 1 AND d.version = (SELECT "
          "MAX(version) FROM decisions v WHERE v.referral_id = d.referral_id) "
          "AND NOT EXISTS (SELECT 1 FROM marac_cases c JOIN marac_meetings m "
          "ON m.meeting_id = c.meeting_id WHERE c.referral_id = d.referral_id "
          "AND (c.heard_at_ms IS NOT NULL OR m.state = ?)) "
          "ORDER BY d.decided_at_ms, d.rowid"));
  q.Bind(1, area_code)
      .Bind(2, static_cast<int64_t>(v1::MARAC_MEETING_STATE_SCHEDULED));
  std::vector<PendingCase> pending;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return pending;
    pending.push_back(PendingCase{q.ColumnText(0), area_code,
                                  absl::FromUnixMillis(q.ColumnInt(1))});
  }
}

absl::Status MaracStore::InsertAction(store::Tx& tx,
                                      const v1::MaracAction& a) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT INTO marac_actions (action_id, meeting_id, "
                 "referral_id, agency_id, kind, due_ms, state) VALUES "
                 "(?,?,?,?,?,?,?)"));
  q.Bind(1, a.action_id())
      .Bind(2, a.meeting_id())
      .Bind(3, a.referral_id())
      .Bind(4, a.agency_id())
      .Bind(5, static_cast<int64_t>(a.kind()))
      .Bind(6, absl::ToUnixMillis(timeutil::FromTimestamp(a.due())))
      .Bind(7, static_cast<int64_t>(a.state()));
  return q.Run();
}

absl::Status MaracStore::CompleteAction(store::Tx& tx,
                                        const std::string& action_id,
                                        absl::Time at) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("UPDATE marac_actions SET state = ?, "
                              "completed_at_ms = ? WHERE action_id = ?"));
  q.Bind(1, static_cast<int64_t>(v1::MARAC_ACTION_STATE_DONE))
      .Bind(2, absl::ToUnixMillis(at))
      .Bind(3, action_id);
  return q.Run();
}

absl::Status MaracStore::FillCarriedTo(store::Tx& tx,
                                       v1::MaracAction& a) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT meeting_id FROM marac_action_carries WHERE "
                 "action_id = ? ORDER BY carried_at_ms, meeting_id"));
  q.Bind(1, a.action_id());
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::OkStatus();
    a.add_carried_to(q.ColumnText(0));
  }
}

absl::StatusOr<std::optional<ActionRecord>> MaracStore::FindAction(
    store::Tx& tx, const std::string& action_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat("SELECT ", kActionColumns,
                              ", m.area_code FROM marac_actions a JOIN "
                              "marac_meetings m ON m.meeting_id = "
                              "a.meeting_id WHERE a.action_id = ?")));
  q.Bind(1, action_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<ActionRecord>();
  ActionRecord r{ActionOf(q), q.ColumnText(8)};
  RETURN_IF_ERROR(FillCarriedTo(tx, r.action));
  return std::optional<ActionRecord>(std::move(r));
}

absl::StatusOr<std::vector<v1::MaracAction>> MaracStore::ActionsOf(
    store::Tx& tx, const std::string& sql,
    const std::string& meeting_id) const {
  std::vector<v1::MaracAction> actions;
  {
    ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(sql));
    q.Bind(1, meeting_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      actions.push_back(ActionOf(q));
    }
  }
  for (v1::MaracAction& a : actions) RETURN_IF_ERROR(FillCarriedTo(tx, a));
  return actions;
}

absl::StatusOr<std::vector<v1::MaracAction>> MaracStore::ActionsAllocatedAt(
    store::Tx& tx, const std::string& meeting_id) const {
  return ActionsOf(tx,
                   absl::StrCat("SELECT ", kActionColumns,
                                " FROM marac_actions a WHERE a.meeting_id = ? "
                                "ORDER BY a.rowid"),
                   meeting_id);
}

absl::StatusOr<std::vector<v1::MaracAction>> MaracStore::ActionsCarriedTo(
    store::Tx& tx, const std::string& meeting_id) const {
  return ActionsOf(tx,
                   absl::StrCat("SELECT ", kActionColumns,
                                " FROM marac_actions a JOIN "
                                "marac_action_carries k ON k.action_id = "
                                "a.action_id WHERE k.meeting_id = ? ORDER BY "
                                "k.carried_at_ms, a.rowid"),
                   meeting_id);
}

absl::StatusOr<std::vector<std::string>> MaracStore::OpenActionsAwaitingReview(
    store::Tx& tx, const std::string& area_code) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(
          "SELECT a.action_id FROM marac_actions a JOIN marac_meetings m ON "
          "m.meeting_id = a.meeting_id WHERE m.area_code = ? AND a.state = ? "
          "AND m.state = ? AND NOT EXISTS (SELECT 1 FROM marac_action_carries "
          "k JOIN marac_meetings n ON n.meeting_id = k.meeting_id WHERE "
          "k.action_id = a.action_id AND n.state = ?) ORDER BY a.rowid"));
  q.Bind(1, area_code)
      .Bind(2, static_cast<int64_t>(v1::MARAC_ACTION_STATE_OPEN))
      .Bind(3, static_cast<int64_t>(v1::MARAC_MEETING_STATE_CLOSED))
      .Bind(4, static_cast<int64_t>(v1::MARAC_MEETING_STATE_SCHEDULED));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return ids;
    ids.push_back(q.ColumnText(0));
  }
}

absl::Status MaracStore::CarryAction(store::Tx& tx,
                                     const std::string& action_id,
                                     const std::string& meeting_id,
                                     absl::Time at) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR IGNORE INTO marac_action_carries (action_id, "
                 "meeting_id, carried_at_ms) VALUES (?,?,?)"));
  q.Bind(1, action_id).Bind(2, meeting_id).Bind(3, absl::ToUnixMillis(at));
  return q.Run();
}

}  // namespace signpost::triage
