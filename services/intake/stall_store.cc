#include "services/intake/stall_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace signpost::intake {
namespace {

int64_t Ms(const std::optional<absl::Time>& t) {
  return t ? absl::ToUnixMillis(*t) : 0;
}
std::optional<absl::Time> Time(int64_t ms) {
  if (ms == 0) return std::nullopt;
  return absl::FromUnixMillis(ms);
}

constexpr char kColumns[] =
    "referral_id, area_code, received_at_ms, triaged_at_ms, "
    "routing_since_ms, routed_at_ms, stall_stage, stall_first_ms, "
    "stall_last_ms, stall_reports";

// Active: lifecycle ACTIVE (1) and not erased.
constexpr char kActive[] = "lifecycle = 1 AND COALESCE(erased_at_ms, 0) = 0";

// Stuck at ?1 (now - after).
constexpr char kStuck[] =
    "((triaged_at_ms = 0 AND received_at_ms <= ?1) OR (triaged_at_ms > 0 AND "
    "routing_since_ms > 0 AND routed_at_ms = 0 AND routing_since_ms <= ?1))";

Progress Read(const store::Statement& q) {
  Progress p;
  p.referral_id = ReferralId(q.ColumnText(0));
  p.area_code = q.ColumnText(1);
  p.received_at = absl::FromUnixMillis(q.ColumnInt(2));
  p.triaged_at = Time(q.ColumnInt(3));
  p.routing_since = Time(q.ColumnInt(4));
  p.routed_at = Time(q.ColumnInt(5));
  p.stall_stage = q.ColumnText(6);
  p.first_reported_at = Time(q.ColumnInt(7));
  p.last_reported_at = Time(q.ColumnInt(8));
  p.reports = static_cast<int>(q.ColumnInt(9));
  return p;
}

}  // namespace

absl::StatusOr<std::optional<Progress>> StallStore::FindActive(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                           " FROM referrals WHERE "
                                           "referral_id = ? AND ",
                                           kActive)));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return Read(q);
}

absl::Status StallStore::Save(store::Tx& tx, const Progress& p) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE referrals SET triaged_at_ms = ?, routing_since_ms = "
                 "?, routed_at_ms = ?, stall_stage = ?, stall_first_ms = ?, "
                 "stall_last_ms = ?, stall_reports = ? WHERE referral_id = ?"));
  q.Bind(1, Ms(p.triaged_at))
      .Bind(2, Ms(p.routing_since))
      .Bind(3, Ms(p.routed_at))
      .Bind(4, p.stall_stage)
      .Bind(5, Ms(p.first_reported_at))
      .Bind(6, Ms(p.last_reported_at))
      .Bind(7, static_cast<int64_t>(p.reports))
      .Bind(8, p.referral_id.value());
  return q.Run();
}

absl::StatusOr<std::vector<Progress>> StallStore::ReportsDue(
    store::Tx& tx, absl::Time now, absl::Duration after,
    absl::Duration interval, int limit) const {
  // ?2: now - interval. The stage a row is stuck at, as stalls.h decides.
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kColumns, " FROM referrals WHERE ", kActive, " AND ",
          kStuck,
          " AND (stall_last_ms <= ?2 OR stall_stage <> CASE WHEN "
          "triaged_at_ms = 0 THEN 'NOT_TRIAGED' ELSE 'NOT_ROUTED' END) "
          "ORDER BY received_at_ms, referral_id LIMIT ?3")));
  q.Bind(1, absl::ToUnixMillis(now - after))
      .Bind(2, absl::ToUnixMillis(now - interval))
      .Bind(3, static_cast<int64_t>(limit));
  std::vector<Progress> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(Read(q));
  }
}

absl::StatusOr<paging::Page<Progress>> StallStore::ListStuck(
    store::Tx& tx, const std::string& area_code, absl::Time now,
    absl::Duration after, const paging::PageRequest& page) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kColumns, " FROM referrals WHERE ", kActive, " AND ",
          kStuck, area_code.empty() ? "" : " AND area_code = ?2",
          page.after ? " AND (received_at_ms, referral_id) > (?3, ?4)" : "",
          " ORDER BY received_at_ms, referral_id LIMIT ?5")));
  q.Bind(1, absl::ToUnixMillis(now - after));
  if (!area_code.empty()) q.Bind(2, area_code);
  if (page.after) q.Bind(3, page.after->Int(0)).Bind(4, page.after->Text(1));
  q.Bind(5, page.limit());
  return paging::ReadPage(
      page, q, [](const store::Statement& row) -> paging::Keyed<Progress> {
        Progress p = Read(row);
        paging::Cursor key(
            {absl::ToUnixMillis(p.received_at), p.referral_id.value()});
        return paging::Keyed<Progress>{std::move(p), std::move(key)};
      });
}

}  // namespace signpost::intake
