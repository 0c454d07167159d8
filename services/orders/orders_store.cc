#include "services/orders/orders_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "services/orders/lifecycle.h"

namespace signpost::orders {

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
)sql"};
}

absl::StatusOr<int> OrdersStore::OpenConsiderations(
    const events::IncomingEvent& event) {
  const v1::ReferralTriaged& triaged =
      event.envelope.has_referral_reassessed()
          ? event.envelope.referral_reassessed().decision()
          : event.envelope.referral_triaged();
  int opened = 0;
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    for (int c : triaged.considerations()) {
      std::string id = NewUuid();
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "INSERT OR IGNORE INTO considerations (consideration_id, "
          "referral_id, "
          "consideration, area_code, open, opened_at_ms) VALUES (?,?,?,?,1,?)");
      if (!q.ok()) return q.status();
      q->Bind(1, id)
          .Bind(2, event.envelope.referral_id())
          .Bind(3, static_cast<int64_t>(c))
          .Bind(4, triaged.area_code())
          .Bind(5, absl::ToUnixMillis(absl::Now()));
      if (absl::Status s = q->Run(); !s.ok()) return s;
      if (tx.Changes() == 0) continue;  // already open from an earlier decision
      ++opened;
      v1::EventEnvelope out = events::NewEnvelope(
          "orders", event.envelope.referral_id(), &event.envelope);
      auto* o = out.mutable_order_consideration_opened();
      o->set_consideration_id(id);
      o->set_consideration(static_cast<v1::Consideration>(c));
      o->set_area_code(triaged.area_code());
      events::StampType(&out);
      if (absl::Status s = store::AppendToOutbox(tx, out, events::kOrdersTopic,
                                                 event.traceparent);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return opened;
}

absl::StatusOr<v1::Order> OrdersStore::RecordOrder(
    const v1::RecordOrderRequest& request, const std::string& traceparent) {
  v1::Order order;
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    int64_t now_ms = absl::ToUnixMillis(absl::Now());
    v1::OrderState previous = v1::ORDER_STATE_UNSPECIFIED;
    if (request.order_id().empty()) {
      if (absl::Status s = CheckInitialState(request.state()); !s.ok())
        return s;
      order.set_order_id(NewUuid());
      order.set_referral_id(request.referral_id());
      order.set_order_type(request.order_type());
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "INSERT INTO orders (order_id, referral_id, order_type, state, "
          "updated_at_ms) "
          "VALUES (?,?,?,?,?)");
      if (!q.ok()) return q.status();
      q->Bind(1, order.order_id())
          .Bind(2, order.referral_id())
          .Bind(3, static_cast<int64_t>(order.order_type()))
          .Bind(4, static_cast<int64_t>(request.state()))
          .Bind(5, now_ms);
      if (absl::Status s = q->Run(); !s.ok()) return s;
    } else {
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "SELECT referral_id, order_type, state FROM orders WHERE order_id = "
          "?");
      if (!q.ok()) return q.status();
      q->Bind(1, request.order_id());
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(
            absl::StrCat("order ", request.order_id(), " not found"));
      }
      order.set_order_id(request.order_id());
      order.set_referral_id(q->ColumnText(0));
      order.set_order_type(static_cast<v1::OrderType>(q->ColumnInt(1)));
      previous = static_cast<v1::OrderState>(q->ColumnInt(2));
      if (request.order_type() != v1::ORDER_TYPE_UNSPECIFIED &&
          request.order_type() != order.order_type()) {
        return grpcutil::RuleViolation("ORDER-TYPE-FIXED", "order_type",
                                       "an order's type cannot change");
      }
      if (!request.referral_id().empty() &&
          request.referral_id() != order.referral_id()) {
        return grpcutil::RuleViolation("ORDER-REFERRAL-FIXED", "referral_id",
                                       "an order's referral cannot change");
      }
      if (absl::Status s = CheckTransition(previous, request.state()); !s.ok())
        return s;
      absl::StatusOr<store::Statement> u = tx.Prepare(
          "UPDATE orders SET state = ?, updated_at_ms = ? WHERE order_id = ?");
      if (!u.ok()) return u.status();
      u->Bind(1, static_cast<int64_t>(request.state()))
          .Bind(2, now_ms)
          .Bind(3, order.order_id());
      if (absl::Status s = u->Run(); !s.ok()) return s;
    }
    order.set_state(request.state());
    order.mutable_updated_at()->set_seconds(now_ms / 1000);
    absl::StatusOr<store::Statement> h = tx.Prepare(
        "INSERT INTO order_history (order_id, seq, from_state, to_state, "
        "at_ms) VALUES "
        "(?, (SELECT COALESCE(MAX(seq),0)+1 FROM order_history WHERE "
        "order_id=?), ?,?,?)");
    if (!h.ok()) return h.status();
    h->Bind(1, order.order_id())
        .Bind(2, order.order_id())
        .Bind(3, static_cast<int64_t>(previous))
        .Bind(4, static_cast<int64_t>(request.state()))
        .Bind(5, now_ms);
    if (absl::Status s = h->Run(); !s.ok()) return s;

    v1::EventEnvelope out = events::NewEnvelope("orders", order.referral_id());
    auto* rec = out.mutable_order_recorded();
    rec->set_order_id(order.order_id());
    rec->set_order_type(order.order_type());
    rec->set_state(order.state());
    rec->set_previous_state(previous);
    events::StampType(&out);
    return store::AppendToOutbox(tx, out, events::kOrdersTopic, traceparent);
  });
  if (!status.ok()) return status;
  return order;
}

absl::StatusOr<std::vector<v1::OrderConsiderationRecord>>
OrdersStore::ListConsiderations(const std::string& referral_id) {
  std::vector<v1::OrderConsiderationRecord> out;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        referral_id.empty()
            ? "SELECT consideration_id, referral_id, consideration, area_code, "
              "open, "
              "opened_at_ms FROM considerations WHERE open = 1 ORDER BY "
              "opened_at_ms "
              "LIMIT 1000"
            : "SELECT consideration_id, referral_id, consideration, area_code, "
              "open, "
              "opened_at_ms FROM considerations WHERE referral_id = ? "
              "ORDER BY consideration");
    if (!q.ok()) return q.status();
    if (!referral_id.empty()) q->Bind(1, referral_id);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::OrderConsiderationRecord r;
      r.set_consideration_id(q->ColumnText(0));
      r.set_referral_id(q->ColumnText(1));
      r.set_consideration(static_cast<v1::Consideration>(q->ColumnInt(2)));
      r.set_area_code(q->ColumnText(3));
      r.set_open(q->ColumnInt(4) != 0);
      r.mutable_opened_at()->set_seconds(q->ColumnInt(5) / 1000);
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace signpost::orders
