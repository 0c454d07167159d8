#include "services/notification/notification_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "common/time/timestamps.h"

namespace signpost::notification {
namespace {

// The rowid, last, is the recorded order that breaks a referral's ties. (A
// VACUUM could renumber it; Signpost never runs one.)
constexpr char kDeliveryColumns[] =
    "SELECT delivery_id, agency_id, referral_id, event_id, event_type, "
    "legal_basis, delivered_at_ms, rowid FROM deliveries ";

v1::Delivery ReadDelivery(const store::Statement& q) {
  v1::Delivery d;
  d.set_delivery_id(q.ColumnText(0));
  d.set_agency_id(q.ColumnText(1));
  d.set_referral_id(q.ColumnText(2));
  d.set_event_id(q.ColumnText(3));
  d.set_event_type(q.ColumnText(4));
  d.set_legal_basis(q.ColumnText(5));
  *d.mutable_delivered_at() =
      timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(6)));
  return d;
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
)sql",
          R"sql(
-- Keyset paging: each list reads its page in its own order (an index ends
-- with the rowid, the recorded order).
DROP INDEX deliveries_referral;
CREATE INDEX deliveries_referral
  ON deliveries(referral_id, delivered_at_ms, agency_id);
CREATE INDEX deliveries_recent ON deliveries(delivered_at_ms DESC, delivery_id);
)sql",
          store::kDataKeysMigration,
          R"sql(
-- Issue 10: the referrers of later referrals linked to a referral (agency
-- ids only); they are told the referral's outcomes too.
CREATE TABLE linked_referrers (
  referral_id TEXT NOT NULL,
  agency_id TEXT NOT NULL,
  linked_referral_id TEXT NOT NULL,
  PRIMARY KEY (referral_id, agency_id, linked_referral_id)
);
CREATE INDEX linked_referrers_linked ON linked_referrers(linked_referral_id);
-- Referrals whose person was erased: events that arrive later are kept in
-- their erased form only.
CREATE TABLE erased_referrals (referral_id TEXT PRIMARY KEY);
)sql"};
}

absl::Status NotificationStore::RemoveLinkedReferral(
    store::Tx& tx, const ReferralId& linked_referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("DELETE FROM linked_referrers WHERE linked_referral_id = ?"));
  q.Bind(1, linked_referral_id.value());
  return q.Run();
}

absl::Status NotificationStore::MarkErased(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("INSERT OR IGNORE INTO erased_referrals "
                              "(referral_id) VALUES (?)"));
  q.Bind(1, referral_id.value());
  return q.Run();
}

absl::StatusOr<bool> NotificationStore::IsErased(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT 1 FROM erased_referrals WHERE "
                              "referral_id = ?"));
  q.Bind(1, referral_id.value());
  return q.Step();
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

absl::StatusOr<bool> NotificationStore::KnowsReferral(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT 1 WHERE EXISTS (SELECT 1 FROM "
                              "referral_events WHERE referral_id = ?1) OR "
                              "EXISTS (SELECT 1 FROM deliveries WHERE "
                              "referral_id = ?1)"));
  q.Bind(1, referral_id.value());
  return q.Step();
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

absl::Status NotificationStore::RewriteEvents(
    store::Tx& tx, const ReferralId& referral_id,
    const std::function<v1::EventEnvelope(const v1::EventEnvelope&)>& rewrite)
    const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT event_id, envelope FROM referral_events "
                              "WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  std::vector<std::pair<std::string, std::string>> rewritten;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::EventEnvelope envelope;
    if (!envelope.ParseFromString(q.ColumnBlob(1))) {
      return absl::DataLossError("stored envelope does not parse");
    }
    rewritten.emplace_back(q.ColumnText(0),
                           rewrite(envelope).SerializeAsString());
  }
  for (const auto& [event_id, bytes] : rewritten) {
    ASSIGN_OR_RETURN(store::Statement u,
                     tx.Prepare("UPDATE referral_events SET envelope = ? "
                                "WHERE event_id = ?"));
    u.BindBlob(1, bytes).Bind(2, event_id);
    RETURN_IF_ERROR(u.Run());
  }
  return absl::OkStatus();
}

absl::Status NotificationStore::AddLinkedReferrer(
    store::Tx& tx, const ReferralId& referral_id, const std::string& agency,
    const std::string& linked_referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR IGNORE INTO linked_referrers (referral_id, "
                 "agency_id, linked_referral_id) VALUES (?,?,?)"));
  q.Bind(1, referral_id.value()).Bind(2, agency).Bind(3, linked_referral_id);
  return q.Run();
}

absl::StatusOr<ReferralAudience> NotificationStore::AudienceOf(
    store::Tx& tx, const ReferralId& referral_id) const {
  ReferralAudience audience;
  // Each agency's first delivery of the referral (the recorded order).
  ASSIGN_OR_RETURN(
      store::Statement told,
      tx.Prepare("SELECT agency_id, legal_basis FROM deliveries AS d WHERE "
                 "referral_id = ?1 AND rowid = (SELECT MIN(rowid) FROM "
                 "deliveries WHERE referral_id = ?1 AND agency_id = "
                 "d.agency_id) ORDER BY agency_id"));
  told.Bind(1, referral_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool row, told.Step());
    if (!row) break;
    audience.told.push_back({told.ColumnText(0), told.ColumnText(1)});
  }
  ASSIGN_OR_RETURN(store::Statement linked,
                   tx.Prepare("SELECT DISTINCT agency_id FROM "
                              "linked_referrers WHERE referral_id = ? "
                              "ORDER BY agency_id"));
  linked.Bind(1, referral_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool row, linked.Step());
    if (!row) break;
    audience.linked_referrers.push_back(linked.ColumnText(0));
  }
  return audience;
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

absl::StatusOr<paging::Page<v1::Delivery>> NotificationStore::RecentDeliveries(
    store::Tx& tx, const std::optional<AgencyId>& agency,
    const paging::PageRequest& page) const {
  // After the cursor in (delivered_at_ms DESC, delivery_id ASC).
  std::vector<std::string> where;
  if (agency.has_value()) where.push_back("agency_id = ?");
  if (page.after) {
    where.push_back(
        "(delivered_at_ms < ? OR (delivered_at_ms = ? AND delivery_id > ?))");
  }
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          kDeliveryColumns,
          where.empty()
              ? ""
              : absl::StrCat("WHERE ", absl::StrJoin(where, " AND "), " "),
          "ORDER BY delivered_at_ms DESC, delivery_id LIMIT ?")));
  int arg = 0;
  if (agency.has_value()) q.Bind(++arg, agency->value());
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0))
        .Bind(arg + 2, page.after->Int(0))
        .Bind(arg + 3, page.after->Text(1));
    arg += 3;
  }
  q.Bind(arg + 1, page.limit());
  return paging::ReadPage(page, q, [](const store::Statement& row) {
    v1::Delivery d = ReadDelivery(row);
    paging::Cursor key({row.ColumnInt(6), d.delivery_id()});
    return paging::Keyed<v1::Delivery>{std::move(d), std::move(key)};
  });
}

absl::StatusOr<paging::Page<v1::Delivery>>
NotificationStore::ReferralDeliveries(store::Tx& tx,
                                      const ReferralId& referral_id,
                                      const std::optional<AgencyId>& agency,
                                      const paging::PageRequest& page) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          kDeliveryColumns, "WHERE referral_id = ? ",
          agency.has_value() ? "AND agency_id = ? " : "",
          page.after ? "AND (delivered_at_ms, agency_id, rowid) > (?, ?, ?) "
                     : "",
          "ORDER BY delivered_at_ms, agency_id, rowid LIMIT ?")));
  int arg = 1;
  q.Bind(arg, referral_id.value());
  if (agency.has_value()) q.Bind(++arg, agency->value());
  if (page.after) {
    q.Bind(arg + 1, page.after->Int(0))
        .Bind(arg + 2, page.after->Text(1))
        .Bind(arg + 3, page.after->Int(2));
    arg += 3;
  }
  q.Bind(arg + 1, page.limit());
  return paging::ReadPage(page, q, [](const store::Statement& row) {
    v1::Delivery d = ReadDelivery(row);
    paging::Cursor key({row.ColumnInt(6), d.agency_id(), row.ColumnInt(7)});
    return paging::Keyed<v1::Delivery>{std::move(d), std::move(key)};
  });
}

}  // namespace signpost::notification
