#include "services/advocacy/advocacy_store.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::advocacy {
namespace {

using store::Statement;
using store::Tx;

using google::protobuf::util::TimeUtil;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

google::protobuf::Timestamp ToProto(int64_t ms) {
  return TimeUtil::MillisecondsToTimestamp(ms);
}

int64_t FromProto(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToMilliseconds(ts);
}

std::vector<std::string> SplitList(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, ',');
}

std::string StateName(v1::AssignmentState s) {
  std::string name = v1::AssignmentState_Name(s);
  return name.substr(std::string("ASSIGNMENT_STATE_").size());
}

// One assignment row.
struct Row {
  std::string assignment_id;
  std::string referral_id;
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  v1::AssignmentState state = v1::ASSIGNMENT_STATE_UNSPECIFIED;
  std::string advocate_id;
  bool interpreter = false;
  std::string reason;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  std::string victim_ref;
  std::string locality;
  std::string language;
  bool language_required = false;
  int64_t first_contact_due_ms = 0;
  int64_t created_at_ms = 0;
  int64_t waitlisted_at_ms = 0;
  int64_t offer_expires_at_ms = 0;
  int64_t first_contact_at_ms = 0;
  int64_t closed_at_ms = 0;
  int closure_reason = 0, feels_safer = 0, copes_better = 0,
      better_informed = 0;
};

constexpr char kRowColumns[] =
    "assignment_id, referral_id, pathway, state, advocate_id, interpreter, "
    "reason, priority, "
    "victim_ref, locality, language, language_required, first_contact_due_ms, "
    "created_at_ms, "
    "waitlisted_at_ms, offer_expires_at_ms, first_contact_at_ms, closed_at_ms, "
    "closure_reason, "
    "feels_safer, copes_better, better_informed";

Row ReadRow(const Statement& q) {
  Row r;
  r.assignment_id = q.ColumnText(0);
  r.referral_id = q.ColumnText(1);
  r.pathway = static_cast<v1::Pathway>(q.ColumnInt(2));
  r.state = static_cast<v1::AssignmentState>(q.ColumnInt(3));
  r.advocate_id = q.ColumnText(4);
  r.interpreter = q.ColumnInt(5) != 0;
  r.reason = q.ColumnText(6);
  r.priority = static_cast<v1::Priority>(q.ColumnInt(7));
  r.victim_ref = q.ColumnText(8);
  r.locality = q.ColumnText(9);
  r.language = q.ColumnText(10);
  r.language_required = q.ColumnInt(11) != 0;
  r.first_contact_due_ms = q.ColumnInt(12);
  r.created_at_ms = q.ColumnInt(13);
  r.waitlisted_at_ms = q.ColumnInt(14);
  r.offer_expires_at_ms = q.ColumnInt(15);
  r.first_contact_at_ms = q.ColumnInt(16);
  r.closed_at_ms = q.ColumnInt(17);
  r.closure_reason = static_cast<int>(q.ColumnInt(18));
  r.feels_safer = static_cast<int>(q.ColumnInt(19));
  r.copes_better = static_cast<int>(q.ColumnInt(20));
  r.better_informed = static_cast<int>(q.ColumnInt(21));
  return r;
}

absl::StatusOr<std::vector<Row>> QueryRows(
    Tx& tx, const std::string& where, const std::vector<std::string>& args) {
  absl::StatusOr<Statement> q = tx.Prepare(
      absl::StrCat("SELECT ", kRowColumns, " FROM assignments ", where));
  if (!q.ok()) return q.status();
  for (size_t i = 0; i < args.size(); ++i)
    q->Bind(static_cast<int>(i + 1), args[i]);
  std::vector<Row> rows;
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rows.push_back(ReadRow(*q));
  }
  return rows;
}

absl::StatusOr<Row> LoadRow(Tx& tx, const std::string& assignment_id) {
  absl::StatusOr<std::vector<Row>> rows =
      QueryRows(tx, "WHERE assignment_id = ?", {assignment_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::NotFoundError(
        absl::StrCat("assignment ", assignment_id, " not found"));
  }
  return (*rows)[0];
}

absl::Status SaveRow(Tx& tx, const Row& r) {
  absl::StatusOr<Statement> q = tx.Prepare(
      absl::StrCat("INSERT OR REPLACE INTO assignments (", kRowColumns,
                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  if (!q.ok()) return q.status();
  q->Bind(1, r.assignment_id)
      .Bind(2, r.referral_id)
      .Bind(3, static_cast<int64_t>(r.pathway))
      .Bind(4, static_cast<int64_t>(r.state))
      .Bind(5, r.advocate_id)
      .Bind(6, static_cast<int64_t>(r.interpreter))
      .Bind(7, r.reason)
      .Bind(8, static_cast<int64_t>(r.priority))
      .Bind(9, r.victim_ref)
      .Bind(10, r.locality)
      .Bind(11, r.language)
      .Bind(12, static_cast<int64_t>(r.language_required))
      .Bind(13, r.first_contact_due_ms)
      .Bind(14, r.created_at_ms)
      .Bind(15, r.waitlisted_at_ms)
      .Bind(16, r.offer_expires_at_ms)
      .Bind(17, r.first_contact_at_ms)
      .Bind(18, r.closed_at_ms)
      .Bind(19, static_cast<int64_t>(r.closure_reason))
      .Bind(20, static_cast<int64_t>(r.feels_safer))
      .Bind(21, static_cast<int64_t>(r.copes_better))
      .Bind(22, static_cast<int64_t>(r.better_informed));
  return q->Run();
}

absl::Status AddHistory(Tx& tx, const std::string& assignment_id, int64_t at_ms,
                        const std::string& step, const std::string& advocate_id,
                        const std::string& detail,
                        const std::string& note = "") {
  absl::StatusOr<Statement> q = tx.Prepare(
      "INSERT INTO assignment_history (assignment_id, seq, at_ms, step, "
      "advocate_id, detail, "
      "note) VALUES (?, (SELECT COALESCE(MAX(seq),0)+1 FROM assignment_history "
      "WHERE "
      "assignment_id = ?), ?,?,?,?,?)");
  if (!q.ok()) return q.status();
  q->Bind(1, assignment_id)
      .Bind(2, assignment_id)
      .Bind(3, at_ms)
      .Bind(4, step)
      .Bind(5, advocate_id)
      .Bind(6, detail)
      .Bind(7, note);
  return q->Run();
}

absl::StatusOr<std::vector<v1::AssignmentStep>> LoadHistory(
    Tx& tx, const std::string& id) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "SELECT at_ms, step, advocate_id, detail FROM assignment_history WHERE "
      "assignment_id = ? "
      "ORDER BY seq");
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  std::vector<v1::AssignmentStep> steps;
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    v1::AssignmentStep s;
    *s.mutable_at() = ToProto(q->ColumnInt(0));
    s.set_step(q->ColumnText(1));
    s.set_advocate_id(q->ColumnText(2));
    s.set_detail(q->ColumnText(3));
    steps.push_back(std::move(s));
  }
  return steps;
}

absl::StatusOr<v1::Assignment> ToAssignment(Tx& tx, const Row& r) {
  v1::Assignment a;
  a.set_assignment_id(r.assignment_id);
  a.set_referral_id(r.referral_id);
  a.set_pathway(r.pathway);
  a.set_state(r.state);
  a.set_advocate_id(r.advocate_id);
  a.set_interpreter_flag(r.interpreter);
  a.set_reason(r.reason);
  a.set_priority(r.priority);
  *a.mutable_created_at() = ToProto(r.created_at_ms);
  if (r.first_contact_due_ms)
    *a.mutable_first_contact_due() = ToProto(r.first_contact_due_ms);
  if (r.state == v1::ASSIGNMENT_STATE_OFFERED) {
    *a.mutable_offer_expires_at() = ToProto(r.offer_expires_at_ms);
  }
  if (r.first_contact_at_ms)
    *a.mutable_first_contact_at() = ToProto(r.first_contact_at_ms);
  a.set_closure_reason(static_cast<v1::ClosureReason>(r.closure_reason));
  a.set_feels_safer(static_cast<v1::OutcomeAnswer>(r.feels_safer));
  a.set_copes_better(static_cast<v1::OutcomeAnswer>(r.copes_better));
  a.set_better_informed(static_cast<v1::OutcomeAnswer>(r.better_informed));
  absl::StatusOr<std::vector<v1::AssignmentStep>> history =
      LoadHistory(tx, r.assignment_id);
  if (!history.ok()) return history.status();
  for (auto& s : *history) {
    if (s.step() == "FIRST_CONTACT" || s.step() == "CONTACT" ||
        s.step() == "CONTACT_UNSAFE" || s.step() == "CONTACT_NO_ANSWER") {
      a.set_contact_attempts(a.contact_attempts() + 1);
    }
    if (s.step() == "CONTACT_UNSAFE")
      a.set_unsafe_attempts(a.unsafe_attempts() + 1);
    *a.add_history() = std::move(s);
  }
  return a;
}

// The advocates of a role. With `locality`, only those that could take a
// case there now (serving it, not on leave, below capacity): the fast path.
absl::StatusOr<std::vector<AdvocateView>> LoadRole(
    Tx& tx, v1::AdvocateRole role, const std::string* locality = nullptr) {
  std::vector<AdvocateView> out;
  // The fast path starts from the locality index (CROSS JOIN fixes the join
  // order), so its cost follows the advocates serving the locality, not the
  // size of the directory.
  absl::StatusOr<Statement> q = tx.Prepare(
      locality != nullptr ? "SELECT DISTINCT a.advocate_id, a.provider_id, "
                            "a.role, a.languages, a.localities, "
                            "a.capacity, a.caseload, a.last_assigned_ms, "
                            "a.on_leave, a.available_from_ms, "
                            "a.available_to_ms FROM advocate_localities l "
                            "CROSS JOIN advocates a ON "
                            "a.advocate_id = l.advocate_id WHERE l.locality IN "
                            "(?, '*') AND a.role = ? AND "
                            "a.on_leave = 0 AND a.caseload < a.capacity"
                          : "SELECT advocate_id, provider_id, role, languages, "
                            "localities, capacity, caseload, "
                            "last_assigned_ms, on_leave, available_from_ms, "
                            "available_to_ms FROM advocates "
                            "WHERE role = ?");
  if (!q.ok()) return q.status();
  if (locality != nullptr) {
    q->Bind(1, *locality).Bind(2, static_cast<int64_t>(role));
  } else {
    q->Bind(1, static_cast<int64_t>(role));
  }
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
    a.on_leave = q->ColumnInt(8) != 0;
    a.available_from_ms = q->ColumnInt(9);
    a.available_to_ms = q->ColumnInt(10);
    out.push_back(std::move(a));
  }
  return out;
}

absl::Status Emit(Tx& tx, v1::EventEnvelope envelope,
                  const std::string& traceparent) {
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kAdvocacyTopic,
                               traceparent);
}

// Takes one place of `advocate_id`'s capacity (checked in this transaction).
absl::Status ReserveCapacity(Tx& tx, const std::string& advocate_id,
                             int64_t now_ms) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "UPDATE advocates SET caseload = caseload + 1, last_assigned_ms = ? "
      "WHERE advocate_id = ? AND caseload < capacity");
  if (!q.ok()) return q.status();
  q->Bind(1, now_ms).Bind(2, advocate_id);
  if (absl::Status s = q->Run(); !s.ok()) return s;
  if (tx.Changes() != 1) {
    // Capacity is checked in the same transaction; this would be a bug.
    return absl::AbortedError("advocate capacity changed during assignment");
  }
  return absl::OkStatus();
}

absl::Status ReleaseCapacity(Tx& tx, const std::string& advocate_id) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "UPDATE advocates SET caseload = MAX(caseload - 1, 0) WHERE advocate_id "
      "= ?");
  if (!q.ok()) return q.status();
  q->Bind(1, advocate_id);
  return q->Run();
}

enum class OfferKind { kInitial, kReoffer, kFromWaitlist };

// Offers `row` to the best eligible advocate, or waitlists it.
absl::StatusOr<bool> TryOffer(Tx& tx, Row& row, absl::Time now,
                              absl::Duration offer_timeout,
                              const std::string& traceparent, OfferKind kind,
                              const v1::EventEnvelope* cause) {
  std::optional<v1::AdvocateRole> role = RoleForPathway(row.pathway);
  if (!role)
    return absl::InternalError("assignment for a pathway without a role");
  absl::StatusOr<std::vector<AdvocateView>> pool =
      LoadRole(tx, *role, &row.locality);
  if (!pool.ok()) return pool.status();
  MatchRequest request;
  request.pathway = row.pathway;
  request.locality = row.locality;
  request.language = row.language;
  request.language_match_required = row.language_required;
  request.now_ms = Ms(now);
  absl::StatusOr<std::vector<v1::AssignmentStep>> history =
      LoadHistory(tx, row.assignment_id);
  if (!history.ok()) return history.status();
  for (const auto& s : *history) {
    if (s.step() == "DECLINED" || s.step() == "EXPIRED")
      request.excluded.insert(s.advocate_id());
  }
  if (!row.victim_ref.empty()) {
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT DISTINCT advocate_id FROM assignments WHERE victim_ref = ? AND "
        "assignment_id != ? AND advocate_id != '' AND state IN (3,4,5)");
    if (!q.ok()) return q.status();
    q->Bind(1, row.victim_ref).Bind(2, row.assignment_id);
    while (true) {
      absl::StatusOr<bool> r = q->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      request.previous.insert(q->ColumnText(0));
    }
  }
  MatchResult match = Match(request, *pool);
  if (!match.chosen && kind != OfferKind::kFromWaitlist) {
    // Nobody could take it: match against the whole role so the recorded
    // reason says why. (A waitlist pass records nothing for a case that
    // stays waiting, so it skips this.)
    pool = LoadRole(tx, *role);
    if (!pool.ok()) return pool.status();
    match = Match(request, *pool);
    if (match.chosen)
      return absl::InternalError("advocate prefilter disagreed with matching");
  }
  v1::EventEnvelope out =
      events::NewEnvelope("advocacy", row.referral_id, cause);
  if (match.chosen) {
    if (absl::Status s =
            ReserveCapacity(tx, match.chosen->advocate_id, Ms(now));
        !s.ok()) {
      return s;
    }
    bool from_waitlist = row.state == v1::ASSIGNMENT_STATE_WAITLISTED &&
                         kind == OfferKind::kFromWaitlist;
    row.state = v1::ASSIGNMENT_STATE_OFFERED;
    row.advocate_id = match.chosen->advocate_id;
    row.interpreter = match.interpreter;
    row.reason = match.reason;
    row.offer_expires_at_ms = Ms(now + offer_timeout);
    if (absl::Status s = SaveRow(tx, row); !s.ok()) return s;
    if (absl::Status s =
            AddHistory(tx, row.assignment_id, Ms(now), "OFFERED",
                       row.advocate_id, match.interpreter ? "interpreter" : "");
        !s.ok()) {
      return s;
    }
    if (from_waitlist) {
      auto* w = out.mutable_waitlist_assigned();
      w->set_assignment_id(row.assignment_id);
      w->set_pathway(row.pathway);
      w->set_advocate_id(row.advocate_id);
      w->set_provider_id(match.chosen->provider_id);
      w->set_interpreter_flag(match.interpreter);
      w->set_waited_seconds((Ms(now) - row.waitlisted_at_ms) / 1000);
      *w->mutable_offer_expires_at() = ToProto(row.offer_expires_at_ms);
    } else {
      auto* o = out.mutable_advocate_offered();
      o->set_assignment_id(row.assignment_id);
      o->set_pathway(row.pathway);
      o->set_advocate_id(row.advocate_id);
      o->set_provider_id(match.chosen->provider_id);
      o->set_interpreter_flag(match.interpreter);
      o->set_reason(match.reason);
      *o->mutable_offer_expires_at() = ToProto(row.offer_expires_at_ms);
      o->set_reoffer(kind == OfferKind::kReoffer);
    }
    if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
      return s;
    return true;
  }
  if (kind == OfferKind::kFromWaitlist)
    return false;  // stays waitlisted, no new event
  row.state = v1::ASSIGNMENT_STATE_WAITLISTED;
  row.advocate_id.clear();
  row.interpreter = false;
  row.reason = match.reason;
  row.offer_expires_at_ms = 0;
  if (row.waitlisted_at_ms == 0) row.waitlisted_at_ms = Ms(now);
  if (absl::Status s = SaveRow(tx, row); !s.ok()) return s;
  if (absl::Status s =
          AddHistory(tx, row.assignment_id, Ms(now), "WAITLISTED", "", "");
      !s.ok()) {
    return s;
  }
  auto* w = out.mutable_referral_waitlisted();
  w->set_pathway(row.pathway);
  w->set_priority(row.priority);
  w->set_reason(match.reason);
  w->set_assignment_id(row.assignment_id);
  if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok()) return s;
  return false;
}

// Assigns from the head of the waitlist while capacity allows: priority,
// then earliest first-contact deadline, then arrival.
absl::StatusOr<int> DrainWaitlist(Tx& tx, absl::Time now,
                                  absl::Duration offer_timeout,
                                  const std::string& traceparent) {
  absl::StatusOr<std::vector<Row>> waiting = QueryRows(
      tx,
      "WHERE state = 1 ORDER BY priority DESC, CASE WHEN first_contact_due_ms "
      "= 0 THEN 1 "
      "ELSE 0 END, first_contact_due_ms, waitlisted_at_ms, assignment_id",
      {});
  if (!waiting.ok()) return waiting.status();
  int assigned = 0;
  for (Row& row : *waiting) {
    absl::StatusOr<bool> offered =
        TryOffer(tx, row, now, offer_timeout, traceparent,
                 OfferKind::kFromWaitlist, nullptr);
    if (!offered.ok()) return offered.status();
    if (*offered) ++assigned;
  }
  return assigned;
}

absl::Status CheckYours(const Row& row, const std::string& advocate_id,
                        std::initializer_list<v1::AssignmentState> allowed,
                        const std::string& action) {
  bool ok = false;
  for (v1::AssignmentState s : allowed) ok |= row.state == s;
  if (!ok) {
    std::vector<std::string> names;
    for (v1::AssignmentState s : allowed) names.push_back(StateName(s));
    return grpcutil::RuleViolation(
        "ASSIGNMENT-LIFECYCLE", "state",
        absl::StrCat("cannot ", action, " an assignment that is ",
                     StateName(row.state), "; it must be ",
                     absl::StrJoin(names, " or ")));
  }
  if (row.advocate_id != advocate_id) {
    return grpcutil::RuleViolation(
        "ASSIGNMENT-NOT-YOURS", "advocate_id",
        absl::StrCat("assignment ", row.assignment_id,
                     " is with another advocate"));
  }
  return absl::OkStatus();
}

absl::Status UpsertAdvocateRow(Tx& tx, const v1::Advocate& a) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "INSERT INTO advocates (advocate_id, provider_id, display_name, role, "
      "languages, "
      "localities, capacity, specialisms, on_leave, available_from_ms, "
      "available_to_ms) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(advocate_id) DO UPDATE SET "
      "provider_id=excluded.provider_id, display_name=excluded.display_name, "
      "role=excluded.role, languages=excluded.languages, "
      "localities=excluded.localities, "
      "capacity=excluded.capacity, specialisms=excluded.specialisms, "
      "on_leave=excluded.on_leave, "
      "available_from_ms=excluded.available_from_ms, "
      "available_to_ms=excluded.available_to_ms");
  if (!q.ok()) return q.status();
  q->Bind(1, a.advocate_id())
      .Bind(2, a.provider_id())
      .Bind(3, a.display_name())
      .Bind(4, static_cast<int64_t>(a.role()))
      .Bind(5, absl::StrJoin(a.languages(), ","))
      .Bind(6, absl::StrJoin(a.localities(), ","))
      .Bind(7, static_cast<int64_t>(a.capacity()))
      .Bind(8, absl::StrJoin(a.specialisms(), ","))
      .Bind(9, static_cast<int64_t>(a.availability().on_leave()))
      .Bind(10, a.availability().has_available_from()
                    ? FromProto(a.availability().available_from())
                    : int64_t{0})
      .Bind(11, a.availability().has_available_to()
                    ? FromProto(a.availability().available_to())
                    : int64_t{0});
  if (absl::Status s = q->Run(); !s.ok()) return s;
  // The locality index that makes matching independent of directory size.
  absl::StatusOr<Statement> clear =
      tx.Prepare("DELETE FROM advocate_localities WHERE advocate_id = ?");
  if (!clear.ok()) return clear.status();
  clear->Bind(1, a.advocate_id());
  if (absl::Status s = clear->Run(); !s.ok()) return s;
  for (const std::string& locality : a.localities()) {
    absl::StatusOr<Statement> add = tx.Prepare(
        "INSERT OR IGNORE INTO advocate_localities (locality, advocate_id) "
        "VALUES (?,?)");
    if (!add.ok()) return add.status();
    add->Bind(1, locality).Bind(2, a.advocate_id());
    if (absl::Status s = add->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status UpsertProviderRow(Tx& tx, const v1::Provider& p) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "INSERT INTO providers (provider_id, name, address, "
      "address_confidential) VALUES "
      "(?,?,?,?) ON CONFLICT(provider_id) DO UPDATE SET name=excluded.name, "
      "address=excluded.address, "
      "address_confidential=excluded.address_confidential");
  if (!q.ok()) return q.status();
  q->Bind(1, p.provider_id())
      .Bind(2, p.name())
      .Bind(3, p.address())
      .Bind(4, static_cast<int64_t>(p.address_confidential()));
  return q->Run();
}

absl::StatusOr<bool> ProviderExists(Tx& tx, const std::string& id) {
  absl::StatusOr<Statement> q =
      tx.Prepare("SELECT 1 FROM providers WHERE provider_id = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  return q->Step();
}

absl::StatusOr<std::vector<v1::Advocate>> QueryAdvocates(
    Tx& tx, const std::string& where, const std::vector<std::string>& args) {
  std::vector<v1::Advocate> out;
  absl::StatusOr<Statement> q = tx.Prepare(
      absl::StrCat("SELECT advocate_id, provider_id, display_name, role, "
                   "languages, localities, capacity, "
                   "caseload, specialisms, on_leave, available_from_ms, "
                   "available_to_ms FROM advocates ",
                   where, " ORDER BY advocate_id"));
  if (!q.ok()) return q.status();
  for (size_t i = 0; i < args.size(); ++i)
    q->Bind(static_cast<int>(i + 1), args[i]);
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    v1::Advocate a;
    a.set_advocate_id(q->ColumnText(0));
    a.set_provider_id(q->ColumnText(1));
    a.set_display_name(q->ColumnText(2));
    a.set_role(static_cast<v1::AdvocateRole>(q->ColumnInt(3)));
    for (const std::string& l : SplitList(q->ColumnText(4))) a.add_languages(l);
    for (const std::string& l : SplitList(q->ColumnText(5)))
      a.add_localities(l);
    a.set_capacity(static_cast<int32_t>(q->ColumnInt(6)));
    a.set_caseload(static_cast<int32_t>(q->ColumnInt(7)));
    for (const std::string& s : SplitList(q->ColumnText(8)))
      a.add_specialisms(s);
    a.mutable_availability()->set_on_leave(q->ColumnInt(9) != 0);
    if (q->ColumnInt(10))
      *a.mutable_availability()->mutable_available_from() =
          ToProto(q->ColumnInt(10));
    if (q->ColumnInt(11))
      *a.mutable_availability()->mutable_available_to() =
          ToProto(q->ColumnInt(11));
    out.push_back(std::move(a));
  }
  return out;
}

// Upserts providers and advocates, then assigns from the waitlist whatever
// the new capacity allows; all inside the caller's transaction.
absl::StatusOr<v1::ImportDirectoryResponse> ImportInTx(
    Tx& tx, const v1::Directory& directory, absl::Time now,
    absl::Duration offer_timeout, const std::string& traceparent) {
  for (const v1::Provider& p : directory.providers()) {
    if (absl::Status s = UpsertProviderRow(tx, p); !s.ok()) return s;
  }
  for (const v1::Advocate& a : directory.advocates()) {
    absl::StatusOr<bool> exists = ProviderExists(tx, a.provider_id());
    if (!exists.ok()) return exists.status();
    if (!*exists) {
      grpcutil::FieldErrors errors;
      errors.Add(absl::StrCat("advocates[", a.advocate_id(), "].provider_id"),
                 absl::StrCat("unknown provider '", a.provider_id(), "'"));
      return errors.ToStatus();
    }
    if (absl::Status s = UpsertAdvocateRow(tx, a); !s.ok()) return s;
  }
  absl::StatusOr<int> drained =
      DrainWaitlist(tx, now, offer_timeout, traceparent);
  if (!drained.ok()) return drained.status();
  v1::ImportDirectoryResponse response;
  response.set_providers(directory.providers_size());
  response.set_advocates(directory.advocates_size());
  response.set_waitlist_assigned(*drained);
  return response;
}

absl::StatusOr<v1::Advocate> LoadAdvocate(Tx& tx,
                                          const std::string& advocate_id) {
  absl::StatusOr<std::vector<v1::Advocate>> found =
      QueryAdvocates(tx, "WHERE advocate_id = ?", {advocate_id});
  if (!found.ok()) return found.status();
  if (found->empty()) {
    return absl::NotFoundError(
        absl::StrCat("advocate ", advocate_id, " not found"));
  }
  return std::move(found->front());
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
)sql",
          // Version 2: the full directory and assignment lifecycle. Capacity
          // may now be lowered below a live caseload (no new offers until it
          // drops), so the advocates table is rebuilt without that CHECK.
          R"sql(
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
)sql"};
}

absl::StatusOr<v1::ImportDirectoryResponse> AdvocacyStore::ImportDirectory(
    const v1::Directory& directory, absl::Time now,
    const std::string& traceparent) {
  v1::ImportDirectoryResponse response;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::ImportDirectoryResponse> r =
        ImportInTx(tx, directory, now, options_.offer_timeout, traceparent);
    if (!r.ok()) return r.status();
    response = std::move(*r);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::Provider> AdvocacyStore::UpsertProvider(
    const v1::Provider& provider) {
  absl::Status status =
      db_.Write([&](Tx& tx) { return UpsertProviderRow(tx, provider); });
  if (!status.ok()) return status;
  return provider;
}

absl::StatusOr<v1::Provider> AdvocacyStore::GetProvider(
    const std::string& provider_id, const std::string& caller_org) {
  v1::Provider p;
  bool found = false;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT name, address, address_confidential FROM providers WHERE "
        "provider_id = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, provider_id);
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    found = true;
    p.set_provider_id(provider_id);
    p.set_name(q->ColumnText(0));
    p.set_address_confidential(q->ColumnInt(2) != 0);
    if (!p.address_confidential() || caller_org == provider_id) {
      p.set_address(q->ColumnText(1));
    } else {
      p.set_address_redacted(true);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found)
    return absl::NotFoundError(
        absl::StrCat("provider ", provider_id, " not found"));
  return p;
}

absl::StatusOr<v1::Advocate> AdvocacyStore::UpsertAdvocate(
    const v1::Advocate& advocate, absl::Time now,
    const std::string& traceparent) {
  v1::Advocate result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    v1::Directory one;
    *one.add_advocates() = advocate;
    absl::StatusOr<v1::ImportDirectoryResponse> r =
        ImportInTx(tx, one, now, options_.offer_timeout, traceparent);
    if (!r.ok()) return r.status();
    absl::StatusOr<v1::Advocate> a = LoadAdvocate(tx, advocate.advocate_id());
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Advocate> AdvocacyStore::SetAvailability(
    const std::string& advocate_id, const v1::Availability& availability,
    absl::Time now, const std::string& traceparent) {
  v1::Advocate result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(
        "UPDATE advocates SET on_leave = ?, available_from_ms = ?, "
        "available_to_ms = ? WHERE advocate_id = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(availability.on_leave()))
        .Bind(2, availability.has_available_from()
                     ? FromProto(availability.available_from())
                     : int64_t{0})
        .Bind(3, availability.has_available_to()
                     ? FromProto(availability.available_to())
                     : int64_t{0})
        .Bind(4, advocate_id);
    if (absl::Status s = q->Run(); !s.ok()) return s;
    if (tx.Changes() != 1) {
      return absl::NotFoundError(
          absl::StrCat("advocate ", advocate_id, " not found"));
    }
    absl::StatusOr<int> drained =
        DrainWaitlist(tx, now, options_.offer_timeout, traceparent);
    if (!drained.ok()) return drained.status();
    absl::StatusOr<v1::Advocate> a = LoadAdvocate(tx, advocate_id);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<v1::Advocate>> AdvocacyStore::ListAdvocates(
    v1::AdvocateRole role, const std::string& provider_id) {
  std::vector<v1::Advocate> out;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    std::vector<std::string> where, args;
    if (role != v1::ADVOCATE_ROLE_UNSPECIFIED) {
      where.push_back("role = ?");
      args.push_back(absl::StrCat(static_cast<int>(role)));
    }
    if (!provider_id.empty()) {
      where.push_back("provider_id = ?");
      args.push_back(provider_id);
    }
    absl::StatusOr<std::vector<v1::Advocate>> list = QueryAdvocates(
        tx,
        where.empty() ? ""
                      : absl::StrCat("WHERE ", absl::StrJoin(where, " AND ")),
        args);
    if (!list.ok()) return list.status();
    out = std::move(*list);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<int> AdvocacyStore::RouteTriaged(
    const events::IncomingEvent& event, absl::Time now) {
  // A reassessment carries a whole new decision; pathways already routed for
  // this referral are not routed twice.
  const v1::ReferralTriaged& decision =
      event.envelope.has_referral_reassessed()
          ? event.envelope.referral_reassessed().decision()
          : event.envelope.referral_triaged();
  const std::string& referral_id = event.envelope.referral_id();
  int created = 0;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    int64_t due_ms = 0;
    for (const auto& d : decision.deadlines()) {
      if (d.kind() == "FIRST_CONTACT") due_ms = FromProto(d.due());
    }
    if (decision.status() == v1::REFERRAL_STATUS_ROUTED) {
      for (int p : decision.pathways()) {
        auto pathway = static_cast<v1::Pathway>(p);
        if (!RoleForPathway(pathway)) continue;  // service pathway: no advocate
        absl::StatusOr<std::vector<Row>> existing =
            QueryRows(tx, "WHERE referral_id = ? AND pathway = ?",
                      {referral_id, absl::StrCat(p)});
        if (!existing.ok()) return existing.status();
        if (!existing->empty()) continue;
        Row row;
        row.assignment_id = NewUuid();
        row.referral_id = referral_id;
        row.pathway = pathway;
        row.priority = decision.priority();
        row.victim_ref = decision.victim_ref();
        row.locality = decision.locality_code();
        row.language = decision.language();
        row.language_required = decision.language_match_required();
        row.first_contact_due_ms = due_ms;
        row.created_at_ms = Ms(now);
        absl::StatusOr<bool> offered =
            TryOffer(tx, row, now, options_.offer_timeout, event.traceparent,
                     OfferKind::kInitial, &event.envelope);
        if (!offered.ok()) return offered.status();
        ++created;
      }
    }
    absl::StatusOr<Statement> routed = tx.Prepare(
        "INSERT OR REPLACE INTO routed_referrals (referral_id, status, "
        "routed_at_ms) "
        "VALUES (?,?,?)");
    if (!routed.ok()) return routed.status();
    routed->Bind(1, referral_id)
        .Bind(2, static_cast<int64_t>(decision.status()))
        .Bind(3, Ms(now));
    return routed->Run();
  });
  if (!status.ok()) return status;
  return created;
}

absl::StatusOr<v1::Assignment> AdvocacyStore::Accept(
    const v1::AcceptAssignmentRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Assignment result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Row> row = LoadRow(tx, req.assignment_id());
    if (!row.ok()) return row.status();
    if (absl::Status s = CheckYours(*row, req.advocate_id(),
                                    {v1::ASSIGNMENT_STATE_OFFERED}, "accept");
        !s.ok()) {
      return s;
    }
    if (Ms(now) > row->offer_expires_at_ms) {
      return grpcutil::RuleViolation(
          "OFFER-EXPIRED", "assignment_id",
          "the offer expired before it was accepted");
    }
    row->state = v1::ASSIGNMENT_STATE_ACCEPTED;
    if (absl::Status s = SaveRow(tx, *row); !s.ok()) return s;
    if (absl::Status s = AddHistory(tx, row->assignment_id, Ms(now), "ACCEPTED",
                                    req.advocate_id(), "");
        !s.ok()) {
      return s;
    }
    v1::EventEnvelope out = events::NewEnvelope("advocacy", row->referral_id);
    out.mutable_assignment_accepted()->set_assignment_id(row->assignment_id);
    out.mutable_assignment_accepted()->set_advocate_id(req.advocate_id());
    if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
      return s;
    absl::StatusOr<v1::Assignment> a = ToAssignment(tx, *row);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Assignment> AdvocacyStore::Decline(
    const v1::DeclineAssignmentRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Assignment result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Row> row = LoadRow(tx, req.assignment_id());
    if (!row.ok()) return row.status();
    if (absl::Status s = CheckYours(*row, req.advocate_id(),
                                    {v1::ASSIGNMENT_STATE_OFFERED}, "decline");
        !s.ok()) {
      return s;
    }
    std::string code = v1::DeclineReason_Name(req.reason());
    if (absl::Status s = AddHistory(tx, row->assignment_id, Ms(now), "DECLINED",
                                    req.advocate_id(), code, req.note());
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReleaseCapacity(tx, req.advocate_id()); !s.ok())
      return s;
    v1::EventEnvelope declined =
        events::NewEnvelope("advocacy", row->referral_id);
    declined.mutable_assignment_declined()->set_assignment_id(
        row->assignment_id);
    declined.mutable_assignment_declined()->set_advocate_id(req.advocate_id());
    declined.mutable_assignment_declined()->set_reason_code(code);
    if (absl::Status s = Emit(tx, declined, traceparent); !s.ok()) return s;
    absl::StatusOr<bool> offered =
        TryOffer(tx, *row, now, options_.offer_timeout, traceparent,
                 OfferKind::kReoffer, &declined);
    if (!offered.ok()) return offered.status();
    // The decliner's freed place may serve someone already waiting.
    if (absl::Status s =
            DrainWaitlist(tx, now, options_.offer_timeout, traceparent)
                .status();
        !s.ok()) {
      return s;
    }
    absl::StatusOr<Row> fresh = LoadRow(tx, req.assignment_id());
    if (!fresh.ok()) return fresh.status();
    absl::StatusOr<v1::Assignment> a = ToAssignment(tx, *fresh);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<int> AdvocacyStore::ExpireOffers(absl::Time now) {
  int expired = 0;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<std::vector<Row>> rows =
        QueryRows(tx,
                  "WHERE state = 2 AND offer_expires_at_ms <= ? ORDER BY "
                  "offer_expires_at_ms",
                  {absl::StrCat(Ms(now))});
    if (!rows.ok()) return rows.status();
    for (Row& row : *rows) {
      std::string traceparent = NewTraceparent();
      std::string advocate = row.advocate_id;
      if (absl::Status s = AddHistory(tx, row.assignment_id, Ms(now), "EXPIRED",
                                      advocate, "OFFER-EXPIRY");
          !s.ok()) {
        return s;
      }
      if (absl::Status s = ReleaseCapacity(tx, advocate); !s.ok()) return s;
      v1::EventEnvelope out = events::NewEnvelope("advocacy", row.referral_id);
      out.mutable_offer_expired()->set_assignment_id(row.assignment_id);
      out.mutable_offer_expired()->set_advocate_id(advocate);
      if (absl::Status s = Emit(tx, out, traceparent); !s.ok()) return s;
      absl::StatusOr<bool> offered =
          TryOffer(tx, row, now, options_.offer_timeout, traceparent,
                   OfferKind::kReoffer, &out);
      if (!offered.ok()) return offered.status();
      ++expired;
    }
    if (expired > 0) {
      return DrainWaitlist(tx, now, options_.offer_timeout, NewTraceparent())
          .status();
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return expired;
}

absl::StatusOr<v1::Assignment> AdvocacyStore::RecordContact(
    const v1::RecordContactRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Assignment result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Row> row = LoadRow(tx, req.assignment_id());
    if (!row.ok()) return row.status();
    if (absl::Status s = CheckYours(
            *row, req.advocate_id(),
            {v1::ASSIGNMENT_STATE_ACCEPTED, v1::ASSIGNMENT_STATE_ACTIVE},
            "record contact on");
        !s.ok()) {
      return s;
    }
    int64_t at_ms = req.has_at() ? FromProto(req.at()) : Ms(now);
    std::string channel = v1::ContactChannel_Name(req.channel());
    std::string step;
    switch (req.outcome()) {
      case v1::CONTACT_OUTCOME_SUCCESSFUL:
        step = row->first_contact_at_ms == 0 ? "FIRST_CONTACT" : "CONTACT";
        break;
      case v1::CONTACT_OUTCOME_UNSAFE:
        step = "CONTACT_UNSAFE";
        break;
      default:
        step = "CONTACT_NO_ANSWER";
    }
    if (absl::Status s = AddHistory(tx, row->assignment_id, at_ms, step,
                                    req.advocate_id(), channel);
        !s.ok()) {
      return s;
    }
    if (step == "FIRST_CONTACT") {
      absl::StatusOr<v1::Assignment> before = ToAssignment(tx, *row);
      if (!before.ok()) return before.status();
      row->first_contact_at_ms = at_ms;
      row->state = v1::ASSIGNMENT_STATE_ACTIVE;
      if (absl::Status s = SaveRow(tx, *row); !s.ok()) return s;
      v1::EventEnvelope out = events::NewEnvelope("advocacy", row->referral_id);
      auto* f = out.mutable_first_contact_recorded();
      f->set_assignment_id(row->assignment_id);
      f->set_advocate_id(req.advocate_id());
      *f->mutable_contacted_at() = ToProto(at_ms);
      if (row->first_contact_due_ms)
        *f->mutable_due() = ToProto(row->first_contact_due_ms);
      f->set_within_deadline(row->first_contact_due_ms == 0 ||
                             at_ms <= row->first_contact_due_ms);
      f->set_failed_attempts(before->contact_attempts() - 1);
      if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
        return s;
    }
    absl::StatusOr<v1::Assignment> a = ToAssignment(tx, *row);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Assignment> AdvocacyStore::Close(
    const v1::CloseCaseRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Assignment result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Row> row = LoadRow(tx, req.assignment_id());
    if (!row.ok()) return row.status();
    if (absl::Status s = CheckYours(
            *row, req.advocate_id(),
            {v1::ASSIGNMENT_STATE_ACCEPTED, v1::ASSIGNMENT_STATE_ACTIVE},
            "close");
        !s.ok()) {
      return s;
    }
    row->state = v1::ASSIGNMENT_STATE_CLOSED;
    row->closed_at_ms = Ms(now);
    row->closure_reason = req.closure_reason();
    row->feels_safer = req.feels_safer();
    row->copes_better = req.copes_better();
    row->better_informed = req.better_informed();
    if (absl::Status s = SaveRow(tx, *row); !s.ok()) return s;
    if (absl::Status s = ReleaseCapacity(tx, req.advocate_id()); !s.ok())
      return s;
    if (absl::Status s = AddHistory(
            tx, row->assignment_id, Ms(now), "CLOSED", req.advocate_id(),
            v1::ClosureReason_Name(req.closure_reason()));
        !s.ok()) {
      return s;
    }
    v1::EventEnvelope out = events::NewEnvelope("advocacy", row->referral_id);
    auto* c = out.mutable_case_closed();
    c->set_assignment_id(row->assignment_id);
    c->set_advocate_id(req.advocate_id());
    c->set_closure_reason(v1::ClosureReason_Name(req.closure_reason()));
    c->set_feels_safer(v1::OutcomeAnswer_Name(req.feels_safer()));
    c->set_copes_better(v1::OutcomeAnswer_Name(req.copes_better()));
    c->set_better_informed(v1::OutcomeAnswer_Name(req.better_informed()));
    if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
      return s;
    if (absl::Status s =
            DrainWaitlist(tx, now, options_.offer_timeout, traceparent)
                .status();
        !s.ok()) {
      return s;
    }
    absl::StatusOr<v1::Assignment> a = ToAssignment(tx, *row);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::GetReferralAssignmentsResponse>
AdvocacyStore::GetReferralAssignments(const std::string& referral_id) {
  v1::GetReferralAssignmentsResponse response;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> r =
        tx.Prepare("SELECT status FROM routed_referrals WHERE referral_id = ?");
    if (!r.ok()) return r.status();
    r->Bind(1, referral_id);
    absl::StatusOr<bool> routed = r->Step();
    if (!routed.ok()) return routed.status();
    response.set_processed(*routed);
    absl::StatusOr<std::vector<Row>> rows =
        QueryRows(tx, "WHERE referral_id = ? ORDER BY created_at_ms, pathway",
                  {referral_id});
    if (!rows.ok()) return rows.status();
    for (const Row& row : *rows) {
      absl::StatusOr<v1::Assignment> a = ToAssignment(tx, row);
      if (!a.ok()) return a.status();
      *response.add_assignments() = std::move(*a);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::Assignment> AdvocacyStore::GetAssignment(
    const std::string& assignment_id) {
  v1::Assignment result;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Row> row = LoadRow(tx, assignment_id);
    if (!row.ok()) return row.status();
    absl::StatusOr<v1::Assignment> a = ToAssignment(tx, *row);
    if (!a.ok()) return a.status();
    result = std::move(*a);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<v1::Assignment>> AdvocacyStore::GetWorklist(
    const std::string& advocate_id) {
  std::vector<v1::Assignment> out;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> known =
        tx.Prepare("SELECT 1 FROM advocates WHERE advocate_id = ?");
    if (!known.ok()) return known.status();
    known->Bind(1, advocate_id);
    absl::StatusOr<bool> exists = known->Step();
    if (!exists.ok()) return exists.status();
    if (!*exists)
      return absl::NotFoundError(
          absl::StrCat("advocate ", advocate_id, " not found"));
    // Soonest deadline first: an uncontacted case's first-contact deadline,
    // else its offer expiry; contacted cases after, oldest first.
    absl::StatusOr<std::vector<Row>> rows =
        QueryRows(tx,
                  "WHERE advocate_id = ? AND state IN (2,3,4) ORDER BY CASE "
                  "WHEN state = 4 THEN 1 ELSE 0 "
                  "END, CASE WHEN first_contact_due_ms > 0 THEN "
                  "first_contact_due_ms ELSE "
                  "offer_expires_at_ms END, created_at_ms, assignment_id",
                  {advocate_id});
    if (!rows.ok()) return rows.status();
    for (const Row& row : *rows) {
      absl::StatusOr<v1::Assignment> a = ToAssignment(tx, row);
      if (!a.ok()) return a.status();
      out.push_back(std::move(*a));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<v1::CheckCapacityResponse> AdvocacyStore::CheckCapacity(
    const v1::CheckCapacityRequest& req, absl::Time now) {
  v1::CheckCapacityResponse response;
  std::optional<v1::AdvocateRole> role = RoleForPathway(req.pathway());
  if (!role) {
    grpcutil::FieldErrors errors;
    errors.Add("pathway", "has no advocate role (service pathway)");
    return errors.ToStatus();
  }
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<std::vector<AdvocateView>> pool = LoadRole(tx, *role);
    if (!pool.ok()) return pool.status();
    for (const AdvocateView& a : *pool) {
      bool serves = false;
      for (const std::string& l : a.localities)
        serves |= l == "*" || l == req.locality_code();
      if (!serves || !IsAvailable(a, Ms(now)) || a.caseload >= a.capacity)
        continue;
      response.set_available_advocates(response.available_advocates() + 1);
      response.set_free_places(response.free_places() + a.capacity -
                               a.caseload);
      for (const std::string& l : a.languages) {
        if (LanguageMatches(l, req.language()))
          response.set_language_match_available(true);
      }
    }
    response.set_has_capacity(response.free_places() > 0);
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT COUNT(*), MIN(waitlisted_at_ms) FROM assignments WHERE state = "
        "1 AND "
        "pathway = ? AND locality = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(req.pathway()))
        .Bind(2, req.locality_code());
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    response.set_waitlist_length(static_cast<int32_t>(q->ColumnInt(0)));
    if (!q->ColumnIsNull(1))
      *response.mutable_oldest_waiting_since() = ToProto(q->ColumnInt(1));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace signpost::advocacy
