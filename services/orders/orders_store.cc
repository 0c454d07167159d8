#include "services/orders/orders_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "common/time/timestamps.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::orders {
namespace {

using google::protobuf::util::TimeUtil;
using store::Statement;
using store::Tx;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

// Steps `q` to the end, calling `fn(q)` for each row.
template <typename Fn>
absl::Status ForEachRow(Statement& q, Fn fn) {
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::OkStatus();
    fn(q);
  }
}

constexpr char kConsiderationColumns[] =
    "consideration_id, referral_id, consideration, area_code, open, "
    "opened_at_ms, applied, reason_code, order_id, actor";
// A list adds its sort key's column after these.
constexpr int kConsiderationKeyColumn = 10;

v1::ConsiderationRecord ReadConsideration(const Statement& q) {
  v1::ConsiderationRecord r;
  r.set_consideration_id(q.ColumnText(0));
  r.set_referral_id(q.ColumnText(1));
  r.set_consideration(static_cast<v1::Consideration>(q.ColumnInt(2)));
  r.set_area_code(q.ColumnText(3));
  r.set_open(q.ColumnInt(4) != 0);
  *r.mutable_opened_at() = TimeUtil::MillisecondsToTimestamp(q.ColumnInt(5));
  r.set_applied(q.ColumnInt(6) != 0);
  r.set_reason_code(q.ColumnText(7));
  r.set_order_id(q.ColumnText(8));
  r.set_actor(q.ColumnText(9));
  return r;
}

// Reads a page of considerations keyed by (the key column, id).
absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ReadConsiderationPage(
    const paging::PageRequest& page, Statement& q) {
  return paging::ReadPage(page, q, [](const Statement& row) {
    v1::ConsiderationRecord r = ReadConsideration(row);
    paging::Cursor key(
        {row.ColumnInt(kConsiderationKeyColumn), r.consideration_id()});
    return paging::Keyed<v1::ConsiderationRecord>{std::move(r), std::move(key)};
  });
}

absl::Status LoadTimers(Tx& tx, v1::Order& order) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare("SELECT kind, due_ms, fired_at_ms, "
                                           "rule_id FROM timers WHERE "
                                           "order_id = ? AND cancelled = 0 "
                                           "ORDER BY due_ms"));
  q.Bind(1, order.order_id());
  return ForEachRow(q, [&](const Statement& row) {
    v1::Timer* t = order.add_timers();
    t->set_kind(row.ColumnText(0));
    *t->mutable_due() = TimeUtil::MillisecondsToTimestamp(row.ColumnInt(1));
    t->set_fired(row.ColumnInt(2) != 0);
    t->set_rule_id(row.ColumnText(3));
  });
}

}  // namespace

std::vector<std::string> OrdersMigrations() {
  return {R"sql(
CREATE TABLE considerations (
  consideration_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  consideration INTEGER NOT NULL,
  area_code TEXT NOT NULL,
  open INTEGER NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  UNIQUE (referral_id, consideration)
);
CREATE INDEX considerations_open ON considerations(open, area_code, opened_at_ms);
CREATE TABLE orders (
  order_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  order_type INTEGER NOT NULL,
  state INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX orders_referral ON orders(referral_id);
CREATE TABLE order_history (
  order_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  from_state INTEGER NOT NULL,
  to_state INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (order_id, seq)
);
)sql",
          R"sql(
ALTER TABLE considerations ADD COLUMN closed_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE considerations ADD COLUMN applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE considerations ADD COLUMN reason_code TEXT NOT NULL DEFAULT '';
ALTER TABLE considerations ADD COLUMN order_id TEXT NOT NULL DEFAULT '';
ALTER TABLE considerations ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN area_code TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN source_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN order_blob BLOB;
-- Free-text conditions: personal data, kept here only.
ALTER TABLE orders ADD COLUMN conditions_text TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX orders_source ON orders(source, source_ref) WHERE source != '';
CREATE INDEX orders_filter ON orders(area_code, order_type, state);
ALTER TABLE order_history ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE order_history ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE TABLE breaches (
  breach_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  occurred_at_ms INTEGER NOT NULL,
  reporting_agency TEXT NOT NULL,
  action INTEGER NOT NULL,
  proceedings INTEGER NOT NULL,
  incident_ref TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL
);
CREATE INDEX breaches_order ON breaches(order_id, incident_ref);
-- Durable timers: each fires once (fired_at_ms set with its event).
CREATE TABLE timers (
  timer_id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  due_ms INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  fired_at_ms INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX timers_due ON timers(due_ms) WHERE fired_at_ms = 0 AND cancelled = 0;
CREATE INDEX timers_order ON timers(order_id);
)sql",
          R"sql(
-- Keyset paging: each list reads its page in its own order.
CREATE INDEX orders_recent ON orders(updated_at_ms DESC, order_id);
DROP INDEX considerations_open;
CREATE INDEX considerations_queue
  ON considerations(open, area_code, opened_at_ms, consideration_id);
CREATE INDEX considerations_open_all
  ON considerations(open, opened_at_ms, consideration_id);
)sql",
          store::kDataKeysMigration,
          R"sql(
-- Issue 10. The referrals orders has seen, with the person each is about
-- (from triage's decisions): unknown referral ids are NOT_FOUND, and free
-- text is sealed under the person's data key.
CREATE TABLE referrals (
  referral_id TEXT PRIMARY KEY,
  area_code TEXT NOT NULL,
  person_id TEXT NOT NULL DEFAULT '',
  erased INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO referrals (referral_id, area_code)
  SELECT referral_id, area_code FROM considerations;
INSERT OR IGNORE INTO referrals (referral_id, area_code)
  SELECT referral_id, area_code FROM orders;
-- conditions_text is sealed: its format ('' = plaintext written before)
-- and the owner of the data key it was sealed under.
ALTER TABLE orders ADD COLUMN conditions_format TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN conditions_owner TEXT NOT NULL DEFAULT '';
)sql"};
}

absl::Status RecordReferral(Tx& tx, const ReferralId& referral_id,
                            absl::string_view area_code,
                            absl::string_view person_id) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO referrals (referral_id, area_code, person_id) "
                 "VALUES (?,?,?) ON CONFLICT(referral_id) DO UPDATE SET "
                 "area_code = excluded.area_code, person_id = CASE WHEN "
                 "referrals.erased = 0 AND excluded.person_id != '' THEN "
                 "excluded.person_id ELSE referrals.person_id END"));
  q.Bind(1, referral_id.value()).Bind(2, area_code).Bind(3, person_id);
  return q.Run();
}

absl::StatusOr<std::optional<KnownReferral>> FindReferral(
    Tx& tx, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT area_code, person_id, erased FROM "
                              "referrals WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return KnownReferral{q.ColumnText(0), q.ColumnText(1), q.ColumnInt(2) != 0};
}

absl::StatusOr<ErasedText> EraseReferralFreeText(
    Tx& tx, const ReferralId& referral_id) {
  ErasedText erased;
  ASSIGN_OR_RETURN(Statement owners,
                   tx.Prepare("SELECT DISTINCT conditions_owner FROM orders "
                              "WHERE referral_id = ? AND conditions_owner != "
                              "''"));
  owners.Bind(1, referral_id.value());
  RETURN_IF_ERROR(ForEachRow(owners, [&](const Statement& row) {
    erased.owners.push_back(row.ColumnText(0));
  }));
  ASSIGN_OR_RETURN(
      Statement blank,
      tx.Prepare("UPDATE orders SET conditions_text = '', conditions_format "
                 "= '', conditions_owner = '' WHERE referral_id = ? AND "
                 "(length(conditions_text) > 0 OR conditions_owner != '')"));
  blank.Bind(1, referral_id.value());
  RETURN_IF_ERROR(blank.Run());
  erased.blanked = static_cast<int>(tx.Changes());
  // Kept as a tombstone so that a decision arriving later (triage's topic is
  // not ordered with intake's) does not link the person again.
  ASSIGN_OR_RETURN(
      Statement unlink,
      tx.Prepare("INSERT INTO referrals (referral_id, area_code, person_id, "
                 "erased) VALUES (?, '', '', 1) ON CONFLICT(referral_id) DO "
                 "UPDATE SET person_id = '', erased = 1"));
  unlink.Bind(1, referral_id.value());
  RETURN_IF_ERROR(unlink.Run());
  return erased;
}

absl::StatusOr<StoredText> LoadConditionsText(Tx& tx, const OrderId& order_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT conditions_text, conditions_format, "
                              "conditions_owner FROM orders WHERE "
                              "order_id = ?"));
  q.Bind(1, order_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("order ", order_id.value(), " not found"));
  }
  return StoredText{q.ColumnBlob(0), q.ColumnText(1), q.ColumnText(2)};
}

absl::StatusOr<v1::Order> LoadOrder(Tx& tx, const OrderId& order_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT order_blob, referral_id, order_type, "
                              "state, updated_at_ms FROM orders "
                              "WHERE order_id = ?"));
  q.Bind(1, order_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("order ", order_id.value(), " not found"));
  }
  v1::Order order;
  if (!q.ColumnIsNull(0)) {
    if (!order.ParseFromString(q.ColumnBlob(0))) {
      return absl::DataLossError("stored order does not parse");
    }
  } else {  // recorded before the full model existed
    order.set_order_id(order_id.value());
    order.set_referral_id(q.ColumnText(1));
    order.set_order_type(static_cast<v1::OrderType>(q.ColumnInt(2)));
    order.set_state(static_cast<v1::OrderState>(q.ColumnInt(3)));
    *order.mutable_updated_at() =
        TimeUtil::MillisecondsToTimestamp(q.ColumnInt(4));
  }
  return order;
}

absl::StatusOr<v1::Order> LoadOrderWithTimers(Tx& tx, const OrderId& order_id) {
  ASSIGN_OR_RETURN(v1::Order order, LoadOrder(tx, order_id));
  RETURN_IF_ERROR(LoadTimers(tx, order));
  return order;
}

absl::Status SaveOrder(Tx& tx, v1::Order order, absl::Time now,
                       const std::optional<StoredText>& conditions) {
  if (!order.terms().conditions_text().empty() && !conditions.has_value()) {
    return absl::InternalError("order conditions text must be sealed");
  }
  order.mutable_terms()->clear_conditions_text();
  order.clear_timers();
  *order.mutable_updated_at() = timeutil::ToTimestamp(now);
  // A save without conditions keeps the stored ones (and how they were
  // sealed).
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO orders (order_id, referral_id, order_type, "
                 "state, updated_at_ms, area_code, source, source_ref, "
                 "order_blob, conditions_text, conditions_format, "
                 "conditions_owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                 "ON CONFLICT(order_id) DO UPDATE SET state=excluded.state, "
                 "updated_at_ms=excluded.updated_at_ms, "
                 "order_blob=excluded.order_blob, "
                 "conditions_text=CASE WHEN ?13 THEN excluded.conditions_text "
                 "ELSE orders.conditions_text END, "
                 "conditions_format=CASE WHEN ?13 THEN "
                 "excluded.conditions_format ELSE orders.conditions_format "
                 "END, "
                 "conditions_owner=CASE WHEN ?13 THEN "
                 "excluded.conditions_owner ELSE orders.conditions_owner END"));
  q.Bind(1, order.order_id())
      .Bind(2, order.referral_id())
      .Bind(3, static_cast<int64_t>(order.order_type()))
      .Bind(4, static_cast<int64_t>(order.state()))
      .Bind(5, Ms(now))
      .Bind(6, order.area_code())
      .Bind(7, order.source())
      .Bind(8, order.source_ref())
      .BindBlob(9, order.SerializeAsString())
      .BindBlob(10, conditions ? conditions->value : "")
      .Bind(11, conditions ? conditions->format : "")
      .Bind(12, conditions ? conditions->owner : "")
      .Bind(13, static_cast<int64_t>(conditions.has_value()));
  RETURN_IF_ERROR(q.Run());
  // The referral is one orders has seen from now on.
  ASSIGN_OR_RETURN(Statement r, tx.Prepare("INSERT OR IGNORE INTO referrals "
                                           "(referral_id, area_code) VALUES "
                                           "(?,?)"));
  r.Bind(1, order.referral_id()).Bind(2, order.area_code());
  return r.Run();
}

absl::StatusOr<std::optional<OrderId>> FindImportedOrder(
    Tx& tx, absl::string_view source, absl::string_view source_ref) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare("SELECT order_id FROM orders "
                                           "WHERE source = ? AND "
                                           "source_ref = ?"));
  q.Bind(1, source).Bind(2, source_ref);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return OrderId(q.ColumnText(0));
}

absl::StatusOr<paging::Page<OrderId>> FindOrders(
    Tx& tx, const OrderFilter& filter, const paging::PageRequest& page) {
  std::vector<std::string> where;
  if (filter.referral_id) where.push_back("referral_id = ?");
  if (!filter.area_code.empty()) where.push_back("area_code = ?");
  if (filter.order_type != v1::ORDER_TYPE_UNSPECIFIED)
    where.push_back("order_type = ?");
  if (filter.state != v1::ORDER_STATE_UNSPECIFIED) where.push_back("state = ?");
  // After the cursor in (updated_at_ms DESC, order_id ASC).
  if (page.after) {
    where.push_back(
        "(updated_at_ms < ? OR (updated_at_ms = ? AND order_id > ?))");
  }
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT order_id, updated_at_ms FROM orders",
          where.empty()
              ? ""
              : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")),
          " ORDER BY updated_at_ms DESC, order_id LIMIT ?")));
  int arg = 0;
  if (filter.referral_id) q.Bind(++arg, filter.referral_id->value());
  if (!filter.area_code.empty()) q.Bind(++arg, filter.area_code);
  if (filter.order_type != v1::ORDER_TYPE_UNSPECIFIED)
    q.Bind(++arg, static_cast<int64_t>(filter.order_type));
  if (filter.state != v1::ORDER_STATE_UNSPECIFIED)
    q.Bind(++arg, static_cast<int64_t>(filter.state));
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0))
        .Bind(arg + 2, page.after->Int(0))
        .Bind(arg + 3, page.after->Text(1));
    arg += 3;
  }
  q.Bind(++arg, page.limit());
  return paging::ReadPage(page, q, [](const Statement& row) {
    OrderId id(row.ColumnText(0));
    paging::Cursor key({row.ColumnInt(1), id.value()});
    return paging::Keyed<OrderId>{std::move(id), std::move(key)};
  });
}

absl::Status AddChange(Tx& tx, const OrderId& order_id,
                       const v1::OrderChange& change) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO order_history (order_id, seq, from_state, "
                 "to_state, at_ms, actor, detail) VALUES (?, (SELECT "
                 "COALESCE(MAX(seq),0)+1 FROM order_history WHERE "
                 "order_id=?), ?,?,?,?,?)"));
  q.Bind(1, order_id.value())
      .Bind(2, order_id.value())
      .Bind(3, static_cast<int64_t>(change.from_state()))
      .Bind(4, static_cast<int64_t>(change.to_state()))
      .Bind(5, TimeUtil::TimestampToMilliseconds(change.at()))
      .Bind(6, change.actor())
      .Bind(7, change.detail());
  return q.Run();
}

absl::StatusOr<std::vector<v1::OrderChange>> LoadChanges(
    Tx& tx, const OrderId& order_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT at_ms, from_state, to_state, actor, "
                              "detail FROM order_history WHERE order_id = ? "
                              "ORDER BY seq"));
  q.Bind(1, order_id.value());
  std::vector<v1::OrderChange> changes;
  RETURN_IF_ERROR(ForEachRow(q, [&](const Statement& row) {
    v1::OrderChange& c = changes.emplace_back();
    *c.mutable_at() = TimeUtil::MillisecondsToTimestamp(row.ColumnInt(0));
    c.set_from_state(static_cast<v1::OrderState>(row.ColumnInt(1)));
    c.set_to_state(static_cast<v1::OrderState>(row.ColumnInt(2)));
    c.set_actor(row.ColumnText(3));
    c.set_detail(row.ColumnText(4));
  }));
  return changes;
}

absl::Status InsertBreach(Tx& tx, const v1::Breach& breach,
                          absl::Time recorded_at) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO breaches (breach_id, order_id, occurred_at_ms, "
                 "reporting_agency, action, proceedings, incident_ref, "
                 "recorded_at_ms) VALUES (?,?,?,?,?,?,?,?)"));
  q.Bind(1, breach.breach_id())
      .Bind(2, breach.order_id())
      .Bind(3, Ms(timeutil::FromTimestamp(breach.occurred_at())))
      .Bind(4, breach.reporting_agency())
      .Bind(5, static_cast<int64_t>(breach.action()))
      .Bind(6, static_cast<int64_t>(breach.proceedings()))
      .Bind(7, breach.incident_ref())
      .Bind(8, Ms(recorded_at));
  return q.Run();
}

absl::StatusOr<std::vector<v1::Breach>> LoadIncidentBreaches(
    Tx& tx, const OrderId& order_id, absl::string_view incident_ref) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT breach_id, proceedings FROM breaches "
                              "WHERE order_id = ? AND incident_ref = ?"));
  q.Bind(1, order_id.value()).Bind(2, incident_ref);
  std::vector<v1::Breach> breaches;
  RETURN_IF_ERROR(ForEachRow(q, [&](const Statement& row) {
    v1::Breach& b = breaches.emplace_back();
    b.set_breach_id(row.ColumnText(0));
    b.set_proceedings(static_cast<v1::BreachProceedings>(row.ColumnInt(1)));
  }));
  return breaches;
}

absl::StatusOr<std::vector<v1::Breach>> LoadBreaches(Tx& tx,
                                                     const OrderId& order_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT breach_id, occurred_at_ms, "
                              "reporting_agency, action, proceedings, "
                              "incident_ref FROM breaches WHERE order_id = ? "
                              "ORDER BY occurred_at_ms"));
  q.Bind(1, order_id.value());
  std::vector<v1::Breach> breaches;
  RETURN_IF_ERROR(ForEachRow(q, [&](const Statement& row) {
    v1::Breach& b = breaches.emplace_back();
    b.set_breach_id(row.ColumnText(0));
    b.set_order_id(order_id.value());
    *b.mutable_occurred_at() =
        TimeUtil::MillisecondsToTimestamp(row.ColumnInt(1));
    b.set_reporting_agency(row.ColumnText(2));
    b.set_action(static_cast<v1::BreachAction>(row.ColumnInt(3)));
    b.set_proceedings(static_cast<v1::BreachProceedings>(row.ColumnInt(4)));
    b.set_incident_ref(row.ColumnText(5));
  }));
  return breaches;
}

absl::Status AddTimer(Tx& tx, const OrderId& order_id, const TimerSpec& timer) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare("INSERT INTO timers (order_id, "
                                           "kind, due_ms, rule_id) VALUES "
                                           "(?,?,?,?)"));
  q.Bind(1, order_id.value())
      .Bind(2, timer.kind)
      .Bind(3, Ms(timer.due))
      .Bind(4, timer.rule_id);
  return q.Run();
}

absl::Status CancelTimers(Tx& tx, const OrderId& order_id,
                          absl::string_view kind) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(kind.empty() ? "UPDATE timers SET cancelled = 1 WHERE "
                                "order_id = ? AND fired_at_ms = 0"
                              : "UPDATE timers SET cancelled = 1 WHERE "
                                "order_id = ? AND fired_at_ms = 0 "
                                "AND kind = ?"));
  q.Bind(1, order_id.value());
  if (!kind.empty()) q.Bind(2, kind);
  return q.Run();
}

absl::StatusOr<std::vector<DueTimer>> LoadDueTimers(Tx& tx, absl::Time now,
                                                    int limit) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("SELECT timer_id, order_id, kind, due_ms FROM timers WHERE "
                 "fired_at_ms = 0 AND cancelled = 0 AND due_ms <= ? "
                 "ORDER BY due_ms LIMIT ?"));
  q.Bind(1, Ms(now)).Bind(2, static_cast<int64_t>(limit));
  std::vector<DueTimer> due;
  RETURN_IF_ERROR(ForEachRow(q, [&](const Statement& row) {
    due.push_back({row.ColumnInt(0), OrderId(row.ColumnText(1)),
                   row.ColumnText(2), absl::FromUnixMillis(row.ColumnInt(3))});
  }));
  return due;
}

absl::StatusOr<bool> MarkTimerFired(Tx& tx, int64_t timer_id, absl::Time at) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare("UPDATE timers SET fired_at_ms = ? "
                                           "WHERE timer_id = ? AND "
                                           "fired_at_ms = 0"));
  q.Bind(1, Ms(at)).Bind(2, timer_id);
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() == 1;
}

absl::StatusOr<std::optional<absl::Time>> EarliestPendingTimer(Tx& tx) {
  // Answered from the partial index timers_due.
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT due_ms FROM timers WHERE fired_at_ms = "
                              "0 AND cancelled = 0 ORDER BY due_ms LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return absl::FromUnixMillis(q.ColumnInt(0));
}

absl::StatusOr<bool> InsertConsideration(Tx& tx, const ConsiderationId& id,
                                         const ReferralId& referral_id,
                                         v1::Consideration consideration,
                                         absl::string_view area_code,
                                         absl::Time opened_at) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT OR IGNORE INTO considerations (consideration_id, "
                 "referral_id, consideration, area_code, open, opened_at_ms) "
                 "VALUES (?,?,?,?,1,?)"));
  q.Bind(1, id.value())
      .Bind(2, referral_id.value())
      .Bind(3, static_cast<int64_t>(consideration))
      .Bind(4, area_code)
      .Bind(5, Ms(opened_at));
  RETURN_IF_ERROR(q.Run());
  const bool inserted = tx.Changes() != 0;
  ASSIGN_OR_RETURN(Statement r, tx.Prepare("INSERT OR IGNORE INTO referrals "
                                           "(referral_id, area_code) VALUES "
                                           "(?,?)"));
  r.Bind(1, referral_id.value()).Bind(2, area_code);
  RETURN_IF_ERROR(r.Run());
  return inserted;
}

absl::StatusOr<v1::ConsiderationRecord> LoadConsideration(
    Tx& tx, const ConsiderationId& id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare(absl::StrCat("SELECT ", kConsiderationColumns,
                                           " FROM considerations WHERE "
                                           "consideration_id = ?")));
  q.Bind(1, id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("consideration ", id.value(), " not found"));
  }
  return ReadConsideration(q);
}

absl::Status SaveConsiderationDecision(Tx& tx,
                                       const v1::ConsiderationRecord& record,
                                       absl::Time closed_at) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("UPDATE considerations SET open = 0, closed_at_ms = ?, "
                 "applied = ?, reason_code = ?, order_id = ?, actor = ? "
                 "WHERE consideration_id = ?"));
  q.Bind(1, Ms(closed_at))
      .Bind(2, static_cast<int64_t>(record.applied()))
      .Bind(3, record.reason_code())
      .Bind(4, record.order_id())
      .Bind(5, record.actor())
      .Bind(6, record.consideration_id());
  return q.Run();
}

namespace {

// One page of the considerations matching `where` (its parameters bound
// from `args`) in (`key_column`, consideration_id) order.
absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ConsiderationPage(
    Tx& tx, absl::string_view where, absl::string_view key_column,
    const paging::PageRequest& page, const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kConsiderationColumns, ", ", key_column,
          " FROM considerations WHERE ", where,
          page.after ? absl::StrCat(" AND (", key_column,
                                    ", consideration_id) > (?, ?)")
                     : "",
          " ORDER BY ", key_column, ", consideration_id LIMIT ?")));
  int arg = 0;
  for (const std::string& value : args) q.Bind(++arg, value);
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0)).Bind(arg + 2, page.after->Text(1));
    arg += 2;
  }
  q.Bind(++arg, page.limit());
  return ReadConsiderationPage(page, q);
}

}  // namespace

absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListOpenConsiderationsIn(
    Tx& tx, absl::string_view area_code, const paging::PageRequest& page) {
  return ConsiderationPage(tx, "open = 1 AND area_code = ?", "opened_at_ms",
                           page, {std::string(area_code)});
}

absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListConsiderationsOf(
    Tx& tx, const ReferralId& referral_id, const paging::PageRequest& page) {
  return ConsiderationPage(tx, "referral_id = ?", "consideration", page,
                           {referral_id.value()});
}

absl::StatusOr<paging::Page<v1::ConsiderationRecord>> ListOpenConsiderations(
    Tx& tx, const paging::PageRequest& page) {
  return ConsiderationPage(tx, "open = 1", "opened_at_ms", page, {});
}

absl::StatusOr<std::vector<metrics::Sample>> TimerCounts(store::Tx& tx,
                                                         absl::Time now) {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT COALESCE(SUM(due_ms <= ?1), 0), "
                              "COALESCE(SUM(due_ms > ?1), 0) FROM timers "
                              "WHERE fired_at_ms = 0 AND cancelled = 0"));
  q.Bind(1, absl::ToUnixMillis(now));
  RETURN_IF_ERROR(q.Step().status());
  return std::vector<metrics::Sample>{
      {{{"state", "due"}}, static_cast<double>(q.ColumnInt(0))},
      {{{"state", "waiting"}}, static_cast<double>(q.ColumnInt(1))}};
}

absl::StatusOr<std::vector<metrics::Sample>> TimersFired(store::Tx& tx) {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT kind, COUNT(*) FROM timers WHERE "
                              "fired_at_ms > 0 GROUP BY kind"));
  std::vector<metrics::Sample> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(
        {{{"kind", q.ColumnText(0)}}, static_cast<double>(q.ColumnInt(1))});
  }
  return out;
}

}  // namespace signpost::orders
