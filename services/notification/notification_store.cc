#include "services/notification/notification_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"

namespace signpost::notification {
namespace {

absl::StatusOr<std::optional<ReferralContext>> LoadContext(
    store::Tx& tx, const std::string& referral_id) {
  absl::StatusOr<store::Statement> q = tx.Prepare(
      "SELECT area_code, consent_required, marac, legal_basis FROM "
      "referral_context "
      "WHERE referral_id = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, referral_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ReferralContext>();
  ReferralContext c;
  c.area_code = q->ColumnText(0);
  c.consent_required = q->ColumnInt(1) != 0;
  c.marac = q->ColumnInt(2) != 0;
  c.legal_basis = q->ColumnText(3);
  return std::optional<ReferralContext>(c);
}

}  // namespace

std::vector<std::string> NotificationStore::Migrations() {
  return {R"sql(
CREATE TABLE referral_context (
  referral_id TEXT PRIMARY KEY,
  area_code TEXT NOT NULL,
  consent_required INTEGER NOT NULL,
  marac INTEGER NOT NULL,
  legal_basis TEXT NOT NULL
);
CREATE TABLE referral_events (
  event_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  envelope BLOB NOT NULL,
  traceparent TEXT NOT NULL,
  pending INTEGER NOT NULL,
  seen_at_ms INTEGER NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events(referral_id, pending);
CREATE TABLE deliveries (
  delivery_id TEXT PRIMARY KEY,
  agency_id TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  delivered_at_ms INTEGER NOT NULL,
  UNIQUE (agency_id, event_id)
);
CREATE INDEX deliveries_referral ON deliveries(referral_id, delivered_at_ms);
)sql"};
}

absl::StatusOr<int> NotificationStore::Deliver(
    const events::IncomingEvent& event) {
  int delivered = 0;
  const v1::EventEnvelope& env = event.envelope;
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, env);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    int64_t now_ms = absl::ToUnixMillis(absl::Now());

    if (env.has_referral_triaged() || env.has_referral_reassessed()) {
      // Until a decision is ROUTED (consent given, assessment complete) only
      // agencies that lawfully receive without consent may receive.
      const v1::ReferralTriaged& t = env.has_referral_reassessed()
                                         ? env.referral_reassessed().decision()
                                         : env.referral_triaged();
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "INSERT OR REPLACE INTO referral_context (referral_id, area_code, "
          "consent_required, marac, legal_basis) VALUES (?,?,?,?,?)");
      if (!q.ok()) return q.status();
      q->Bind(1, env.referral_id())
          .Bind(2, t.area_code())
          .Bind(3,
                static_cast<int64_t>(t.status() != v1::REFERRAL_STATUS_ROUTED))
          .Bind(4, static_cast<int64_t>(t.marac()))
          .Bind(5, t.legal_basis());
      if (absl::Status s = q->Run(); !s.ok()) return s;
    }
    absl::StatusOr<std::optional<ReferralContext>> context =
        LoadContext(tx, env.referral_id());
    if (!context.ok()) return context.status();

    absl::StatusOr<store::Statement> rec = tx.Prepare(
        "INSERT INTO referral_events (event_id, referral_id, event_type, "
        "envelope, "
        "traceparent, pending, seen_at_ms) VALUES (?,?,?,?,?,?,?)");
    if (!rec.ok()) return rec.status();
    rec->Bind(1, env.event_id())
        .Bind(2, env.referral_id())
        .Bind(3, env.type())
        .BindBlob(4, env.SerializeAsString())
        .Bind(5, event.traceparent)
        .Bind(6, static_cast<int64_t>(!context->has_value()))
        .Bind(7, now_ms);
    if (absl::Status s = rec->Run(); !s.ok()) return s;
    if (!context->has_value()) return absl::OkStatus();  // waits for triage

    // Deliver this event and any that were waiting for the context.
    std::vector<std::pair<v1::EventEnvelope, std::string>> ready;
    absl::StatusOr<store::Statement> pending = tx.Prepare(
        "SELECT envelope, traceparent FROM referral_events WHERE referral_id = "
        "? "
        "AND (pending = 1 OR event_id = ?) ORDER BY seen_at_ms, rowid");
    if (!pending.ok()) return pending.status();
    pending->Bind(1, env.referral_id()).Bind(2, env.event_id());
    while (true) {
      absl::StatusOr<bool> row = pending->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::EventEnvelope e;
      if (!e.ParseFromString(pending->ColumnBlob(0))) {
        return absl::DataLossError("stored envelope does not parse");
      }
      ready.emplace_back(std::move(e), pending->ColumnText(1));
    }
    for (const auto& [e, traceparent] : ready) {
      for (const DeliveryTarget& target :
           RouteEvent(subscriptions_, e.type(), **context)) {
        std::string id = NewUuid();
        absl::StatusOr<store::Statement> d = tx.Prepare(
            "INSERT OR IGNORE INTO deliveries (delivery_id, agency_id, "
            "referral_id, "
            "event_id, event_type, legal_basis, delivered_at_ms) VALUES "
            "(?,?,?,?,?,?,?)");
        if (!d.ok()) return d.status();
        d->Bind(1, id)
            .Bind(2, target.agency_id)
            .Bind(3, e.referral_id())
            .Bind(4, e.event_id())
            .Bind(5, e.type())
            .Bind(6, target.legal_basis)
            .Bind(7, now_ms);
        if (absl::Status s = d->Run(); !s.ok()) return s;
        if (tx.Changes() == 0) continue;
        ++delivered;
        v1::EventEnvelope out =
            events::NewEnvelope("notification", e.referral_id(), &e);
        auto* r = out.mutable_delivery_recorded();
        r->set_delivery_id(id);
        r->set_agency_id(target.agency_id);
        r->set_delivered_event_id(e.event_id());
        r->set_delivered_event_type(e.type());
        r->set_legal_basis(target.legal_basis);
        events::StampType(&out);
        if (absl::Status s = store::AppendToOutbox(
                tx, out, events::kNotificationTopic, traceparent);
            !s.ok()) {
          return s;
        }
      }
    }
    absl::StatusOr<store::Statement> clear = tx.Prepare(
        "UPDATE referral_events SET pending = 0 WHERE referral_id = ? AND "
        "pending = 1");
    if (!clear.ok()) return clear.status();
    clear->Bind(1, env.referral_id());
    return clear->Run();
  });
  if (!status.ok()) return status;
  return delivered;
}

absl::StatusOr<v1::ListDeliveriesResponse> NotificationStore::ListDeliveries(
    const std::string& referral_id, int limit) {
  v1::ListDeliveriesResponse response;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        referral_id.empty() ? "SELECT delivery_id, agency_id, referral_id, "
                              "event_id, event_type, "
                              "legal_basis, delivered_at_ms FROM deliveries "
                              "ORDER BY delivered_at_ms "
                              "DESC, delivery_id LIMIT ?"
                            : "SELECT delivery_id, agency_id, referral_id, "
                              "event_id, event_type, "
                              "legal_basis, delivered_at_ms FROM deliveries "
                              "WHERE referral_id = ? "
                              "ORDER BY delivered_at_ms, agency_id LIMIT ?");
    if (!q.ok()) return q.status();
    if (referral_id.empty()) {
      q->Bind(1, static_cast<int64_t>(limit));
    } else {
      q->Bind(1, referral_id).Bind(2, static_cast<int64_t>(limit));
    }
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::Delivery* d = response.add_deliveries();
      d->set_delivery_id(q->ColumnText(0));
      d->set_agency_id(q->ColumnText(1));
      d->set_referral_id(q->ColumnText(2));
      d->set_event_id(q->ColumnText(3));
      d->set_event_type(q->ColumnText(4));
      d->set_legal_basis(q->ColumnText(5));
      d->mutable_delivered_at()->set_seconds(q->ColumnInt(6) / 1000);
    }
    if (!referral_id.empty()) {
      absl::StatusOr<store::Statement> c = tx.Prepare(
          "SELECT COUNT(*) FROM referral_events WHERE referral_id = ? AND "
          "pending = 0");
      if (!c.ok()) return c.status();
      c->Bind(1, referral_id);
      absl::StatusOr<bool> row = c->Step();
      if (!row.ok()) return row.status();
      response.set_events_processed(static_cast<int32_t>(c->ColumnInt(0)));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace signpost::notification
