#include "services/advocacy/figures_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace signpost::advocacy {
namespace {

template <typename Enum>
Enum As(int64_t code) {
  return static_cast<Enum>(code);
}

// The provider serving an assignment: a service referral's own, else its
// advocate's (the advocates table is joined as `v`).
constexpr char kProviderOfAssignment[] =
    "COALESCE(NULLIF(a.provider_id, ''), v.provider_id, '')";

}  // namespace

absl::StatusOr<std::vector<AssignmentFigureRow>> AssignmentsForFigures(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to) {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT a.pathway, a.service, a.state, ", kProviderOfAssignment,
          ", a.created_at_ms, a.waitlisted_at_ms, a.offered_at_ms, "
          "a.first_contact_due_ms, a.first_contact_at_ms, a.referral_due_ms, "
          "a.closed_at_ms, a.feels_safer, a.copes_better, a.better_informed, "
          "a.baseline_feels_safe, a.baseline_copes, a.baseline_informed, "
          "a.referral_id, a.update_missed_ms "
          "FROM assignments a LEFT JOIN advocates v ON v.advocate_id = "
          "a.advocate_id AND a.advocate_id <> '' WHERE a.area = ? AND "
          "((a.created_at_ms < ? AND (a.closed_at_ms = 0 OR a.closed_at_ms "
          ">= ?)) OR a.state = ?)")));
  q.Bind(1, area_code)
      .Bind(2, absl::ToUnixMillis(to))
      .Bind(3, absl::ToUnixMillis(from))
      .Bind(4, static_cast<int64_t>(v1::ASSIGNMENT_STATE_WAITLISTED));
  std::vector<AssignmentFigureRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    AssignmentFigureRow r;
    r.pathway = As<v1::Pathway>(q.ColumnInt(0));
    r.service = As<v1::ServiceKind>(q.ColumnInt(1));
    r.state = As<v1::AssignmentState>(q.ColumnInt(2));
    r.provider_id = q.ColumnText(3);
    r.created_at_ms = q.ColumnInt(4);
    r.waitlisted_at_ms = q.ColumnInt(5);
    r.offered_at_ms = q.ColumnInt(6);
    r.first_contact_due_ms = q.ColumnInt(7);
    r.first_contact_at_ms = q.ColumnInt(8);
    r.referral_due_ms = q.ColumnInt(9);
    r.closed_at_ms = q.ColumnInt(10);
    r.feels_safer = As<v1::OutcomeAnswer>(q.ColumnInt(11));
    r.copes_better = As<v1::OutcomeAnswer>(q.ColumnInt(12));
    r.better_informed = As<v1::OutcomeAnswer>(q.ColumnInt(13));
    r.baseline_feels_safe = As<v1::OutcomeAnswer>(q.ColumnInt(14));
    r.baseline_copes = As<v1::OutcomeAnswer>(q.ColumnInt(15));
    r.baseline_informed = As<v1::OutcomeAnswer>(q.ColumnInt(16));
    r.referral_id = q.ColumnText(17);
    r.update_missed_ms = q.ColumnInt(18);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<OfferAnswer>> OfferAnswers(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to) {
  // A step's provider: its advocate's; for a service referral (no
  // advocate) the provider a decline or expiry names first in its detail
  // ("<provider> <code>"), else the provider the assignment is with.
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(
          "SELECT h.step, COALESCE(v.provider_id, CASE WHEN instr(h.detail, "
          "' ') > 0 AND h.step <> 'ACCEPTED' THEN substr(h.detail, 1, "
          "instr(h.detail, ' ') - 1) ELSE a.provider_id END, ''), a.pathway, "
          "a.service FROM assignment_history h JOIN assignments a ON "
          "a.assignment_id = h.assignment_id LEFT JOIN advocates v ON "
          "v.advocate_id = h.advocate_id AND h.advocate_id <> '' WHERE "
          "a.area = ? AND h.at_ms >= ? AND h.at_ms < ? AND h.step IN "
          "('ACCEPTED', 'DECLINED', 'EXPIRED')"));
  q.Bind(1, area_code)
      .Bind(2, absl::ToUnixMillis(from))
      .Bind(3, absl::ToUnixMillis(to));
  std::vector<OfferAnswer> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnText(1),
                   As<v1::Pathway>(q.ColumnInt(2)),
                   As<v1::ServiceKind>(q.ColumnInt(3))});
  }
  return out;
}

absl::StatusOr<std::vector<UpdateGiven>> UpdatesGiven(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to) {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT u.within_deadline, a.pathway, a.service, u.due_ms "
                 "FROM "
                 "assignment_updates u JOIN assignments a ON a.assignment_id "
                 "= u.assignment_id WHERE a.area = ? AND u.at_ms >= ? AND "
                 "u.at_ms < ?"));
  q.Bind(1, area_code)
      .Bind(2, absl::ToUnixMillis(from))
      .Bind(3, absl::ToUnixMillis(to));
  std::vector<UpdateGiven> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnInt(0) != 0, q.ColumnInt(3),
                   As<v1::Pathway>(q.ColumnInt(1)),
                   As<v1::ServiceKind>(q.ColumnInt(2))});
  }
  return out;
}

}  // namespace signpost::advocacy
