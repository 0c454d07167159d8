#include "services/orders/orders_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "google/protobuf/util/time_util.h"
#include "services/orders/lifecycle.h"

namespace signpost::orders {
namespace {

using store::Statement;
using store::Tx;

using google::protobuf::util::TimeUtil;
using timeutil::FromTimestamp;
using timeutil::ToTimestamp;

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

absl::StatusOr<v1::Order> LoadOrder(Tx& tx, const std::string& order_id) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "SELECT order_blob, referral_id, order_type, state, updated_at_ms FROM "
      "orders "
      "WHERE order_id = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, order_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row)
    return absl::NotFoundError(absl::StrCat("order ", order_id, " not found"));
  v1::Order order;
  if (!q->ColumnIsNull(0)) {
    if (!order.ParseFromString(q->ColumnBlob(0))) {
      return absl::DataLossError("stored order does not parse");
    }
  } else {  // recorded before the full model existed
    order.set_order_id(order_id);
    order.set_referral_id(q->ColumnText(1));
    order.set_order_type(static_cast<v1::OrderType>(q->ColumnInt(2)));
    order.set_state(static_cast<v1::OrderState>(q->ColumnInt(3)));
    *order.mutable_updated_at() =
        TimeUtil::MillisecondsToTimestamp(q->ColumnInt(4));
  }
  return order;
}

// Saves the order; free-text conditions go to their own column (personal
// data), never into the blob that events and lists are built from.
absl::Status SaveOrder(Tx& tx, v1::Order order, absl::Time now) {
  std::string conditions_text = order.terms().conditions_text();
  order.mutable_terms()->clear_conditions_text();
  order.clear_timers();
  *order.mutable_updated_at() = ToTimestamp(now);
  absl::StatusOr<Statement> q = tx.Prepare(
      "INSERT INTO orders (order_id, referral_id, order_type, state, "
      "updated_at_ms, area_code, "
      "source, source_ref, order_blob, conditions_text) VALUES "
      "(?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(order_id) DO UPDATE SET state=excluded.state, "
      "updated_at_ms=excluded.updated_at_ms, order_blob=excluded.order_blob, "
      "conditions_text=CASE WHEN excluded.conditions_text != '' THEN "
      "excluded.conditions_text "
      "ELSE orders.conditions_text END");
  if (!q.ok()) return q.status();
  q->Bind(1, order.order_id())
      .Bind(2, order.referral_id())
      .Bind(3, static_cast<int64_t>(order.order_type()))
      .Bind(4, static_cast<int64_t>(order.state()))
      .Bind(5, Ms(now))
      .Bind(6, order.area_code())
      .Bind(7, order.source())
      .Bind(8, order.source_ref())
      .BindBlob(9, order.SerializeAsString())
      .Bind(10, conditions_text);
  return q->Run();
}

absl::Status AddChange(Tx& tx, const std::string& order_id, absl::Time at,
                       v1::OrderState from, v1::OrderState to,
                       const std::string& actor, const std::string& detail) {
  absl::StatusOr<Statement> h = tx.Prepare(
      "INSERT INTO order_history (order_id, seq, from_state, to_state, at_ms, "
      "actor, detail) "
      "VALUES (?, (SELECT COALESCE(MAX(seq),0)+1 FROM order_history WHERE "
      "order_id=?), "
      "?,?,?,?,?)");
  if (!h.ok()) return h.status();
  h->Bind(1, order_id)
      .Bind(2, order_id)
      .Bind(3, static_cast<int64_t>(from))
      .Bind(4, static_cast<int64_t>(to))
      .Bind(5, Ms(at))
      .Bind(6, actor)
      .Bind(7, detail);
  return h->Run();
}

absl::Status Emit(Tx& tx, v1::EventEnvelope envelope,
                  const std::string& traceparent) {
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kOrdersTopic, traceparent);
}

absl::Status EmitRecorded(Tx& tx, const v1::Order& order,
                          v1::OrderState previous,
                          const std::string& traceparent,
                          const v1::EventEnvelope* cause) {
  v1::EventEnvelope out =
      events::NewEnvelope("orders", order.referral_id(), cause);
  auto* r = out.mutable_order_recorded();
  r->set_order_id(order.order_id());
  r->set_order_type(order.order_type());
  r->set_state(order.state());
  r->set_previous_state(previous);
  r->set_source(order.source());
  if (order.has_expires_at()) *r->mutable_expires_at() = order.expires_at();
  return Emit(tx, std::move(out), traceparent);
}

absl::Status CancelTimers(Tx& tx, const std::string& order_id,
                          const std::string& kind = "") {
  absl::StatusOr<Statement> q =
      tx.Prepare(kind.empty() ? "UPDATE timers SET cancelled = 1 WHERE "
                                "order_id = ? AND fired_at_ms = 0"
                              : "UPDATE timers SET cancelled = 1 WHERE "
                                "order_id = ? AND fired_at_ms = 0 "
                                "AND kind = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, order_id);
  if (!kind.empty()) q->Bind(2, kind);
  return q->Run();
}

absl::Status AddTimer(Tx& tx, const std::string& order_id,
                      const std::string& kind, absl::Time due,
                      const std::string& rule_id) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "INSERT INTO timers (order_id, kind, due_ms, rule_id) VALUES (?,?,?,?)");
  if (!q.ok()) return q.status();
  q->Bind(1, order_id).Bind(2, kind).Bind(3, Ms(due)).Bind(4, rule_id);
  return q->Run();
}

absl::Status ScheduleExpiryTimers(Tx& tx, const v1::Order& order,
                                  int warning_days) {
  if (absl::Status s = CancelTimers(tx, order.order_id(), "ORDER_EXPIRING");
      !s.ok())
    return s;
  if (absl::Status s = CancelTimers(tx, order.order_id(), "ORDER_EXPIRED");
      !s.ok())
    return s;
  if (!order.has_expires_at()) return absl::OkStatus();
  absl::Time expires = FromTimestamp(order.expires_at());
  if (absl::Status s =
          AddTimer(tx, order.order_id(), "ORDER_EXPIRING",
                   expires - absl::Hours(24) * warning_days, "ORDER-EXPIRING");
      !s.ok()) {
    return s;
  }
  return AddTimer(tx, order.order_id(), "ORDER_EXPIRED", expires,
                  "ORDER-EXPIRY");
}

absl::Status LoadTimers(Tx& tx, v1::Order& order) {
  absl::StatusOr<Statement> q = tx.Prepare(
      "SELECT kind, due_ms, fired_at_ms, rule_id FROM timers WHERE order_id = "
      "? AND "
      "cancelled = 0 ORDER BY due_ms");
  if (!q.ok()) return q.status();
  q->Bind(1, order.order_id());
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    v1::Timer* t = order.add_timers();
    t->set_kind(q->ColumnText(0));
    *t->mutable_due() = TimeUtil::MillisecondsToTimestamp(q->ColumnInt(1));
    t->set_fired(q->ColumnInt(2) != 0);
    t->set_rule_id(q->ColumnText(3));
  }
  return absl::OkStatus();
}

// The order as stored, with its timers: what every mutation answers.
absl::StatusOr<v1::Order> LoadOrderWithTimers(Tx& tx,
                                              const std::string& order_id) {
  absl::StatusOr<v1::Order> order = LoadOrder(tx, order_id);
  if (!order.ok()) return order.status();
  if (absl::Status s = LoadTimers(tx, *order); !s.ok()) return s;
  return order;
}

v1::OrderType OrderTypeFor(v1::Consideration c) {
  switch (c) {
    case v1::CONSIDERATION_SPO:
      return v1::ORDER_TYPE_SPO;
    case v1::CONSIDERATION_DVDS:
      return v1::ORDER_TYPE_DVDS_DISCLOSURE;
    case v1::CONSIDERATION_DAPN:
      return v1::ORDER_TYPE_DAPN;
    default:
      return v1::ORDER_TYPE_UNSPECIFIED;
  }
}

constexpr char kConsiderationColumns[] =
    "consideration_id, referral_id, consideration, area_code, open, "
    "opened_at_ms, applied, "
    "reason_code, order_id, actor";

v1::ConsiderationRecord ReadConsideration(const Statement& q, absl::Time now,
                                          absl::Duration window) {
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
  absl::Time due = absl::FromUnixMillis(q.ColumnInt(5)) + window;
  *r.mutable_review_due() = ToTimestamp(due);
  r.set_overdue(r.open() && now > due);
  return r;
}

// Moves `order` to `to` after checking its lifecycle; records and emits it.
absl::Status Move(Tx& tx, v1::Order& order, v1::OrderState to, absl::Time now,
                  const std::string& actor, const std::string& detail,
                  const std::string& traceparent,
                  const v1::EventEnvelope* cause = nullptr) {
  if (absl::Status s = CheckTransition(order.order_type(), order.state(), to);
      !s.ok())
    return s;
  v1::OrderState from = order.state();
  order.set_state(to);
  if (absl::Status s = SaveOrder(tx, order, now); !s.ok()) return s;
  if (absl::Status s =
          AddChange(tx, order.order_id(), now, from, to, actor, detail);
      !s.ok()) {
    return s;
  }
  if (IsTerminal(to)) {
    if (absl::Status s = CancelTimers(tx, order.order_id()); !s.ok()) return s;
  }
  return EmitRecorded(tx, order, from, traceparent, cause);
}

}  // namespace

std::vector<std::string> OrdersStore::Migrations() {
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
)sql"};
}

absl::StatusOr<int> OrdersStore::OpenConsiderations(
    const events::IncomingEvent& event, absl::Time now) {
  const v1::ReferralTriaged& triaged =
      event.envelope.has_referral_reassessed()
          ? event.envelope.referral_reassessed().decision()
          : event.envelope.referral_triaged();
  int opened = 0;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    for (int c : triaged.considerations()) {
      std::string id = NewUuid();
      absl::StatusOr<Statement> q = tx.Prepare(
          "INSERT OR IGNORE INTO considerations (consideration_id, "
          "referral_id, "
          "consideration, area_code, open, opened_at_ms) VALUES (?,?,?,?,1,?)");
      if (!q.ok()) return q.status();
      q->Bind(1, id)
          .Bind(2, event.envelope.referral_id())
          .Bind(3, static_cast<int64_t>(c))
          .Bind(4, triaged.area_code())
          .Bind(5, Ms(now));
      if (absl::Status s = q->Run(); !s.ok()) return s;
      if (tx.Changes() == 0) continue;  // already opened by an earlier decision
      ++opened;
      v1::EventEnvelope out = events::NewEnvelope(
          "orders", event.envelope.referral_id(), &event.envelope);
      auto* o = out.mutable_order_consideration_opened();
      o->set_consideration_id(id);
      o->set_consideration(static_cast<v1::Consideration>(c));
      o->set_area_code(triaged.area_code());
      if (absl::Status s = Emit(tx, std::move(out), event.traceparent); !s.ok())
        return s;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return opened;
}

absl::StatusOr<v1::ConsiderationRecord> OrdersStore::RecordConsideration(
    const v1::RecordConsiderationRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::ConsiderationRecord result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(
        absl::StrCat("SELECT ", kConsiderationColumns,
                     " FROM considerations WHERE consideration_id = ?"));
    if (!q.ok()) return q.status();
    q->Bind(1, req.consideration_id());
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(
          absl::StrCat("consideration ", req.consideration_id(), " not found"));
    }
    v1::ConsiderationRecord c =
        ReadConsideration(*q, now, options_.review_window);
    if (!c.open()) {
      return grpcutil::RuleViolation(
          "CONSIDERATION-DECIDED", "consideration_id",
          "this consideration already has a recorded decision");
    }
    std::string order_id;
    if (req.apply()) {
      v1::Order order;
      order.set_order_id(NewUuid());
      order.set_referral_id(c.referral_id());
      order.set_order_type(req.order_type() != v1::ORDER_TYPE_UNSPECIFIED
                               ? req.order_type()
                               : OrderTypeFor(c.consideration()));
      order.set_state(v1::ORDER_STATE_CONSIDERED);
      order.set_area_code(c.area_code());
      if (absl::Status s = SaveOrder(tx, order, now); !s.ok()) return s;
      if (absl::Status s = AddChange(
              tx, order.order_id(), now, v1::ORDER_STATE_UNSPECIFIED,
              v1::ORDER_STATE_CONSIDERED, req.actor(), "from consideration");
          !s.ok()) {
        return s;
      }
      if (absl::Status s = EmitRecorded(tx, order, v1::ORDER_STATE_UNSPECIFIED,
                                        traceparent, nullptr);
          !s.ok()) {
        return s;
      }
      order_id = order.order_id();
    }
    absl::StatusOr<Statement> u = tx.Prepare(
        "UPDATE considerations SET open = 0, closed_at_ms = ?, applied = ?, "
        "reason_code = ?, "
        "order_id = ?, actor = ? WHERE consideration_id = ?");
    if (!u.ok()) return u.status();
    u->Bind(1, Ms(now))
        .Bind(2, static_cast<int64_t>(req.apply()))
        .Bind(3, req.reason_code())
        .Bind(4, order_id)
        .Bind(5, req.actor())
        .Bind(6, req.consideration_id());
    if (absl::Status s = u->Run(); !s.ok()) return s;
    v1::EventEnvelope out = events::NewEnvelope("orders", c.referral_id());
    auto* d = out.mutable_consideration_decided();
    d->set_consideration_id(c.consideration_id());
    d->set_consideration(c.consideration());
    d->set_applied(req.apply());
    d->set_reason_code(req.reason_code());
    d->set_order_id(order_id);
    if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
      return s;
    c.set_open(false);
    c.set_overdue(false);
    c.set_applied(req.apply());
    c.set_reason_code(req.reason_code());
    c.set_order_id(order_id);
    c.set_actor(req.actor());
    result = std::move(c);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Order> OrdersStore::RecordApplication(
    const v1::RecordApplicationRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Order result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    v1::Order order;
    if (req.order_id().empty()) {
      if (absl::Status s = CheckInitialState(req.order_type(),
                                             v1::ORDER_STATE_APPLIED, false);
          !s.ok()) {
        return s;
      }
      order.set_order_id(NewUuid());
      order.set_referral_id(req.referral_id());
      order.set_order_type(req.order_type());
      order.set_state(v1::ORDER_STATE_APPLIED);
    } else {
      absl::StatusOr<v1::Order> loaded = LoadOrder(tx, req.order_id());
      if (!loaded.ok()) return loaded.status();
      order = std::move(*loaded);
      if (req.order_type() != v1::ORDER_TYPE_UNSPECIFIED &&
          req.order_type() != order.order_type()) {
        return grpcutil::RuleViolation("ORDER-TYPE-FIXED", "order_type",
                                       "an order's type cannot change");
      }
    }
    if (!req.legal_basis().empty()) order.set_legal_basis(req.legal_basis());
    if (!req.protected_ref().empty())
      order.set_protected_ref(req.protected_ref());
    if (!req.respondent_ref().empty())
      order.set_respondent_ref(req.respondent_ref());
    if (req.protected_age()) order.set_protected_age(req.protected_age());
    if (req.respondent_age()) order.set_respondent_age(req.respondent_age());
    if (req.on_acquittal()) order.set_on_acquittal(true);
    if (req.without_notice()) order.set_without_notice(true);
    if (!req.area_code().empty()) order.set_area_code(req.area_code());
    if (req.order_id().empty()) {
      if (absl::Status s = SaveOrder(tx, order, now); !s.ok()) return s;
      if (absl::Status s =
              AddChange(tx, order.order_id(), now, v1::ORDER_STATE_UNSPECIFIED,
                        v1::ORDER_STATE_APPLIED, req.actor(), "application");
          !s.ok()) {
        return s;
      }
      if (absl::Status s = EmitRecorded(tx, order, v1::ORDER_STATE_UNSPECIFIED,
                                        traceparent, nullptr);
          !s.ok()) {
        return s;
      }
    } else {
      if (IsNotice(order.order_type())) {
        return grpcutil::RuleViolation(
            kLifecycleRule, "order_id",
            "a DVPN or DAPN is authorised by an officer, not applied for: "
            "record the decision");
      }
      if (absl::Status s = Move(tx, order, v1::ORDER_STATE_APPLIED, now,
                                req.actor(), "application", traceparent);
          !s.ok()) {
        return s;
      }
    }
    result = std::move(order);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Order> OrdersStore::RecordDecision(
    const v1::RecordDecisionRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Order result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::Order> loaded = LoadOrder(tx, req.order_id());
    if (!loaded.ok()) return loaded.status();
    v1::Order order = std::move(*loaded);
    if (!req.protected_ref().empty())
      order.set_protected_ref(req.protected_ref());
    if (!req.respondent_ref().empty())
      order.set_respondent_ref(req.respondent_ref());
    if (req.protected_age()) order.set_protected_age(req.protected_age());
    if (req.respondent_age()) order.set_respondent_age(req.respondent_age());
    v1::OrderState to =
        req.granted() ? v1::ORDER_STATE_GRANTED : v1::ORDER_STATE_REFUSED;
    if (absl::Status s = CheckTransition(order.order_type(), order.state(), to);
        !s.ok()) {
      return s;
    }
    if (req.granted()) {
      v1::OrderTerms terms = req.terms();
      if (!terms.has_made_at()) *terms.mutable_made_at() = ToTimestamp(now);
      if (absl::Status s = CheckGrant(order, req.authority(), terms); !s.ok())
        return s;
      *order.mutable_authority() = req.authority();
      *order.mutable_terms() = terms;
      if (std::optional<absl::Time> expiry =
              ExpiryOf(order.order_type(), terms)) {
        *order.mutable_expires_at() = ToTimestamp(*expiry);
      }
    }
    if (absl::Status s =
            Move(tx, order, to, now, req.actor(),
                 req.granted() ? "granted" : "refused", traceparent);
        !s.ok()) {
      return s;
    }
    if (req.granted()) {
      if (absl::Status s =
              ScheduleExpiryTimers(tx, order, options_.expiring_warning_days);
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<v1::Order> stored =
        LoadOrderWithTimers(tx, order.order_id());
    if (!stored.ok()) return stored.status();
    result = std::move(*stored);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Order> OrdersStore::RecordService(
    const v1::RecordServiceRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Order result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::Order> loaded = LoadOrder(tx, req.order_id());
    if (!loaded.ok()) return loaded.status();
    v1::Order order = std::move(*loaded);
    absl::Time served =
        req.has_served_at() ? FromTimestamp(req.served_at()) : now;
    if (absl::Status s = CheckTransition(order.order_type(), order.state(),
                                         v1::ORDER_STATE_SERVED);
        !s.ok()) {
      return s;
    }
    *order.mutable_served_at() = ToTimestamp(served);
    if (absl::Status s = Move(tx, order, v1::ORDER_STATE_SERVED, now,
                              req.actor(), "served", traceparent);
        !s.ok()) {
      return s;
    }
    // The statutory clocks that start at service.
    if (order.order_type() == v1::ORDER_TYPE_DVPN) {
      if (absl::Status s =
              AddTimer(tx, order.order_id(), "HEARING_DUE",
                       served + absl::Hours(options_.dvpn_hearing_hours),
                       "DVPN-HEARING");
          !s.ok()) {
        return s;
      }
    }
    if (order.order_type() == v1::ORDER_TYPE_DAPN) {
      absl::StatusOr<absl::Time> due =
          options_.calendar->AddHoursSkippingDapnDays(
              served, options_.dapn_hearing_hours);
      if (!due.ok()) return due.status();
      if (absl::Status s = AddTimer(tx, order.order_id(), "HEARING_DUE", *due,
                                    "DAPN-HEARING");
          !s.ok()) {
        return s;
      }
    }
    if ((order.order_type() == v1::ORDER_TYPE_SPO ||
         order.order_type() == v1::ORDER_TYPE_DAPO) &&
        !order.respondent_notified()) {
      if (absl::Status s = AddTimer(
              tx, order.order_id(), "NOTIFICATION_DUTY",
              served + absl::Hours(24) * options_.notification_duty_days,
              "NOTIFICATION-DUTY");
          !s.ok()) {
        return s;
      }
    }
    if (order.terms().has_electronic_monitoring_until()) {
      if (absl::Status s = AddTimer(
              tx, order.order_id(), "EM_END",
              FromTimestamp(order.terms().electronic_monitoring_until()),
              "DAPO-EM-END");
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<v1::Order> stored =
        LoadOrderWithTimers(tx, order.order_id());
    if (!stored.ok()) return stored.status();
    result = std::move(*stored);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Order> OrdersStore::RecordVariation(
    const v1::RecordVariationRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Order result;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::Order> loaded = LoadOrder(tx, req.order_id());
    if (!loaded.ok()) return loaded.status();
    v1::Order order = std::move(*loaded);
    bool changed_terms = false;
    if (req.new_state() != v1::ORDER_STATE_UNSPECIFIED) {
      if (absl::Status s = CheckTransition(order.order_type(), order.state(),
                                           req.new_state());
          !s.ok()) {
        return s;
      }
      if (req.has_terms() && (req.new_state() == v1::ORDER_STATE_VARIED ||
                              req.new_state() == v1::ORDER_STATE_EXTENDED)) {
        v1::OrderTerms terms = req.terms();
        if (!terms.has_made_at())
          *terms.mutable_made_at() = order.terms().made_at();
        if (absl::Status s = CheckGrant(order, order.authority(), terms);
            !s.ok())
          return s;
        *order.mutable_terms() = terms;
        order.clear_expires_at();
        if (std::optional<absl::Time> expiry =
                ExpiryOf(order.order_type(), terms)) {
          *order.mutable_expires_at() = ToTimestamp(*expiry);
        }
        changed_terms = true;
      }
    }
    if (req.respondent_notified() && !order.respondent_notified()) {
      order.set_respondent_notified(true);
      if (absl::Status s =
              CancelTimers(tx, order.order_id(), "NOTIFICATION_DUTY");
          !s.ok()) {
        return s;
      }
    }
    if (req.respondent_aware()) order.set_respondent_aware(true);
    if (req.new_state() != v1::ORDER_STATE_UNSPECIFIED) {
      if (absl::Status s =
              Move(tx, order, req.new_state(), now, req.actor(),
                   changed_terms ? "terms changed" : "", traceparent);
          !s.ok()) {
        return s;
      }
    } else {
      if (absl::Status s = SaveOrder(tx, order, now); !s.ok()) return s;
      if (absl::Status s = AddChange(
              tx, order.order_id(), now, order.state(), order.state(),
              req.actor(),
              absl::StrCat(req.respondent_notified() ? "NOTIFIED " : "",
                           req.respondent_aware() ? "AWARE" : ""));
          !s.ok()) {
        return s;
      }
    }
    if (changed_terms) {
      if (absl::Status s =
              ScheduleExpiryTimers(tx, order, options_.expiring_warning_days);
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<v1::Order> stored =
        LoadOrderWithTimers(tx, order.order_id());
    if (!stored.ok()) return stored.status();
    result = std::move(*stored);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::Breach> OrdersStore::RecordBreach(
    const v1::RecordBreachRequest& req, absl::Time now,
    const std::string& traceparent) {
  v1::Breach breach;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::Order> loaded = LoadOrder(tx, req.order_id());
    if (!loaded.ok()) return loaded.status();
    const v1::Order& order = *loaded;
    if (order.order_type() == v1::ORDER_TYPE_NON_MOLESTATION_ORDER &&
        req.proceedings() == v1::BREACH_PROCEEDINGS_UNSPECIFIED) {
      grpcutil::FieldErrors errors;
      errors.Add("proceedings",
                 "is required for a non-molestation order: CRIMINAL or "
                 "CONTEMPT, never both");
      return errors.ToStatus();
    }
    std::vector<v1::Breach> same;
    if (!req.incident_ref().empty()) {
      absl::StatusOr<Statement> q = tx.Prepare(
          "SELECT breach_id, proceedings FROM breaches WHERE order_id = ? AND "
          "incident_ref = ?");
      if (!q.ok()) return q.status();
      q->Bind(1, order.order_id()).Bind(2, req.incident_ref());
      while (true) {
        absl::StatusOr<bool> row = q->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        v1::Breach b;
        b.set_breach_id(q->ColumnText(0));
        b.set_proceedings(static_cast<v1::BreachProceedings>(q->ColumnInt(1)));
        same.push_back(std::move(b));
      }
    }
    if (absl::Status s = CheckBreach(order, req, same); !s.ok()) return s;
    breach.set_breach_id(NewUuid());
    breach.set_order_id(order.order_id());
    *breach.mutable_occurred_at() = req.occurred_at();
    breach.set_reporting_agency(req.reporting_agency());
    breach.set_action(req.action());
    breach.set_proceedings(req.proceedings());
    breach.set_incident_ref(req.incident_ref());
    absl::StatusOr<Statement> ins = tx.Prepare(
        "INSERT INTO breaches (breach_id, order_id, occurred_at_ms, "
        "reporting_agency, action, "
        "proceedings, incident_ref, recorded_at_ms) VALUES (?,?,?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, breach.breach_id())
        .Bind(2, breach.order_id())
        .Bind(3, Ms(FromTimestamp(req.occurred_at())))
        .Bind(4, req.reporting_agency())
        .Bind(5, static_cast<int64_t>(req.action()))
        .Bind(6, static_cast<int64_t>(req.proceedings()))
        .Bind(7, req.incident_ref())
        .Bind(8, Ms(now));
    if (absl::Status s = ins->Run(); !s.ok()) return s;
    if (absl::Status s = AddChange(
            tx, order.order_id(), now, order.state(), order.state(),
            req.actor(),
            absl::StrCat("BREACH ", v1::BreachAction_Name(req.action())));
        !s.ok()) {
      return s;
    }
    v1::EventEnvelope out = events::NewEnvelope("orders", order.referral_id());
    auto* b = out.mutable_order_breached();
    b->set_order_id(order.order_id());
    b->set_order_type(order.order_type());
    b->set_breach_id(breach.breach_id());
    *b->mutable_occurred_at() = req.occurred_at();
    b->set_reporting_agency(req.reporting_agency());
    b->set_action(v1::BreachAction_Name(req.action()));
    b->set_proceedings(v1::BreachProceedings_Name(req.proceedings()));
    b->set_priority(v1::PRIORITY_URGENT);
    return Emit(tx, std::move(out), traceparent);
  });
  if (!status.ok()) return status;
  return breach;
}

absl::StatusOr<v1::Order> OrdersStore::ImportOrder(
    const v1::ImportOrderRequest& req, absl::Time now,
    const std::string& traceparent) {
  std::string order_id;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT order_id FROM orders WHERE source = ? AND source_ref = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, req.source()).Bind(2, req.source_ref());
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (*row) {  // already imported: idempotent
      order_id = q->ColumnText(0);
      return absl::OkStatus();
    }
    if (absl::Status s = CheckInitialState(req.order_type(), req.state(), true);
        !s.ok()) {
      return s;
    }
    v1::Order order;
    order.set_order_id(NewUuid());
    order.set_referral_id(req.referral_id());
    order.set_order_type(req.order_type());
    order.set_state(req.state());
    order.set_legal_basis(req.legal_basis());
    *order.mutable_authority() = req.authority();
    v1::OrderTerms terms = req.terms();
    if (!terms.has_made_at()) *terms.mutable_made_at() = ToTimestamp(now);
    order.set_protected_age(req.protected_age());
    order.set_respondent_age(req.respondent_age());
    if (absl::Status s = CheckGrant(order, req.authority(), terms); !s.ok())
      return s;
    *order.mutable_terms() = terms;
    if (std::optional<absl::Time> expiry =
            ExpiryOf(order.order_type(), terms)) {
      *order.mutable_expires_at() = ToTimestamp(*expiry);
    }
    order.set_protected_ref(req.protected_ref());
    order.set_respondent_ref(req.respondent_ref());
    order.set_protected_age(req.protected_age());
    order.set_respondent_age(req.respondent_age());
    order.set_without_notice(req.without_notice());
    order.set_respondent_aware(req.respondent_aware());
    if (req.state() == v1::ORDER_STATE_SERVED) {
      *order.mutable_served_at() =
          req.has_served_at() ? req.served_at() : ToTimestamp(now);
    }
    order.set_area_code(req.area_code());
    order.set_source(req.source());
    order.set_source_ref(req.source_ref());
    if (absl::Status s = SaveOrder(tx, order, now); !s.ok()) return s;
    if (absl::Status s =
            AddChange(tx, order.order_id(), now, v1::ORDER_STATE_UNSPECIFIED,
                      order.state(), req.actor(),
                      absl::StrCat("IMPORTED ", req.source()));
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            ScheduleExpiryTimers(tx, order, options_.expiring_warning_days);
        !s.ok()) {
      return s;
    }
    order_id = order.order_id();
    return EmitRecorded(tx, order, v1::ORDER_STATE_UNSPECIFIED, traceparent,
                        nullptr);
  });
  if (!status.ok()) return status;
  return GetOrder(order_id);  // also answers a repeated import
}

absl::StatusOr<v1::Order> OrdersStore::GetOrder(const std::string& order_id) {
  v1::Order order;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<v1::Order> loaded = LoadOrderWithTimers(tx, order_id);
    if (!loaded.ok()) return loaded.status();
    order = std::move(*loaded);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return order;
}

absl::StatusOr<std::vector<v1::Order>> OrdersStore::ListOrders(
    const v1::ListOrdersRequest& req) {
  std::vector<v1::Order> out;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    std::vector<std::string> where, args;
    if (!req.referral_id().empty()) {
      where.push_back("referral_id = ?");
      args.push_back(req.referral_id());
    }
    if (!req.area_code().empty()) {
      where.push_back("area_code = ?");
      args.push_back(req.area_code());
    }
    if (req.order_type() != v1::ORDER_TYPE_UNSPECIFIED) {
      where.push_back("order_type = ?");
      args.push_back(absl::StrCat(static_cast<int>(req.order_type())));
    }
    if (req.state() != v1::ORDER_STATE_UNSPECIFIED) {
      where.push_back("state = ?");
      args.push_back(absl::StrCat(static_cast<int>(req.state())));
    }
    int limit = req.limit() > 0 ? req.limit() : 100;
    absl::StatusOr<Statement> q = tx.Prepare(absl::StrCat(
        "SELECT order_id FROM orders",
        where.empty() ? ""
                      : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")),
        " ORDER BY updated_at_ms DESC, order_id LIMIT ", limit));
    if (!q.ok()) return q.status();
    for (size_t i = 0; i < args.size(); ++i)
      q->Bind(static_cast<int>(i + 1), args[i]);
    std::vector<std::string> ids;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(q->ColumnText(0));
    }
    for (const std::string& id : ids) {
      absl::StatusOr<v1::Order> o = LoadOrderWithTimers(tx, id);
      if (!o.ok()) return o.status();
      out.push_back(std::move(*o));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<v1::OrderHistory> OrdersStore::GetOrderHistory(
    const std::string& order_id) {
  v1::OrderHistory history;
  history.set_order_id(order_id);
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    if (absl::StatusOr<v1::Order> o = LoadOrder(tx, order_id); !o.ok())
      return o.status();
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT at_ms, from_state, to_state, actor, detail FROM order_history "
        "WHERE "
        "order_id = ? ORDER BY seq");
    if (!q.ok()) return q.status();
    q->Bind(1, order_id);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::OrderChange* c = history.add_changes();
      *c->mutable_at() = TimeUtil::MillisecondsToTimestamp(q->ColumnInt(0));
      c->set_from_state(static_cast<v1::OrderState>(q->ColumnInt(1)));
      c->set_to_state(static_cast<v1::OrderState>(q->ColumnInt(2)));
      c->set_actor(q->ColumnText(3));
      c->set_detail(q->ColumnText(4));
    }
    absl::StatusOr<Statement> b = tx.Prepare(
        "SELECT breach_id, occurred_at_ms, reporting_agency, action, "
        "proceedings, incident_ref "
        "FROM breaches WHERE order_id = ? ORDER BY occurred_at_ms");
    if (!b.ok()) return b.status();
    b->Bind(1, order_id);
    while (true) {
      absl::StatusOr<bool> row = b->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::Breach* br = history.add_breaches();
      br->set_breach_id(b->ColumnText(0));
      br->set_order_id(order_id);
      *br->mutable_occurred_at() =
          TimeUtil::MillisecondsToTimestamp(b->ColumnInt(1));
      br->set_reporting_agency(b->ColumnText(2));
      br->set_action(static_cast<v1::BreachAction>(b->ColumnInt(3)));
      br->set_proceedings(static_cast<v1::BreachProceedings>(b->ColumnInt(4)));
      br->set_incident_ref(b->ColumnText(5));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return history;
}

absl::StatusOr<std::vector<v1::ConsiderationRecord>>
OrdersStore::ListReviewQueue(const std::string& area_code, absl::Time now) {
  std::vector<v1::ConsiderationRecord> out;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(absl::StrCat(
        "SELECT ", kConsiderationColumns,
        " FROM considerations WHERE open = 1 AND area_code = ? ORDER BY "
        "opened_at_ms, consideration_id"));
    if (!q.ok()) return q.status();
    q->Bind(1, area_code);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadConsideration(*q, now, options_.review_window));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<v1::ConsiderationRecord>>
OrdersStore::ListConsiderations(const std::string& referral_id,
                                absl::Time now) {
  std::vector<v1::ConsiderationRecord> out;
  absl::Status status = db_.Read([&](Tx& tx) -> absl::Status {
    absl::StatusOr<Statement> q = tx.Prepare(absl::StrCat(
        "SELECT ", kConsiderationColumns, " FROM considerations ",
        referral_id.empty() ? "WHERE open = 1 ORDER BY opened_at_ms LIMIT 1000"
                            : "WHERE referral_id = ? ORDER BY consideration"));
    if (!q.ok()) return q.status();
    if (!referral_id.empty()) q->Bind(1, referral_id);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadConsideration(*q, now, options_.review_window));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<int> OrdersStore::FireDueTimers(absl::Time now, int limit) {
  int fired = 0;
  absl::Status status = db_.Write([&](Tx& tx) -> absl::Status {
    struct Due {
      int64_t id;
      std::string order_id, kind;
      int64_t due_ms;
    };
    std::vector<Due> due;
    absl::StatusOr<Statement> q = tx.Prepare(
        "SELECT timer_id, order_id, kind, due_ms FROM timers WHERE fired_at_ms "
        "= 0 AND "
        "cancelled = 0 AND due_ms <= ? ORDER BY due_ms LIMIT ?");
    if (!q.ok()) return q.status();
    q->Bind(1, Ms(now)).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      due.push_back({q->ColumnInt(0), q->ColumnText(1), q->ColumnText(2),
                     q->ColumnInt(3)});
    }
    for (const Due& d : due) {
      absl::StatusOr<Statement> mark = tx.Prepare(
          "UPDATE timers SET fired_at_ms = ? WHERE timer_id = ? AND "
          "fired_at_ms = 0");
      if (!mark.ok()) return mark.status();
      mark->Bind(1, Ms(now)).Bind(2, d.id);
      if (absl::Status s = mark->Run(); !s.ok()) return s;
      if (tx.Changes() != 1) continue;
      absl::StatusOr<v1::Order> order = LoadOrder(tx, d.order_id);
      if (!order.ok()) return order.status();
      std::string traceparent = NewTraceparent();
      v1::EventEnvelope out =
          events::NewEnvelope("orders", order->referral_id());
      if (d.kind == "HEARING_DUE") {
        auto* h = out.mutable_hearing_due();
        h->set_order_id(d.order_id);
        h->set_order_type(order->order_type());
        *h->mutable_due() = TimeUtil::MillisecondsToTimestamp(d.due_ms);
      } else if (d.kind == "ORDER_EXPIRING") {
        auto* e = out.mutable_order_expiring();
        e->set_order_id(d.order_id);
        e->set_order_type(order->order_type());
        *e->mutable_expires_at() = order->expires_at();
      } else if (d.kind == "ORDER_EXPIRED") {
        auto* e = out.mutable_order_expired();
        e->set_order_id(d.order_id);
        e->set_order_type(order->order_type());
        if (CheckTransition(order->order_type(), order->state(),
                            v1::ORDER_STATE_EXPIRED)
                .ok()) {
          if (absl::Status s = Move(tx, *order, v1::ORDER_STATE_EXPIRED, now,
                                    "scheduler", "ORDER-EXPIRY", traceparent);
              !s.ok()) {
            return s;
          }
        }
      } else if (d.kind == "NOTIFICATION_DUTY") {
        auto* n = out.mutable_notification_duty_overdue();
        n->set_order_id(d.order_id);
        n->set_order_type(order->order_type());
        *n->mutable_due() = TimeUtil::MillisecondsToTimestamp(d.due_ms);
      } else if (d.kind == "EM_END") {
        out.mutable_electronic_monitoring_ended()->set_order_id(d.order_id);
      } else {
        return absl::DataLossError(absl::StrCat("unknown timer kind ", d.kind));
      }
      if (absl::Status s = Emit(tx, std::move(out), traceparent); !s.ok())
        return s;
      ++fired;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return fired;
}

}  // namespace signpost::orders
