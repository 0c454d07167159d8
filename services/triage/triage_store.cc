#include "services/triage/triage_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/store/outbox.h"

namespace signpost::triage {

std::vector<std::string> TriageStore::Migrations() {
  return {R"sql(
CREATE TABLE decisions (
  referral_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  decision BLOB NOT NULL,
  policy_version TEXT NOT NULL,
  area_code TEXT NOT NULL,
  marac INTEGER NOT NULL,
  decided_at_ms INTEGER NOT NULL,
  cause_event_id TEXT NOT NULL,
  PRIMARY KEY (referral_id, version)
);
CREATE INDEX decisions_area_marac ON decisions(area_code, marac);
CREATE TABLE victim_history (
  victim_ref TEXT NOT NULL,
  referral_id TEXT NOT NULL,
  incident_time_ms INTEGER NOT NULL,
  marac INTEGER NOT NULL,
  PRIMARY KEY (victim_ref, referral_id)
);
)sql"};
}

absl::StatusOr<std::optional<v1::ReferralTriaged>> TriageStore::TriageReceived(
    const TriagePolicy& policy, const events::IncomingEvent& event) {
  std::optional<v1::ReferralTriaged> result;
  const v1::ReferralFacts& facts = event.envelope.referral_received().facts();
  const std::string& referral_id = event.envelope.referral_id();
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();

    absl::Time incident = IncidentTime(facts);
    VictimHistory history;
    if (!facts.victim_ref().empty()) {
      absl::StatusOr<store::Statement> q = tx.Prepare(
          "SELECT MAX(incident_time_ms) FROM victim_history WHERE victim_ref = "
          "? "
          "AND marac = 1 AND referral_id != ? AND incident_time_ms <= ?");
      if (!q.ok()) return q.status();
      q->Bind(1, facts.victim_ref())
          .Bind(2, referral_id)
          .Bind(3, absl::ToUnixMillis(incident));
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (*row && !q->ColumnIsNull(0)) {
        history.last_marac_referral = absl::FromUnixMillis(q->ColumnInt(0));
      }
    }
    v1::ReferralTriaged decision = Decide(policy, facts, history);

    absl::StatusOr<store::Statement> insert = tx.Prepare(
        "INSERT INTO decisions (referral_id, version, decision, "
        "policy_version, "
        "area_code, marac, decided_at_ms, cause_event_id) VALUES "
        "(?, (SELECT COALESCE(MAX(version),0)+1 FROM decisions WHERE "
        "referral_id=?),"
        " ?,?,?,?,?,?)");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, referral_id)
        .Bind(2, referral_id)
        .BindBlob(3, decision.SerializeAsString())
        .Bind(4, decision.policy_version())
        .Bind(5, decision.area_code())
        .Bind(6, static_cast<int64_t>(decision.marac()))
        .Bind(7, absl::ToUnixMillis(absl::Now()))
        .Bind(8, event.envelope.event_id());
    if (absl::Status s = insert->Run(); !s.ok()) return s;

    if (!facts.victim_ref().empty()) {
      absl::StatusOr<store::Statement> h = tx.Prepare(
          "INSERT OR REPLACE INTO victim_history (victim_ref, referral_id, "
          "incident_time_ms, marac) VALUES (?,?,?,?)");
      if (!h.ok()) return h.status();
      h->Bind(1, facts.victim_ref())
          .Bind(2, referral_id)
          .Bind(3, absl::ToUnixMillis(incident))
          .Bind(4, static_cast<int64_t>(decision.marac()));
      if (absl::Status s = h->Run(); !s.ok()) return s;
    }

    v1::EventEnvelope out =
        events::NewEnvelope("triage", referral_id, &event.envelope);
    *out.mutable_referral_triaged() = decision;
    events::StampType(&out);
    if (absl::Status s = store::AppendToOutbox(tx, out, events::kTriageTopic,
                                               event.traceparent);
        !s.ok()) {
      return s;
    }
    result = std::move(decision);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::GetDecisionResponse> TriageStore::GetDecision(
    const std::string& referral_id) {
  v1::GetDecisionResponse response;
  bool found = false;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        "SELECT decision, decided_at_ms FROM decisions WHERE referral_id = ? "
        "ORDER BY version DESC LIMIT 1");
    if (!q.ok()) return q.status();
    q->Bind(1, referral_id);
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    found = true;
    response.set_referral_id(referral_id);
    if (!response.mutable_decision()->ParseFromString(q->ColumnBlob(0))) {
      return absl::DataLossError("stored decision does not parse");
    }
    response.mutable_decided_at()->set_seconds(q->ColumnInt(1) / 1000);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("no decision for referral ", referral_id));
  }
  return response;
}

}  // namespace signpost::triage
