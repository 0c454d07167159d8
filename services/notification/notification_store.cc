#include "services/notification/notification_store.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::notification {
namespace {

constexpr char kDeliveryColumns[] =
    "SELECT delivery_id, agency_id, referral_id, event_id, event_type, "
    "legal_basis, delivered_at_ms FROM deliveries ";

absl::StatusOr<std::vector<v1::Delivery>> ReadDeliveries(store::Statement& q) {
  std::vector<v1::Delivery> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::Delivery& d = out.emplace_back();
    d.set_delivery_id(q.ColumnText(0));
    d.set_agency_id(q.ColumnText(1));
    d.set_referral_id(q.ColumnText(2));
    d.set_event_id(q.ColumnText(3));
    d.set_event_type(q.ColumnText(4));
    d.set_legal_basis(q.ColumnText(5));
    *d.mutable_delivered_at() =
        timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(6)));
  }
  return out;
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

absl::Status NotificationStore::SaveContext(
    store::Tx& tx, const ReferralId& referral_id,
    const ReferralContext& context) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR REPLACE INTO referral_context (referral_id, "
                 "area_code, consent_required, marac, legal_basis) VALUES "
                 "(?,?,?,?,?)"));
  q.Bind(1, referral_id.value())
      .Bind(2, context.area_code)
      .Bind(3, static_cast<int64_t>(context.consent_required))
      .Bind(4, static_cast<int64_t>(context.marac))
      .Bind(5, context.legal_basis);
  return q.Run();
}

absl::StatusOr<std::optional<ReferralContext>> NotificationStore::LoadContext(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT area_code, consent_required, marac, legal_basis "
                 "FROM referral_context WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return ReferralContext{q.ColumnText(0), q.ColumnInt(1) != 0,
                         q.ColumnInt(2) != 0, q.ColumnText(3)};
}

absl::Status NotificationStore::RecordEvent(store::Tx& tx,
                                            const v1::EventEnvelope& envelope,
                                            absl::string_view traceparent,
                                            bool pending,
                                            absl::Time seen_at) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT INTO referral_events (event_id, referral_id, "
                 "event_type, envelope, traceparent, pending, seen_at_ms) "
                 "VALUES (?,?,?,?,?,?,?)"));
  q.Bind(1, envelope.event_id())
      .Bind(2, envelope.referral_id())
      .Bind(3, envelope.type())
      .BindBlob(4, envelope.SerializeAsString())
      .Bind(5, traceparent)
      .Bind(6, static_cast<int64_t>(pending))
      .Bind(7, absl::ToUnixMillis(seen_at));
  return q.Run();
}

absl::StatusOr<std::vector<RecordedEvent>> NotificationStore::PendingEvents(
    store::Tx& tx, const ReferralId& referral_id, const EventId& also) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT envelope, traceparent FROM referral_events WHERE "
                 "referral_id = ? AND (pending = 1 OR event_id = ?) "
                 "ORDER BY seen_at_ms, rowid"));
  q.Bind(1, referral_id.value()).Bind(2, also.value());
  std::vector<RecordedEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    RecordedEvent& e = out.emplace_back();
    if (!e.envelope.ParseFromString(q.ColumnBlob(0))) {
      return absl::DataLossError("stored envelope does not parse");
    }
    e.traceparent = q.ColumnText(1);
  }
  return out;
}

absl::Status NotificationStore::ClearPending(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("UPDATE referral_events SET pending = 0 WHERE "
                              "referral_id = ? AND pending = 1"));
  q.Bind(1, referral_id.value());
  return q.Run();
}

absl::StatusOr<int> NotificationStore::CountDecidedEvents(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT COUNT(*) FROM referral_events WHERE "
                              "referral_id = ? AND pending = 0"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::InternalError("COUNT(*) returned no row");
  return static_cast<int>(q.ColumnInt(0));
}

absl::StatusOr<bool> NotificationStore::InsertDelivery(
    store::Tx& tx, const v1::Delivery& delivery) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR IGNORE INTO deliveries (delivery_id, agency_id, "
                 "referral_id, event_id, event_type, legal_basis, "
                 "delivered_at_ms) VALUES (?,?,?,?,?,?,?)"));
  q.Bind(1, delivery.delivery_id())
      .Bind(2, delivery.agency_id())
      .Bind(3, delivery.referral_id())
      .Bind(4, delivery.event_id())
      .Bind(5, delivery.event_type())
      .Bind(6, delivery.legal_basis())
      .Bind(7, absl::ToUnixMillis(
                   timeutil::FromTimestamp(delivery.delivered_at())));
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() > 0;
}

absl::StatusOr<std::vector<v1::Delivery>> NotificationStore::RecentDeliveries(
    store::Tx& tx, int limit) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare(absl::StrCat(kDeliveryColumns,
                                           "ORDER BY delivered_at_ms DESC, "
                                           "delivery_id LIMIT ?")));
  q.Bind(1, static_cast<int64_t>(limit));
  return ReadDeliveries(q);
}

absl::StatusOr<std::vector<v1::Delivery>> NotificationStore::ReferralDeliveries(
    store::Tx& tx, const ReferralId& referral_id, int limit) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare(absl::StrCat(kDeliveryColumns,
                                           "WHERE referral_id = ? ORDER BY "
                                           "delivered_at_ms, agency_id "
                                           "LIMIT ?")));
  q.Bind(1, referral_id.value()).Bind(2, static_cast<int64_t>(limit));
  return ReadDeliveries(q);
}

}  // namespace signpost::notification
