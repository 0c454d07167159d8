#include "services/notification/notification_store.h"

#include <limits>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/notification/projection.h"

namespace signpost::notification {
namespace {

// The rowid, last, is the recorded order that breaks a referral's ties. (A
// VACUUM could renumber it; Signpost never runs one.)
constexpr char kDeliveryColumns[] =
    "SELECT delivery_id, agency_id, referral_id, event_id, event_type, "
    "legal_basis, decided_at_ms, rowid, transport, status, partner_event_id, "
    "field_set, accepted_at_ms, attempts, last_error, refusal_rule, sequence, "
    "partner_referral_id, linked_referral_id, first_attempt_ms, "
    "next_attempt_ms FROM deliveries ";

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
  d.set_transport(static_cast<v1::Transport>(q.ColumnInt(8)));
  d.set_status(static_cast<v1::DeliveryStatus>(q.ColumnInt(9)));
  d.set_partner_event_id(q.ColumnText(10));
  d.set_field_set(static_cast<v1::FieldSet>(q.ColumnInt(11)));
  if (!q.ColumnIsNull(12)) {
    *d.mutable_accepted_at() =
        timeutil::ToTimestamp(absl::FromUnixMillis(q.ColumnInt(12)));
  }
  d.set_attempts(static_cast<int32_t>(q.ColumnInt(13)));
  d.set_last_error(q.ColumnText(14));
  d.set_refusal_rule(q.ColumnText(15));
  d.set_partner_referral_id(q.ColumnText(17));
  return d;
}

DeliveryRow ReadDeliveryRow(const store::Statement& q) {
  DeliveryRow row;
  row.delivery = ReadDelivery(q);
  row.sequence = q.ColumnIsNull(16) ? 0 : q.ColumnInt(16);
  row.partner_referral_id = q.ColumnText(17);
  row.linked_referral_id = q.ColumnText(18);
  if (!q.ColumnIsNull(19)) {
    row.first_attempt = absl::FromUnixMillis(q.ColumnInt(19));
  }
  if (!q.ColumnIsNull(20)) {
    row.next_attempt = absl::FromUnixMillis(q.ColumnInt(20));
  }
  return row;
}

// A delivery shared on consent whose referral no longer has it; stop
// notices aside (they share nothing new).
constexpr char kConsentLapsed[] =
    "legal_basis = 'CONSENT' AND event_type NOT IN "
    "('signpost.v1.ReferralWithdrawn', 'signpost.v1.AssignmentReleased') AND "
    "referral_id IN (SELECT referral_id FROM referral_context WHERE "
    "consent_required = 1)";

void BindOptionalMs(store::Statement& q, int index,
                    const std::optional<absl::Time>& t) {
  if (t.has_value()) {
    q.Bind(index, absl::ToUnixMillis(*t));
  } else {
    q.BindNull(index);
  }
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
)sql", store::kDataKeysMigration,
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
)sql",
          R"sql(
-- Issue 11: partner delivery. The deliveries recorded before were never
-- sent anywhere; they are kept, renamed, and no longer read.
DROP INDEX deliveries_referral;
DROP INDEX deliveries_recent;
ALTER TABLE deliveries RENAME TO deliveries_recorded_before_partner_delivery;
-- The latest decision (without the person id), for projections.
ALTER TABLE referral_context ADD COLUMN decision BLOB;
CREATE TABLE referral_referrers (
  referral_id TEXT PRIMARY KEY,
  agency_id TEXT NOT NULL
);
CREATE TABLE assignment_providers (
  assignment_id TEXT PRIMARY KEY,
  referral_id TEXT NOT NULL,
  provider_id TEXT NOT NULL
);
CREATE INDEX assignment_providers_referral
  ON assignment_providers(referral_id);
-- Each agency's feed: one row per partner event, in sequence (the Subscribe
-- cursor). referral_id is Signpost's (the event holds the agency's own).
CREATE TABLE partner_events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  partner_event_id TEXT NOT NULL UNIQUE,
  agency_id TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  event BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX partner_events_agency ON partner_events(agency_id, sequence);
CREATE INDEX partner_events_referral ON partner_events(referral_id);
-- One row per partner event per transport, or one per refused share
-- (transport 0, status REFUSED, no sequence).
CREATE TABLE deliveries (
  delivery_id TEXT PRIMARY KEY,
  agency_id TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  partner_event_id TEXT NOT NULL,
  field_set INTEGER NOT NULL,
  legal_basis TEXT NOT NULL,
  transport INTEGER NOT NULL,
  status INTEGER NOT NULL,
  sequence INTEGER,
  partner_referral_id TEXT NOT NULL,
  linked_referral_id TEXT NOT NULL,
  decided_at_ms INTEGER NOT NULL,
  accepted_at_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  first_attempt_ms INTEGER,
  next_attempt_ms INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  refusal_rule TEXT NOT NULL DEFAULT '',
  UNIQUE (partner_event_id, transport)
);
CREATE INDEX deliveries_referral
  ON deliveries(referral_id, decided_at_ms, agency_id);
CREATE INDEX deliveries_recent ON deliveries(decided_at_ms DESC, delivery_id);
CREATE INDEX deliveries_pending
  ON deliveries(transport, agency_id, sequence) WHERE status = 1;
)sql",
          R"sql(
-- A linked referral's referrer lists its deliveries by its own referral id.
CREATE INDEX deliveries_partner_referral
  ON deliveries(partner_referral_id, decided_at_ms, agency_id);
)sql",
          R"sql(
-- Providers whose assignment ended are no longer told about the referral;
-- webhooks go in order per referral (the head of each referral's queue).
ALTER TABLE assignment_providers ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_webhook_heads
  ON deliveries(agency_id, partner_referral_id, sequence)
  WHERE status = 1 AND transport = 3;
)sql",
          R"sql(
-- Issue 12: a perpetrator programme's or MARAC's service referral makes it
-- no audience of the referral as a whole, only of its own referral.
ALTER TABLE assignment_providers
  ADD COLUMN referral_wide INTEGER NOT NULL DEFAULT 1;
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
                 "area_code, consent_required, marac, legal_basis, decision) "
                 "VALUES (?,?,?,?,?,?)"));
  v1::ReferralTriaged decision = context.decision;
  decision.clear_person_id();
  decision.clear_contact_rules();
  decision.clear_preferred_specialisms();
  q.Bind(1, referral_id.value())
      .Bind(2, context.area_code)
      .Bind(3, static_cast<int64_t>(context.consent_required))
      .Bind(4, static_cast<int64_t>(context.marac))
      .Bind(5, context.legal_basis)
      .BindBlob(6, decision.SerializeAsString());
  return q.Run();
}

absl::StatusOr<std::optional<ReferralContext>> NotificationStore::LoadContext(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT area_code, consent_required, marac, legal_basis, "
                 "decision FROM referral_context WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  ReferralContext context{q.ColumnText(0),
                          q.ColumnInt(1) != 0,
                          q.ColumnInt(2) != 0,
                          q.ColumnText(3),
                          {}};
  if (!q.ColumnIsNull(4) &&
      !context.decision.ParseFromString(q.ColumnBlob(4))) {
    return absl::DataLossError("stored decision does not parse");
  }
  return context;
}

absl::Status NotificationStore::SaveReferrer(
    store::Tx& tx, const ReferralId& referral_id,
    const std::string& agency_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("INSERT OR IGNORE INTO referral_referrers "
                              "(referral_id, agency_id) VALUES (?,?)"));
  q.Bind(1, referral_id.value()).Bind(2, agency_id);
  return q.Run();
}

absl::Status NotificationStore::SaveAssignmentProvider(
    store::Tx& tx, const ReferralId& referral_id,
    const std::string& assignment_id, const std::string& provider_id,
    bool referral_wide) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT INTO assignment_providers (assignment_id, "
                 "referral_id, provider_id, referral_wide) VALUES (?,?,?,?) "
                 "ON CONFLICT(assignment_id) DO UPDATE SET "
                 "provider_id = excluded.provider_id, ended = 0, "
                 "referral_wide = excluded.referral_wide"));
  // The assignment's current provider: a re-offer to another provider
  // replaces the one that declined or let it expire.
  q.Bind(1, assignment_id)
      .Bind(2, referral_id.value())
      .Bind(3, provider_id)
      .Bind(4, static_cast<int64_t>(referral_wide));
  return q.Run();
}

absl::Status NotificationStore::EndAssignment(
    store::Tx& tx, const std::string& assignment_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("UPDATE assignment_providers SET ended = 1 "
                              "WHERE assignment_id = ?"));
  q.Bind(1, assignment_id);
  return q.Run();
}

absl::StatusOr<std::string> NotificationStore::ReferrerFromStoredEvents(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT envelope FROM referral_events WHERE referral_id = ? "
                 "AND event_type = 'signpost.v1.ReferralReceived' ORDER BY "
                 "rowid LIMIT 1"));
  q.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::string();
  v1::EventEnvelope envelope;
  if (!envelope.ParseFromString(q.ColumnBlob(0))) {
    return absl::DataLossError("stored envelope does not parse");
  }
  return absl::AsciiStrToLower(
      envelope.referral_received().facts().referrer_org());
}

absl::Status NotificationStore::ForgetDecision(
    store::Tx& tx, const ReferralId& referral_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("UPDATE referral_context SET decision = NULL "
                              "WHERE referral_id = ?"));
  q.Bind(1, referral_id.value());
  return q.Run();
}

absl::StatusOr<std::string> NotificationStore::ProviderOfAssignment(
    store::Tx& tx, const std::string& assignment_id) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT provider_id FROM assignment_providers "
                              "WHERE assignment_id = ?"));
  q.Bind(1, assignment_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.ColumnText(0) : std::string();
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
                              "referral_id = ?1 OR partner_referral_id = ?1)"));
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
  // Partner events keep their headers (ids, type, time, basis) only.
  ASSIGN_OR_RETURN(store::Statement p,
                   tx.Prepare("SELECT sequence, event FROM partner_events "
                              "WHERE referral_id = ?"));
  p.Bind(1, referral_id.value());
  std::vector<std::pair<int64_t, std::string>> stripped;
  while (true) {
    ASSIGN_OR_RETURN(bool row, p.Step());
    if (!row) break;
    v1::PartnerEvent event;
    if (!event.ParseFromString(p.ColumnBlob(1))) {
      return absl::DataLossError("stored partner event does not parse");
    }
    KeepOnly(v1::FIELD_SET_UNSPECIFIED, &event);
    stripped.emplace_back(p.ColumnInt(0), event.SerializeAsString());
  }
  for (const auto& [sequence, bytes] : stripped) {
    ASSIGN_OR_RETURN(store::Statement u,
                     tx.Prepare("UPDATE partner_events SET event = ? "
                                "WHERE sequence = ?"));
    u.BindBlob(1, bytes).Bind(2, sequence);
    RETURN_IF_ERROR(u.Run());
  }
  // Their Kafka records in the outbox too, so that a replay re-publishes
  // the stripped form.
  ASSIGN_OR_RETURN(
      store::Statement o,
      tx.Prepare("SELECT o.seq, o.payload FROM outbox AS o JOIN "
                 "partner_events AS p ON o.event_id = p.partner_event_id "
                 "WHERE p.referral_id = ?"));
  o.Bind(1, referral_id.value());
  std::vector<std::pair<int64_t, std::string>> records;
  while (true) {
    ASSIGN_OR_RETURN(bool row, o.Step());
    if (!row) break;
    v1::EventEnvelope envelope;
    if (!envelope.ParseFromString(o.ColumnBlob(1))) {
      return absl::DataLossError("stored outbox record does not parse");
    }
    KeepOnly(v1::FIELD_SET_UNSPECIFIED, envelope.mutable_partner_event());
    records.emplace_back(o.ColumnInt(0), envelope.SerializeAsString());
  }
  for (const auto& [seq, bytes] : records) {
    ASSIGN_OR_RETURN(store::Statement u,
                     tx.Prepare("UPDATE outbox SET payload = ? WHERE seq = ?"));
    u.BindBlob(1, bytes).Bind(2, seq);
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
  ASSIGN_OR_RETURN(store::Statement referrer,
                   tx.Prepare("SELECT agency_id FROM referral_referrers "
                              "WHERE referral_id = ?"));
  referrer.Bind(1, referral_id.value());
  ASSIGN_OR_RETURN(bool found, referrer.Step());
  if (found) audience.referrer_agency = referrer.ColumnText(0);
  // Each share made (agency and field set), with its first delivery's
  // basis and referral ids: with MIN(rowid), SQLite takes the bare columns
  // from that row, in one pass over the referral's deliveries (not one pass
  // per delivery).
  ASSIGN_OR_RETURN(
      store::Statement told,
      tx.Prepare("SELECT agency_id, field_set, legal_basis, "
                 "partner_referral_id, linked_referral_id, MIN(rowid) FROM "
                 "deliveries WHERE referral_id = ?1 AND status != ?2 "
                 "GROUP BY agency_id, field_set ORDER BY agency_id, "
                 "field_set"));
  told.Bind(1, referral_id.value())
      .Bind(2, int64_t{v1::DELIVERY_STATUS_REFUSED});
  while (true) {
    ASSIGN_OR_RETURN(bool row, told.Step());
    if (!row) break;
    v1::LegalBasis basis = v1::LEGAL_BASIS_UNSPECIFIED;
    v1::LegalBasis_Parse(absl::StrCat("LEGAL_BASIS_", told.ColumnText(2)),
                         &basis);
    audience.told.push_back({told.ColumnText(0),
                             static_cast<v1::FieldSet>(told.ColumnInt(1)),
                             basis, told.ColumnText(3), told.ColumnText(4)});
  }
  ASSIGN_OR_RETURN(store::Statement linked,
                   tx.Prepare("SELECT agency_id, linked_referral_id FROM "
                              "linked_referrers WHERE referral_id = ? "
                              "ORDER BY agency_id, linked_referral_id"));
  linked.Bind(1, referral_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool row, linked.Step());
    if (!row) break;
    audience.linked_referrers.push_back(
        {linked.ColumnText(0), linked.ColumnText(1)});
  }
  ASSIGN_OR_RETURN(store::Statement providers,
                   tx.Prepare("SELECT DISTINCT provider_id FROM "
                              "assignment_providers WHERE referral_id = ? "
                              "AND ended = 0 AND referral_wide = 1"));
  providers.Bind(1, referral_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool row, providers.Step());
    if (!row) break;
    audience.providers.insert(providers.ColumnText(0));
  }
  return audience;
}

absl::StatusOr<int64_t> NotificationStore::AppendPartnerEvent(
    store::Tx& tx, const ReferralId& referral_id, const v1::PartnerEvent& event,
    absl::Time now) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR IGNORE INTO partner_events (partner_event_id, "
                 "agency_id, referral_id, event, created_at_ms) VALUES "
                 "(?,?,?,?,?) RETURNING sequence"));
  q.Bind(1, event.id())
      .Bind(2, event.agency_id())
      .Bind(3, referral_id.value())
      .BindBlob(4, event.SerializeAsString())
      .Bind(5, absl::ToUnixMillis(now));
  ASSIGN_OR_RETURN(bool inserted, q.Step());
  if (inserted) return q.ColumnInt(0);
  // Stored before (a redelivery): its sequence as it was.
  ASSIGN_OR_RETURN(store::Statement s,
                   tx.Prepare("SELECT sequence FROM partner_events WHERE "
                              "partner_event_id = ?"));
  s.Bind(1, event.id());
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::InternalError("partner event not stored");
  return s.ColumnInt(0);
}

absl::StatusOr<std::vector<v1::PartnerEvent>>
NotificationStore::PartnerEventsAfter(store::Tx& tx, const AgencyId& agency,
                                      int64_t after_sequence, int limit) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT sequence, event FROM partner_events WHERE "
                 "agency_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"));
  q.Bind(1, agency.value()).Bind(2, after_sequence).Bind(3, int64_t{limit});
  std::vector<v1::PartnerEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::PartnerEvent& event = out.emplace_back();
    if (!event.ParseFromString(q.ColumnBlob(1))) {
      return absl::DataLossError("stored partner event does not parse");
    }
    event.set_sequence(q.ColumnInt(0));
  }
  return out;
}

absl::StatusOr<v1::PartnerEvent> NotificationStore::PartnerEventAt(
    store::Tx& tx, int64_t sequence) const {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT event FROM partner_events WHERE "
                              "sequence = ?"));
  q.Bind(1, sequence);
  ASSIGN_OR_RETURN(bool row, q.Step());
  v1::PartnerEvent event;
  if (!row || !event.ParseFromString(q.ColumnBlob(0))) {
    return absl::DataLossError(
        absl::StrCat("partner event ", sequence, " is missing"));
  }
  event.set_sequence(sequence);
  return event;
}

absl::StatusOr<bool> NotificationStore::InsertDelivery(
    store::Tx& tx, const DeliveryRow& row) const {
  const v1::Delivery& d = row.delivery;
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("INSERT OR IGNORE INTO deliveries (delivery_id, agency_id, "
                 "referral_id, event_id, event_type, partner_event_id, "
                 "field_set, legal_basis, transport, status, sequence, "
                 "partner_referral_id, linked_referral_id, decided_at_ms, "
                 "first_attempt_ms, next_attempt_ms, refusal_rule) VALUES "
                 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q.Bind(1, d.delivery_id())
      .Bind(2, d.agency_id())
      .Bind(3, d.referral_id())
      .Bind(4, d.event_id())
      .Bind(5, d.event_type())
      .Bind(6, d.partner_event_id())
      .Bind(7, int64_t{d.field_set()})
      .Bind(8, d.legal_basis())
      .Bind(9, int64_t{d.transport()})
      .Bind(10, int64_t{d.status()});
  if (row.sequence > 0) {
    q.Bind(11, row.sequence);
  } else {
    q.BindNull(11);
  }
  q.Bind(12, row.partner_referral_id)
      .Bind(13, row.linked_referral_id)
      .Bind(14, absl::ToUnixMillis(timeutil::FromTimestamp(d.delivered_at())));
  BindOptionalMs(q, 15, row.first_attempt);
  BindOptionalMs(q, 16, row.next_attempt);
  q.Bind(17, d.refusal_rule());
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() > 0;
}

absl::StatusOr<std::optional<v1::Delivery>> NotificationStore::MarkDelivered(
    store::Tx& tx, const std::string& delivery_id, absl::Time now) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE deliveries SET status = ?, accepted_at_ms = ?, "
                 "next_attempt_ms = NULL WHERE delivery_id = ? AND "
                 "status = ?"));
  q.Bind(1, int64_t{v1::DELIVERY_STATUS_DELIVERED})
      .Bind(2, absl::ToUnixMillis(now))
      .Bind(3, delivery_id)
      .Bind(4, int64_t{v1::DELIVERY_STATUS_PENDING});
  RETURN_IF_ERROR(q.Run());
  if (tx.Changes() == 0) return std::nullopt;
  ASSIGN_OR_RETURN(
      store::Statement r,
      tx.Prepare(absl::StrCat(kDeliveryColumns, "WHERE delivery_id = ?")));
  r.Bind(1, delivery_id);
  ASSIGN_OR_RETURN(bool row, r.Step());
  if (!row) return absl::InternalError("delivery vanished");
  return ReadDelivery(r);
}

namespace {

absl::StatusOr<std::vector<std::string>> Ids(store::Statement& q) {
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(q.ColumnText(0));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>>
NotificationStore::PendingStreamDeliveries(store::Tx& tx,
                                           const AgencyId& agency,
                                           int64_t after, int64_t up_to) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT delivery_id FROM deliveries WHERE transport = ? AND "
                 "agency_id = ? AND sequence > ? AND sequence <= ? AND "
                 "status = 1 ORDER BY sequence"));
  q.Bind(1, int64_t{v1::TRANSPORT_GRPC_STREAM})
      .Bind(2, agency.value())
      .Bind(3, after)
      .Bind(4, up_to);
  return Ids(q);
}

absl::StatusOr<std::vector<std::string>>
NotificationStore::PublishedKafkaDeliveries(store::Tx& tx, int limit) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT d.delivery_id FROM deliveries AS d JOIN outbox AS o "
                 "ON o.event_id = d.partner_event_id WHERE d.transport = ? "
                 "AND d.status = 1 AND o.sent_at_ms IS NOT NULL ORDER BY "
                 "d.agency_id, d.sequence LIMIT ?"));
  q.Bind(1, int64_t{v1::TRANSPORT_KAFKA}).Bind(2, int64_t{limit});
  return Ids(q);
}

absl::StatusOr<std::vector<DeliveryRow>> NotificationStore::NextWebhooks(
    store::Tx& tx, const AgencyId& agency, int limit) const {
  // The head of each referral's queue: no earlier pending webhook of the
  // same agency and referral.
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          kDeliveryColumns,
          "AS d WHERE transport = 3 AND agency_id = ?1 AND status = 1 AND "
          "NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.transport = 3 "
          "AND e.status = 1 AND e.agency_id = ?1 AND e.partner_referral_id = "
          "d.partner_referral_id AND e.sequence < d.sequence) ORDER BY "
          "COALESCE(next_attempt_ms, 0), sequence LIMIT ?2")));
  q.Bind(1, agency.value()).Bind(2, int64_t{limit});
  std::vector<DeliveryRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadDeliveryRow(q));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Delivery>>
NotificationStore::RefuseLapsedConsent(store::Tx& tx,
                                       const AgencyId& agency) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          kDeliveryColumns,
          "WHERE transport = 3 AND status = 1 AND agency_id = ? AND ",
          kConsentLapsed)));
  q.Bind(1, agency.value());
  std::vector<v1::Delivery> lapsed;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    lapsed.push_back(ReadDelivery(q));
  }
  for (v1::Delivery& d : lapsed) {
    ASSIGN_OR_RETURN(
        store::Statement u,
        tx.Prepare("UPDATE deliveries SET status = 3, refusal_rule = "
                   "'SHARE-CONSENT-LAPSED', next_attempt_ms = NULL WHERE "
                   "delivery_id = ?"));
    u.Bind(1, d.delivery_id());
    RETURN_IF_ERROR(u.Run());
    d.set_status(v1::DELIVERY_STATUS_REFUSED);
    d.set_refusal_rule("SHARE-CONSENT-LAPSED");
  }
  return lapsed;
}

absl::Status NotificationStore::RecordWebhookFailure(
    store::Tx& tx, const std::string& delivery_id, int attempts,
    absl::Time first_attempt, absl::Time next_attempt,
    absl::string_view error) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE deliveries SET attempts = ?, first_attempt_ms = ?, "
                 "next_attempt_ms = ?, last_error = ? WHERE delivery_id = ? "
                 "AND status = 1"));
  q.Bind(1, int64_t{attempts})
      .Bind(2, absl::ToUnixMillis(first_attempt))
      .Bind(3, absl::ToUnixMillis(next_attempt))
      .Bind(4, error.substr(0, 200))
      .Bind(5, delivery_id);
  return q.Run();
}

absl::StatusOr<v1::Delivery> NotificationStore::DeadLetter(
    store::Tx& tx, const std::string& delivery_id, absl::Time now) const {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("UPDATE deliveries SET status = ?, next_attempt_ms = NULL "
                 "WHERE delivery_id = ? AND status = 1"));
  q.Bind(1, int64_t{v1::DELIVERY_STATUS_DEAD_LETTERED}).Bind(2, delivery_id);
  RETURN_IF_ERROR(q.Run());
  (void)now;
  if (tx.Changes() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("delivery ", delivery_id, " is no longer pending"));
  }
  ASSIGN_OR_RETURN(
      store::Statement r,
      tx.Prepare(absl::StrCat(kDeliveryColumns, "WHERE delivery_id = ?")));
  r.Bind(1, delivery_id);
  ASSIGN_OR_RETURN(bool row, r.Step());
  if (!row) return absl::InternalError("delivery vanished");
  return ReadDelivery(r);
}

absl::StatusOr<int> NotificationStore::Requeue(store::Tx& tx,
                                               const ReplayFilter& f,
                                               absl::Time now) const {
  std::string sql =
      "SELECT delivery_id, transport, partner_event_id FROM deliveries WHERE "
      "agency_id = ?1 AND transport IN (?2, ?3) AND status IN (?4, ?5) AND "
      // Consent withdrawn since: not sent again (stop notices are).
      "NOT (" +
      std::string(kConsentLapsed) +
      ") AND "
      // (?6 = '' OR ...) would keep SQLite from the referral indexes.
      + std::string(f.referral_id.has_value()
                        ? "(referral_id = ?6 OR partner_referral_id = ?6) AND "
                        : "") +
      "decided_at_ms >= ?7 AND "
      "decided_at_ms < ?8 ORDER BY sequence";
  ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(sql));
  const bool kafka = f.transport == v1::TRANSPORT_UNSPECIFIED ||
                     f.transport == v1::TRANSPORT_KAFKA;
  const bool webhook = f.transport == v1::TRANSPORT_UNSPECIFIED ||
                       f.transport == v1::TRANSPORT_WEBHOOK;
  q.Bind(1, f.agency.value())
      .Bind(2, int64_t{kafka ? v1::TRANSPORT_KAFKA : -1})
      .Bind(3, int64_t{webhook ? v1::TRANSPORT_WEBHOOK : -1})
      .Bind(4, int64_t{v1::DELIVERY_STATUS_DEAD_LETTERED})
      .Bind(5, int64_t{f.include_delivered ? v1::DELIVERY_STATUS_DELIVERED
                                           : v1::DELIVERY_STATUS_DEAD_LETTERED})
      .Bind(6, f.referral_id.has_value() ? f.referral_id->value() : "")
      .Bind(7, f.since.has_value() ? absl::ToUnixMillis(*f.since)
                                   : std::numeric_limits<int64_t>::min())
      .Bind(8, f.until.has_value() ? absl::ToUnixMillis(*f.until)
                                   : std::numeric_limits<int64_t>::max());
  std::vector<std::tuple<std::string, int64_t, std::string>> chosen;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    chosen.emplace_back(q.ColumnText(0), q.ColumnInt(1), q.ColumnText(2));
  }
  for (const auto& [delivery_id, transport, partner_event_id] : chosen) {
    ASSIGN_OR_RETURN(
        store::Statement u,
        tx.Prepare("UPDATE deliveries SET status = 1, accepted_at_ms = NULL, "
                   "attempts = 0, first_attempt_ms = ?1, next_attempt_ms = "
                   "?1, last_error = '' WHERE delivery_id = ?2"));
    u.Bind(1, absl::ToUnixMillis(now)).Bind(2, delivery_id);
    RETURN_IF_ERROR(u.Run());
    if (transport == v1::TRANSPORT_KAFKA) {
      RETURN_IF_ERROR(store::RequeueOutboxEvent(tx, partner_event_id));
    }
  }
  return static_cast<int>(chosen.size());
}

absl::StatusOr<paging::Page<v1::Delivery>> NotificationStore::ListDeliveries(
    store::Tx& tx, const DeliveryFilter& f,
    const paging::PageRequest& page) const {
  const bool by_referral = f.referral_id.has_value();
  // Only the filters given are in the statement: a condition such as
  // (?1 = '' OR referral_id = ?1) keeps SQLite from using the referral
  // indexes, and every call would read the whole table.
  std::vector<std::string> where = {"decided_at_ms >= ?5",
                                    "decided_at_ms < ?6"};
  if (by_referral) {
    where.push_back("(referral_id = ?1 OR partner_referral_id = ?1)");
  }
  if (f.agency.has_value()) where.push_back("agency_id = ?2");
  if (f.status != v1::DELIVERY_STATUS_UNSPECIFIED) {
    where.push_back("status = ?3");
  }
  if (f.transport != v1::TRANSPORT_UNSPECIFIED) {
    where.push_back("transport = ?4");
  }
  if (f.hide_refused) where.push_back("status != ?11");
  if (page.after) {
    where.push_back(by_referral
                        ? "(decided_at_ms, agency_id, rowid) > (?7, ?8, ?9)"
                        : "(decided_at_ms < ?7 OR (decided_at_ms = ?7 AND "
                          "delivery_id > ?8))");
  }
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare(absl::StrCat(
          kDeliveryColumns, "WHERE ", absl::StrJoin(where, " AND "),
          by_referral ? " ORDER BY decided_at_ms, agency_id, rowid"
                      : " ORDER BY decided_at_ms DESC, delivery_id",
          " LIMIT ?10")));
  q.Bind(1, by_referral ? f.referral_id->value() : "")
      .Bind(2, f.agency.has_value() ? f.agency->value() : "")
      .Bind(3, int64_t{f.status})
      .Bind(4, int64_t{f.transport})
      .Bind(5, f.since.has_value() ? absl::ToUnixMillis(*f.since)
                                   : std::numeric_limits<int64_t>::min())
      .Bind(6, f.until.has_value() ? absl::ToUnixMillis(*f.until)
                                   : std::numeric_limits<int64_t>::max());
  if (page.after) {
    q.Bind(7, page.after->Int(0));
    if (by_referral) {
      q.Bind(8, page.after->Text(1)).Bind(9, page.after->Int(2));
    } else {
      q.Bind(8, page.after->Text(1)).Bind(9, int64_t{0});
    }
  } else {
    q.Bind(7, int64_t{0}).Bind(8, "").Bind(9, int64_t{0});
  }
  q.Bind(10, page.limit());
  q.Bind(11, int64_t{v1::DELIVERY_STATUS_REFUSED});
  return paging::ReadPage(page, q, [by_referral](const store::Statement& row) {
    v1::Delivery d = ReadDelivery(row);
    paging::Cursor key =
        by_referral ? paging::Cursor(
                          {row.ColumnInt(6), d.agency_id(), row.ColumnInt(7)})
                    : paging::Cursor({row.ColumnInt(6), d.delivery_id()});
    return paging::Keyed<v1::Delivery>{std::move(d), std::move(key)};
  });
}

absl::StatusOr<std::vector<metrics::Sample>> NotificationStore::DeliveryCounts(
    store::Tx& tx) {
  ASSIGN_OR_RETURN(store::Statement q,
                   tx.Prepare("SELECT transport, status, COUNT(*) FROM "
                              "deliveries GROUP BY transport, status"));
  std::vector<metrics::Sample> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(
        {{{"transport",
           v1::Transport_Name(static_cast<v1::Transport>(q.ColumnInt(0)))},
          {"status", v1::DeliveryStatus_Name(
                         static_cast<v1::DeliveryStatus>(q.ColumnInt(1)))}},
         static_cast<double>(q.ColumnInt(2))});
  }
  return out;
}

}  // namespace signpost::notification
