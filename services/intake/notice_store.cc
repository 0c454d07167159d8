#include "services/intake/notice_store.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"

namespace signpost::intake {
namespace {

constexpr char kColumns[] =
    "referral_id, kind, status, channel, due_at_ms, attempts, reason, "
    "created_at_ms, sent_at_ms";

NoticeRow ReadRow(const store::Statement& q) {
  NoticeRow r;
  r.referral_id = ReferralId(q.ColumnText(0));
  r.kind = q.ColumnText(1);
  r.status = q.ColumnText(2);
  r.channel = static_cast<v1::ContactChannel>(q.ColumnInt(3));
  r.due_at = absl::FromUnixMillis(q.ColumnInt(4));
  r.attempts = static_cast<int>(q.ColumnInt(5));
  r.reason = q.ColumnText(6);
  r.created_at = absl::FromUnixMillis(q.ColumnInt(7));
  if (q.ColumnInt(8) != 0) r.sent_at = absl::FromUnixMillis(q.ColumnInt(8));
  return r;
}

absl::StatusOr<std::vector<NoticeRow>> ReadRows(store::Statement& q) {
  std::vector<NoticeRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return rows;
    rows.push_back(ReadRow(q));
  }
}

}  // namespace

absl::StatusOr<bool> NoticeStore::Add(store::Tx& tx,
                                      const NoticeRow& row) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat("INSERT OR IGNORE INTO victim_notices (",
                              kColumns, ") VALUES (?,?,?,?,?,?,?,?,?)")));
  q.Bind(1, row.referral_id.value())
      .Bind(2, row.kind)
      .Bind(3, row.status)
      .Bind(4, static_cast<int64_t>(row.channel))
      .Bind(5, absl::ToUnixMillis(row.due_at))
      .Bind(6, static_cast<int64_t>(row.attempts))
      .Bind(7, row.reason)
      .Bind(8, absl::ToUnixMillis(row.created_at))
      .Bind(9, row.sent_at ? absl::ToUnixMillis(*row.sent_at) : int64_t{0});
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() == 1;
}

absl::Status NoticeStore::Update(store::Tx& tx, const NoticeRow& row) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE victim_notices SET status = ?, channel = ?, "
                 "due_at_ms = ?, attempts = ?, reason = ?, sent_at_ms = ? "
                 "WHERE referral_id = ? AND kind = ?"));
  q.Bind(1, row.status)
      .Bind(2, static_cast<int64_t>(row.channel))
      .Bind(3, absl::ToUnixMillis(row.due_at))
      .Bind(4, static_cast<int64_t>(row.attempts))
      .Bind(5, row.reason)
      .Bind(6, row.sent_at ? absl::ToUnixMillis(*row.sent_at) : int64_t{0})
      .Bind(7, row.referral_id.value())
      .Bind(8, row.kind);
  return q.Run();
}

absl::StatusOr<std::vector<NoticeRow>> NoticeStore::Due(store::Tx& tx,
                                                        absl::Time now,
                                                        int limit) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kColumns,
          " FROM victim_notices WHERE status IN ('PENDING', 'HELD') AND "
          "due_at_ms <= ? ORDER BY due_at_ms, created_at_ms LIMIT ?")));
  q.Bind(1, absl::ToUnixMillis(now)).Bind(2, static_cast<int64_t>(limit));
  return ReadRows(q);
}

absl::StatusOr<std::optional<absl::Time>> NoticeStore::NextDue(
    store::Tx& tx) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT MIN(due_at_ms) FROM victim_notices "
                              "WHERE status IN ('PENDING', 'HELD')"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row || q.ColumnIsNull(0)) return std::nullopt;
  return absl::FromUnixMillis(q.ColumnInt(0));
}

absl::StatusOr<std::optional<NoticeRow>> NoticeStore::Find(
    store::Tx& tx, const ReferralId& referral_id,
    const std::string& kind) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat("SELECT ", kColumns,
                              " FROM victim_notices WHERE referral_id = ? AND "
                              "kind = ?")));
  q.Bind(1, referral_id.value()).Bind(2, kind);
  ASSIGN_OR_RETURN(std::vector<NoticeRow> rows, ReadRows(q));
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

absl::StatusOr<std::vector<NoticeRow>> NoticeStore::OfReferral(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat("SELECT ", kColumns,
                              " FROM victim_notices WHERE referral_id = ? "
                              "ORDER BY created_at_ms, kind")));
  q.Bind(1, referral_id.value());
  return ReadRows(q);
}

}  // namespace signpost::intake
