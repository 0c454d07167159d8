#include "services/advocacy/assignment_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::advocacy {
namespace {

using store::Statement;
using store::Tx;

// Times are whole milliseconds in the columns; 0 stands for "not set".
int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }
int64_t Ms(const std::optional<absl::Time>& t) { return t ? Ms(*t) : 0; }
std::optional<absl::Time> OptionalTime(int64_t ms) {
  if (ms == 0) return std::nullopt;
  return absl::FromUnixMillis(ms);
}

constexpr char kColumns[] =
    "assignment_id, referral_id, pathway, state, advocate_id, interpreter, "
    "reason, priority, victim_ref, locality, language, language_required, "
    "first_contact_due_ms, created_at_ms, waitlisted_at_ms, "
    "offer_expires_at_ms, first_contact_at_ms, closed_at_ms, closure_reason, "
    "feels_safer, copes_better, better_informed, service, provider_id, "
    "area, also_pathway, specialisms, first_contact_rule, "
    "deadline_warned_ms, deadline_missed_ms, offered_at_ms, accepted_at_ms, "
    "referral_due_ms, referral_warned_ms, referral_missed_ms, "
    "update_working_days, update_due_ms, update_warned_ms, update_missed_ms, "
    "last_update_at_ms, updates, baseline_feels_safe, baseline_copes, "
    "baseline_informed";

AssignmentRecord ReadRecord(const Statement& q) {
  AssignmentRecord r;
  r.assignment_id = AssignmentId(q.ColumnText(0));
  r.referral_id = ReferralId(q.ColumnText(1));
  r.pathway = static_cast<v1::Pathway>(q.ColumnInt(2));
  r.state = static_cast<v1::AssignmentState>(q.ColumnInt(3));
  r.advocate_id = AdvocateId(q.ColumnText(4));
  r.interpreter = q.ColumnInt(5) != 0;
  r.reason = q.ColumnText(6);
  r.priority = static_cast<v1::Priority>(q.ColumnInt(7));
  r.victim_ref = q.ColumnText(8);
  r.locality = q.ColumnText(9);
  r.language = q.ColumnText(10);
  r.language_required = q.ColumnInt(11) != 0;
  r.first_contact_due = OptionalTime(q.ColumnInt(12));
  r.created_at = absl::FromUnixMillis(q.ColumnInt(13));
  r.waitlisted_at = OptionalTime(q.ColumnInt(14));
  r.offer_expires_at = OptionalTime(q.ColumnInt(15));
  r.first_contact_at = OptionalTime(q.ColumnInt(16));
  r.closed_at = OptionalTime(q.ColumnInt(17));
  r.closure.reason = static_cast<v1::ClosureReason>(q.ColumnInt(18));
  r.closure.feels_safer = static_cast<v1::OutcomeAnswer>(q.ColumnInt(19));
  r.closure.copes_better = static_cast<v1::OutcomeAnswer>(q.ColumnInt(20));
  r.closure.better_informed = static_cast<v1::OutcomeAnswer>(q.ColumnInt(21));
  r.service = static_cast<v1::ServiceKind>(q.ColumnInt(22));
  r.provider_id = ProviderId(q.ColumnText(23));
  r.area = q.ColumnText(24);
  r.also_pathway = static_cast<v1::Pathway>(q.ColumnInt(25));
  if (!q.ColumnText(26).empty()) {
    r.preferred_specialisms = absl::StrSplit(q.ColumnText(26), ',');
  }
  r.first_contact_rule = q.ColumnText(27);
  r.deadline_warned_at = OptionalTime(q.ColumnInt(28));
  r.deadline_missed_at = OptionalTime(q.ColumnInt(29));
  r.offered_at = OptionalTime(q.ColumnInt(30));
  r.accepted_at = OptionalTime(q.ColumnInt(31));
  r.referral_due = OptionalTime(q.ColumnInt(32));
  r.referral_warned_at = OptionalTime(q.ColumnInt(33));
  r.referral_missed_at = OptionalTime(q.ColumnInt(34));
  r.update_working_days = static_cast<int>(q.ColumnInt(35));
  r.update_due = OptionalTime(q.ColumnInt(36));
  r.update_warned_at = OptionalTime(q.ColumnInt(37));
  r.update_missed_at = OptionalTime(q.ColumnInt(38));
  r.last_update_at = OptionalTime(q.ColumnInt(39));
  r.updates = static_cast<int>(q.ColumnInt(40));
  r.baseline.set_feels_safe(static_cast<v1::OutcomeAnswer>(q.ColumnInt(41)));
  r.baseline.set_copes(static_cast<v1::OutcomeAnswer>(q.ColumnInt(42)));
  r.baseline.set_informed(static_cast<v1::OutcomeAnswer>(q.ColumnInt(43)));
  return r;
}

// Every row `q` (a SELECT <kColumns>) returns.
absl::StatusOr<std::vector<AssignmentRecord>> ReadRecords(Statement& q) {
  std::vector<AssignmentRecord> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return rows;
    rows.push_back(ReadRecord(q));
  }
}

// The rows of SELECT <kColumns> FROM assignments <where>, with `args` bound
// in order.
absl::StatusOr<std::vector<AssignmentRecord>> Query(
    Tx& tx, const std::string& where, const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                           " FROM assignments ", where)));
  for (size_t i = 0; i < args.size(); ++i) {
    q.Bind(static_cast<int>(i + 1), args[i]);
  }
  return ReadRecords(q);
}

}  // namespace

absl::StatusOr<AssignmentRecord> AssignmentStore::Load(
    Tx& tx, const AssignmentId& assignment_id) {
  ASSIGN_OR_RETURN(
      std::vector<AssignmentRecord> rows,
      Query(tx, "WHERE assignment_id = ?", {assignment_id.value()}));
  if (rows.empty()) {
    return absl::NotFoundError(
        absl::StrCat("assignment ", assignment_id.value(), " not found"));
  }
  return std::move(rows.front());
}

absl::Status AssignmentStore::Save(Tx& tx, const AssignmentRecord& r) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat(
          "INSERT OR REPLACE INTO assignments (", kColumns,
          ") VALUES "
          "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
          "?,?,?,?,?,?,?,?,?,?,?)")));
  q.Bind(1, r.assignment_id.value())
      .Bind(2, r.referral_id.value())
      .Bind(3, static_cast<int64_t>(r.pathway))
      .Bind(4, static_cast<int64_t>(r.state))
      .Bind(5, r.advocate_id.value())
      .Bind(6, static_cast<int64_t>(r.interpreter))
      .Bind(7, r.reason)
      .Bind(8, static_cast<int64_t>(r.priority))
      .Bind(9, r.victim_ref)
      .Bind(10, r.locality)
      .Bind(11, r.language)
      .Bind(12, static_cast<int64_t>(r.language_required))
      .Bind(13, Ms(r.first_contact_due))
      .Bind(14, Ms(r.created_at))
      .Bind(15, Ms(r.waitlisted_at))
      .Bind(16, Ms(r.offer_expires_at))
      .Bind(17, Ms(r.first_contact_at))
      .Bind(18, Ms(r.closed_at))
      .Bind(19, static_cast<int64_t>(r.closure.reason))
      .Bind(20, static_cast<int64_t>(r.closure.feels_safer))
      .Bind(21, static_cast<int64_t>(r.closure.copes_better))
      .Bind(22, static_cast<int64_t>(r.closure.better_informed))
      .Bind(23, static_cast<int64_t>(r.service))
      .Bind(24, r.provider_id.value())
      .Bind(25, r.area)
      .Bind(26, static_cast<int64_t>(r.also_pathway))
      .Bind(27, absl::StrJoin(r.preferred_specialisms, ","))
      .Bind(28, r.first_contact_rule)
      .Bind(29, Ms(r.deadline_warned_at))
      .Bind(30, Ms(r.deadline_missed_at))
      .Bind(31, Ms(r.offered_at))
      .Bind(32, Ms(r.accepted_at))
      .Bind(33, Ms(r.referral_due))
      .Bind(34, Ms(r.referral_warned_at))
      .Bind(35, Ms(r.referral_missed_at))
      .Bind(36, static_cast<int64_t>(r.update_working_days))
      .Bind(37, Ms(r.update_due))
      .Bind(38, Ms(r.update_warned_at))
      .Bind(39, Ms(r.update_missed_at))
      .Bind(40, Ms(r.last_update_at))
      .Bind(41, static_cast<int64_t>(r.updates))
      .Bind(42, static_cast<int64_t>(r.baseline.feels_safe()))
      .Bind(43, static_cast<int64_t>(r.baseline.copes()))
      .Bind(44, static_cast<int64_t>(r.baseline.informed()));
  return q.Run();
}

absl::StatusOr<bool> AssignmentStore::Exists(Tx& tx,
                                             const ReferralId& referral_id,
                                             v1::Pathway pathway) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT 1 FROM assignments WHERE referral_id = ? "
                              "AND service = 0 AND (pathway = ? OR "
                              "also_pathway = ?) AND state != ?"));
  q.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(pathway))
      .Bind(3, static_cast<int64_t>(pathway))
      .Bind(4, static_cast<int64_t>(v1::ASSIGNMENT_STATE_RELEASED));
  return q.Step();
}

absl::StatusOr<bool> AssignmentStore::ServiceExists(
    Tx& tx, const ReferralId& referral_id, v1::ServiceKind service) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT 1 FROM assignments WHERE referral_id = ? "
                              "AND service = ? AND state != ?"));
  q.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(service))
      .Bind(3, static_cast<int64_t>(v1::ASSIGNMENT_STATE_RELEASED));
  return q.Step();
}

namespace {
// " AND service NOT IN (k1, k2)" for the kinds not watched (enum numbers).
std::string NotIn(const std::set<v1::ServiceKind>& kinds) {
  if (kinds.empty()) return "";
  std::vector<std::string> n;
  for (v1::ServiceKind k : kinds)
    n.push_back(absl::StrCat(static_cast<int>(k)));
  return absl::StrCat(" AND service NOT IN (", absl::StrJoin(n, ", "), ")");
}

// The three watched deadlines (deadline_watch.h): each column set, and
// when it is open (not yet met, and the case still runs).
struct WatchedColumns {
  const char* due;
  const char* warned;
  const char* missed;
  std::string open;
};
const std::vector<WatchedColumns>& Watched() {
  // Not victim support (deadline_watch.h IsVictimSupport).
  static const std::string not_support = absl::StrCat(
      "(", static_cast<int>(v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM), ", ",
      static_cast<int>(v1::SERVICE_KIND_PERPETRATOR_STANDARD), ", ",
      static_cast<int>(v1::SERVICE_KIND_CHILDREN_SAFEGUARDING), ", ",
      static_cast<int>(v1::SERVICE_KIND_MARAC), ")");
  static const auto* watched = new std::vector<WatchedColumns>{
      {"first_contact_due_ms", "deadline_warned_ms", "deadline_missed_ms",
       "first_contact_at_ms = 0 AND state IN (1, 2, 3)"},
      // One per referral: waits while no victim-support assignment of the
      // referral was offered and one still waits.
      {"referral_due_ms", "referral_warned_ms", "referral_missed_ms",
       absl::StrCat("NOT EXISTS (SELECT 1 FROM assignments o WHERE "
                    "o.referral_id = assignments.referral_id AND "
                    "o.offered_at_ms > 0 AND o.service NOT IN ",
                    not_support,
                    ") AND EXISTS (SELECT 1 FROM assignments w WHERE "
                    "w.referral_id = assignments.referral_id AND w.state IN "
                    "(0, 1) AND w.service NOT IN ",
                    not_support, ")")},
      {"update_due_ms", "update_warned_ms", "update_missed_ms",
       "service = 0 AND state IN (3, 4)"},
  };
  return *watched;
}
}  // namespace

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::DeadlinesDue(
    Tx& tx, absl::Time now, absl::Duration lead,
    const std::set<v1::ServiceKind>& unwatched) {
  // Any watched deadline whose warning (?1: now + lead) or whose passing
  // (?2: now) is due and not yet reported.
  std::vector<std::string> any;
  for (const WatchedColumns& c : Watched()) {
    any.push_back(absl::StrCat("(", c.due, " > 0 AND ", c.open, " AND ((",
                               c.warned, " = 0 AND ", c.due, " <= ?1) OR (",
                               c.missed, " = 0 AND ", c.due, " <= ?2)))"));
  }
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat("SELECT ", kColumns, " FROM assignments WHERE (",
                              absl::StrJoin(any, " OR "), ")", NotIn(unwatched),
                              " ORDER BY created_at_ms LIMIT 200")));
  q.Bind(1, Ms(now + lead)).Bind(2, Ms(now));
  return ReadRecords(q);
}

absl::StatusOr<std::optional<absl::Time>> AssignmentStore::NextDeadlineReport(
    Tx& tx, absl::Duration lead, const std::set<v1::ServiceKind>& unwatched) {
  std::vector<std::string> next;
  for (const WatchedColumns& c : Watched()) {
    next.push_back(absl::StrCat(
        "SELECT MIN(CASE WHEN ", c.warned, " = 0 THEN ", c.due, " - ?1 ELSE ",
        c.due, " END) AS t FROM assignments WHERE ", c.due, " > 0 AND ", c.open,
        " AND ", c.missed, " = 0", NotIn(unwatched)));
  }
  ASSIGN_OR_RETURN(Statement q, tx.Prepare(absl::StrCat(
                                    "SELECT MIN(t) FROM (",
                                    absl::StrJoin(next, " UNION ALL "), ")")));
  q.Bind(1, absl::ToInt64Milliseconds(lead));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.ColumnIsNull(0)) return std::nullopt;
  return absl::FromUnixMillis(q.ColumnInt(0));
}

absl::Status AssignmentStore::AddUpdate(Tx& tx, const AssignmentId& id,
                                        absl::Time at, v1::UpdateKind kind,
                                        std::optional<absl::Time> due,
                                        bool within_deadline) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO assignment_updates (assignment_id, at_ms, kind, "
                 "due_ms, within_deadline) VALUES (?, ?, ?, ?, ?)"));
  q.Bind(1, id.value())
      .Bind(2, Ms(at))
      .Bind(3, static_cast<int64_t>(kind))
      .Bind(4, Ms(due))
      .Bind(5, static_cast<int64_t>(within_deadline));
  return q.Run();
}

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::ProviderWorklist(
    Tx& tx, const ProviderId& provider_id) {
  return Query(tx,
               "WHERE provider_id = ? AND service != 0 AND state IN (2, 3, 4) "
               "ORDER BY first_contact_due_ms = 0, first_contact_due_ms, "
               "created_at_ms",
               {provider_id.value()});
}

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::ForReferral(
    Tx& tx, const ReferralId& referral_id) {
  return Query(tx, "WHERE referral_id = ? ORDER BY created_at_ms, pathway",
               {referral_id.value()});
}

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::Waitlisted(
    Tx& tx) {
  return Query(tx,
               "WHERE state = 1 ORDER BY priority DESC, CASE WHEN "
               "first_contact_due_ms = 0 THEN 1 ELSE 0 END, "
               "first_contact_due_ms, waitlisted_at_ms, assignment_id",
               {});
}

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::OffersDueBy(
    Tx& tx, absl::Time now) {
  return Query(tx,
               "WHERE state = 2 AND offer_expires_at_ms <= ? "
               "ORDER BY offer_expires_at_ms",
               {absl::StrCat(Ms(now))});
}

absl::StatusOr<std::optional<absl::Time>>
AssignmentStore::EarliestOfferDeadline(Tx& tx) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT MIN(offer_expires_at_ms) FROM "
                              "assignments WHERE state = 2"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.ColumnIsNull(0)) return std::nullopt;
  return absl::FromUnixMillis(q.ColumnInt(0));
}

absl::StatusOr<std::vector<AssignmentRecord>> AssignmentStore::Worklist(
    Tx& tx, const AdvocateId& advocate_id) {
  return Query(tx,
               "WHERE advocate_id = ? AND state IN (2,3,4) ORDER BY CASE "
               "WHEN state = 4 THEN 1 ELSE 0 END, CASE WHEN "
               "first_contact_due_ms > 0 THEN first_contact_due_ms ELSE "
               "offer_expires_at_ms END, created_at_ms, assignment_id",
               {advocate_id.value()});
}

absl::StatusOr<WaitlistSummary> AssignmentStore::SummariseWaitlist(
    Tx& tx, v1::Pathway pathway, const std::string& locality) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT COUNT(*), MIN(waitlisted_at_ms) FROM "
                              "assignments WHERE state = 1 AND pathway = ? "
                              "AND locality = ?"));
  q.Bind(1, static_cast<int64_t>(pathway)).Bind(2, locality);
  ASSIGN_OR_RETURN(bool row, q.Step());
  WaitlistSummary summary;
  if (!row) return summary;
  summary.length = static_cast<int>(q.ColumnInt(0));
  if (!q.ColumnIsNull(1)) {
    summary.oldest_waiting_since = absl::FromUnixMillis(q.ColumnInt(1));
  }
  return summary;
}

absl::StatusOr<std::vector<AdvocateId>>
AssignmentStore::AdvocatesWhoSupportedVictim(Tx& tx,
                                             const std::string& victim_ref,
                                             const AssignmentId& except) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare(kSupportedVictimSql));
  q.Bind(1, victim_ref).Bind(2, except.value());
  std::vector<AdvocateId> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.emplace_back(q.ColumnText(0));
  }
}

absl::Status AssignmentStore::AddHistory(Tx& tx,
                                         const AssignmentId& assignment_id,
                                         const v1::AssignmentStep& step) {
  ASSIGN_OR_RETURN(int64_t seq, NextHistorySeq(tx, assignment_id));
  return AddHistoryWithNote(tx, assignment_id, seq, step, "", "");
}

absl::StatusOr<int64_t> AssignmentStore::NextHistorySeq(
    Tx& tx, const AssignmentId& assignment_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT COALESCE(MAX(seq),0)+1 FROM "
                              "assignment_history WHERE assignment_id = ?"));
  q.Bind(1, assignment_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::InternalError("MAX(seq) returned no row");
  return q.ColumnInt(0);
}

absl::Status AssignmentStore::AddHistoryWithNote(
    Tx& tx, const AssignmentId& assignment_id, int64_t seq,
    const v1::AssignmentStep& step, const std::string& note,
    const std::string& format) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO assignment_history (assignment_id, seq, at_ms, "
                 "step, advocate_id, detail, note, note_format, agency_id) "
                 "VALUES (?,?,?,?,?,?,?,?,?)"));
  q.Bind(1, assignment_id.value())
      .Bind(2, seq)
      .Bind(3, Ms(timeutil::FromTimestamp(step.at())))
      .Bind(4, step.step())
      .Bind(5, step.advocate_id())
      .Bind(6, step.detail())
      .Bind(8, format)
      .Bind(9, step.agency_id());
  // A sealed note is bytes; no note stays the column's '' default.
  if (note.empty()) {
    q.Bind(7, std::string());
  } else {
    q.BindBlob(7, note);
  }
  return q.Run();
}

absl::StatusOr<std::vector<v1::AssignmentStep>> AssignmentStore::History(
    Tx& tx, const AssignmentId& assignment_id) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("SELECT at_ms, step, advocate_id, detail, agency_id FROM "
                 "assignment_history WHERE assignment_id = ? ORDER BY seq"));
  q.Bind(1, assignment_id.value());
  std::vector<v1::AssignmentStep> steps;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return steps;
    v1::AssignmentStep s;
    *s.mutable_at() =
        timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(0)));
    s.set_step(q.ColumnText(1));
    s.set_advocate_id(q.ColumnText(2));
    s.set_detail(q.ColumnText(3));
    s.set_agency_id(q.ColumnText(4));
    steps.push_back(std::move(s));
  }
}

absl::StatusOr<std::vector<StoredNote>> AssignmentStore::Notes(
    Tx& tx, const AssignmentId& assignment_id) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("SELECT seq, step, advocate_id, note_format, note FROM "
                 "assignment_history WHERE assignment_id = ? AND "
                 "length(note) > 0 ORDER BY seq"));
  q.Bind(1, assignment_id.value());
  std::vector<StoredNote> notes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return notes;
    StoredNote& n = notes.emplace_back();
    n.seq = q.ColumnInt(0);
    n.step = q.ColumnText(1);
    n.advocate_id = q.ColumnText(2);
    n.format = q.ColumnText(3);
    n.note = q.ColumnBlob(4);
  }
}

absl::Status AssignmentStore::SaveContactRules(Tx& tx,
                                               const ReferralId& referral_id,
                                               const SealedValue& rules) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT OR REPLACE INTO referral_contact_rules (referral_id, "
                 "format, sealed) VALUES (?,?,?)"));
  q.Bind(1, referral_id.value())
      .Bind(2, rules.format)
      .BindBlob(3, rules.sealed);
  return q.Run();
}

absl::StatusOr<std::optional<SealedValue>> AssignmentStore::FindContactRules(
    Tx& tx, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT format, sealed FROM "
                              "referral_contact_rules WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return SealedValue{q.ColumnText(0), q.ColumnBlob(1)};
}

absl::Status AssignmentStore::EraseReferralPerson(
    Tx& tx, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(
      Statement rules,
      tx.Prepare("DELETE FROM referral_contact_rules WHERE referral_id = ?"));
  rules.Bind(1, referral_id.value());
  RETURN_IF_ERROR(rules.Run());
  ASSIGN_OR_RETURN(
      Statement notes,
      tx.Prepare("UPDATE assignment_history SET note = '', note_format = '' "
                 "WHERE length(note) > 0 AND assignment_id IN (SELECT "
                 "assignment_id FROM assignments WHERE referral_id = ?)"));
  notes.Bind(1, referral_id.value());
  RETURN_IF_ERROR(notes.Run());
  ASSIGN_OR_RETURN(
      Statement refs,
      tx.Prepare("UPDATE assignments SET victim_ref = '', specialisms = '' "
                 "WHERE referral_id = ? AND (victim_ref != '' OR "
                 "specialisms != '')"));
  refs.Bind(1, referral_id.value());
  return refs.Run();
}

absl::Status AssignmentStore::MarkRouted(Tx& tx, const ReferralId& referral_id,
                                         v1::ReferralStatus status,
                                         absl::Time now) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT OR REPLACE INTO routed_referrals (referral_id, "
                 "status, routed_at_ms) VALUES (?,?,?)"));
  q.Bind(1, referral_id.value())
      .Bind(2, static_cast<int64_t>(status))
      .Bind(3, Ms(now));
  return q.Run();
}

absl::StatusOr<bool> AssignmentStore::IsRouted(Tx& tx,
                                               const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("SELECT 1 FROM routed_referrals WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  return q.Step();
}

absl::Status AssignmentStore::MarkErased(Tx& tx, const ReferralId& referral_id,
                                         absl::Time now) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT OR IGNORE INTO erased_referrals (referral_id, "
                 "erased_at_ms) VALUES (?,?)"));
  q.Bind(1, referral_id.value()).Bind(2, Ms(now));
  return q.Run();
}

absl::StatusOr<bool> AssignmentStore::IsErased(Tx& tx,
                                               const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("SELECT 1 FROM erased_referrals WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  return q.Step();
}

}  // namespace signpost::advocacy
