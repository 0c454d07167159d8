#include "services/triage/triage_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/grpc/status.h"
#include "common/store/outbox.h"

namespace signpost::triage {
namespace {

std::string Short(const std::string& name, absl::string_view prefix) {
  absl::string_view v(name);
  absl::ConsumePrefix(&v, prefix);
  return std::string(v);
}

absl::StatusOr<VictimHistory> LoadHistory(store::Tx& tx,
                                          const v1::ReferralFacts& facts,
                                          const std::string& referral_id) {
  VictimHistory history;
  if (facts.victim_ref().empty()) return history;
  absl::StatusOr<store::Statement> q = tx.Prepare(
      "SELECT MAX(incident_time_ms) FROM victim_history WHERE victim_ref = ? "
      "AND marac = 1 "
      "AND referral_id != ? AND incident_time_ms <= ?");
  if (!q.ok()) return q.status();
  q->Bind(1, facts.victim_ref())
      .Bind(2, referral_id)
      .Bind(3, absl::ToUnixMillis(IncidentTime(facts)));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (*row && !q->ColumnIsNull(0)) {
    history.last_marac_referral = absl::FromUnixMillis(q->ColumnInt(0));
  }
  absl::StatusOr<store::Statement> c = tx.Prepare(
      "SELECT COUNT(*) FROM victim_history WHERE victim_ref = ? AND "
      "referral_id != ? AND "
      "domestic_abuse = 1 AND incident_time_ms <= ? AND incident_time_ms > ?");
  if (!c.ok()) return c.status();
  int64_t incident_ms = absl::ToUnixMillis(IncidentTime(facts));
  c->Bind(1, facts.victim_ref())
      .Bind(2, referral_id)
      .Bind(3, incident_ms)
      .Bind(4, incident_ms - int64_t{365} * 86400000);
  absl::StatusOr<bool> counted = c->Step();
  if (!counted.ok()) return counted.status();
  history.earlier_da_referrals_12_months = static_cast<int>(c->ColumnInt(0));
  return history;
}

struct ReferralState {
  v1::ReferralFacts facts;
  RiskOverride override_risk;
  v1::ReferralTriaged latest;
  int version = 0;
};

absl::StatusOr<std::optional<ReferralState>> LoadState(
    store::Tx& tx, const std::string& referral_id) {
  absl::StatusOr<store::Statement> q = tx.Prepare(
      "SELECT f.facts, f.override_risk, f.override_practitioner, d.decision, "
      "d.version "
      "FROM referral_facts f JOIN decisions d ON d.referral_id = f.referral_id "
      "WHERE f.referral_id = ? ORDER BY d.version DESC LIMIT 1");
  if (!q.ok()) return q.status();
  q->Bind(1, referral_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ReferralState>();
  ReferralState s;
  if (!s.facts.ParseFromString(q->ColumnBlob(0)) ||
      !s.latest.ParseFromString(q->ColumnBlob(3))) {
    return absl::DataLossError("stored triage state does not parse");
  }
  s.override_risk.risk = static_cast<v1::RiskLevel>(q->ColumnInt(1));
  s.override_risk.practitioner_id = q->ColumnText(2);
  s.version = static_cast<int>(q->ColumnInt(4));
  return std::optional<ReferralState>(std::move(s));
}

// Writes one decision version and the victim history row.
absl::Status RecordDecision(store::Tx& tx, const std::string& referral_id,
                            const v1::ReferralFacts& facts,
                            const v1::ReferralTriaged& d,
                            const std::string& cause,
                            const std::string& practitioner,
                            const std::string& reason,
                            const std::string& cause_event_id, int64_t now_ms) {
  absl::StatusOr<store::Statement> insert = tx.Prepare(
      "INSERT INTO decisions (referral_id, version, decision, policy_version, "
      "area_code, "
      "marac, decided_at_ms, cause_event_id, cause, practitioner_id, "
      "override_reason) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (!insert.ok()) return insert.status();
  insert->Bind(1, referral_id)
      .Bind(2, static_cast<int64_t>(d.version()))
      .BindBlob(3, d.SerializeAsString())
      .Bind(4, d.policy_version())
      .Bind(5, d.area_code())
      .Bind(6, static_cast<int64_t>(d.marac()))
      .Bind(7, now_ms)
      .Bind(8, cause_event_id)
      .Bind(9, cause)
      .Bind(10, practitioner)
      .Bind(11, reason);
  if (absl::Status s = insert->Run(); !s.ok()) return s;
  if (facts.victim_ref().empty()) return absl::OkStatus();
  absl::StatusOr<store::Statement> h = tx.Prepare(
      "INSERT OR REPLACE INTO victim_history (victim_ref, referral_id, "
      "incident_time_ms, "
      "marac, domestic_abuse) VALUES (?,?,?,?,?)");
  if (!h.ok()) return h.status();
  bool da = std::find(facts.harm_types().begin(), facts.harm_types().end(),
                      v1::HARM_TYPE_DOMESTIC_ABUSE) != facts.harm_types().end();
  h->Bind(1, facts.victim_ref())
      .Bind(2, referral_id)
      .Bind(3, absl::ToUnixMillis(IncidentTime(facts)))
      .Bind(4, static_cast<int64_t>(d.marac()))
      .Bind(5, static_cast<int64_t>(da));
  return h->Run();
}

v1::DecisionVersion MakeVersion(const v1::ReferralTriaged& d, int64_t now_ms,
                                const std::string& cause,
                                const std::string& practitioner) {
  v1::DecisionVersion v;
  v.set_version(d.version());
  *v.mutable_decision() = d;
  v.mutable_decided_at()->set_seconds(now_ms / 1000);
  v.set_cause(cause);
  v.set_practitioner_id(practitioner);
  return v;
}

}  // namespace

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
)sql",
          R"sql(
CREATE TABLE referral_facts (
  referral_id TEXT PRIMARY KEY,
  facts BLOB NOT NULL,
  override_risk INTEGER NOT NULL DEFAULT 0,
  override_practitioner TEXT NOT NULL DEFAULT ''
);
ALTER TABLE decisions ADD COLUMN cause TEXT NOT NULL DEFAULT 'RECEIVED';
ALTER TABLE decisions ADD COLUMN practitioner_id TEXT NOT NULL DEFAULT '';
-- Free text from the practitioner: kept here only, never on the event log.
ALTER TABLE decisions ADD COLUMN override_reason TEXT NOT NULL DEFAULT '';
)sql",
          R"sql(
ALTER TABLE victim_history ADD COLUMN domestic_abuse INTEGER NOT NULL DEFAULT 1;
CREATE INDEX victim_history_time ON victim_history(victim_ref, incident_time_ms);
)sql"};
}

absl::StatusOr<std::optional<v1::ReferralTriaged>> TriageStore::TriageReceived(
    const Policy& policy, const events::IncomingEvent& event) {
  std::optional<v1::ReferralTriaged> result;
  const v1::ReferralFacts& facts = event.envelope.referral_received().facts();
  const std::string& referral_id = event.envelope.referral_id();
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<bool> claimed = store::ClaimInbox(tx, event.envelope);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) return absl::OkStatus();
    absl::StatusOr<VictimHistory> history = LoadHistory(tx, facts, referral_id);
    if (!history.ok()) return history.status();
    v1::ReferralTriaged decision = Decide(policy, facts, *history);
    decision.set_version(1);
    absl::StatusOr<store::Statement> f = tx.Prepare(
        "INSERT OR REPLACE INTO referral_facts (referral_id, facts) VALUES "
        "(?,?)");
    if (!f.ok()) return f.status();
    f->Bind(1, referral_id).BindBlob(2, facts.SerializeAsString());
    if (absl::Status s = f->Run(); !s.ok()) return s;
    if (absl::Status s = RecordDecision(
            tx, referral_id, facts, decision, "RECEIVED", "", "",
            event.envelope.event_id(), absl::ToUnixMillis(absl::Now()));
        !s.ok()) {
      return s;
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

absl::StatusOr<v1::DecisionVersion> TriageStore::Reassess(
    const Policy& policy, const v1::ReassessRequest& request,
    const std::string& traceparent) {
  v1::DecisionVersion result;
  const std::string& referral_id = request.referral_id();
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<std::optional<ReferralState>> state =
        LoadState(tx, referral_id);
    if (!state.ok()) return state.status();
    if (!state->has_value()) {
      return absl::NotFoundError(
          absl::StrCat("no decision for referral ", referral_id));
    }
    ReferralState& s = **state;
    *s.facts.mutable_assessment() = request.assessment();
    if (request.has_new_incident_time()) {
      *s.facts.mutable_latest_incident_time() = request.new_incident_time();
    }
    absl::StatusOr<VictimHistory> history =
        LoadHistory(tx, s.facts, referral_id);
    if (!history.ok()) return history.status();
    v1::ReferralTriaged decision =
        Decide(policy, s.facts, *history, &s.override_risk);
    decision.set_version(s.version + 1);
    absl::StatusOr<store::Statement> f =
        tx.Prepare("UPDATE referral_facts SET facts = ? WHERE referral_id = ?");
    if (!f.ok()) return f.status();
    f->BindBlob(1, s.facts.SerializeAsString()).Bind(2, referral_id);
    if (absl::Status st = f->Run(); !st.ok()) return st;
    int64_t now_ms = absl::ToUnixMillis(absl::Now());
    if (absl::Status st =
            RecordDecision(tx, referral_id, s.facts, decision, "REASSESSMENT",
                           request.practitioner_id(), "", "", now_ms);
        !st.ok()) {
      return st;
    }
    v1::EventEnvelope out = events::NewEnvelope("triage", referral_id);
    auto* r = out.mutable_referral_reassessed();
    *r->mutable_decision() = decision;
    r->set_previous_risk(s.latest.risk());
    r->set_previous_marac(s.latest.marac());
    r->set_cause("REASSESSMENT");
    events::StampType(&out);
    if (absl::Status st =
            store::AppendToOutbox(tx, out, events::kTriageTopic, traceparent);
        !st.ok()) {
      return st;
    }
    result = MakeVersion(decision, now_ms, "REASSESSMENT",
                         request.practitioner_id());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::DecisionVersion> TriageStore::OverrideRisk(
    const Policy& policy, const v1::OverrideRiskRequest& request,
    const std::string& traceparent) {
  v1::DecisionVersion result;
  const std::string& referral_id = request.referral_id();
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<std::optional<ReferralState>> state =
        LoadState(tx, referral_id);
    if (!state.ok()) return state.status();
    if (!state->has_value()) {
      return absl::NotFoundError(
          absl::StrCat("no decision for referral ", referral_id));
    }
    ReferralState& s = **state;
    if (request.risk() < s.latest.risk()) {
      std::string because;
      for (const auto& r : s.latest.reasons()) {
        if (absl::StartsWith(r.rule_id(), "DASH") ||
            absl::StartsWith(r.rule_id(), "PJ") ||
            absl::StartsWith(r.rule_id(), "MARAC") ||
            absl::StartsWith(r.rule_id(), "STALK")) {
          because = absl::StrCat(" (", r.rule_id(), ": ", r.reason(), ")");
          break;
        }
      }
      return grpcutil::RuleViolation(
          "PJ-RAISE", "risk",
          absl::StrCat(
              "professional judgement only raises risk; the current risk is ",
              Short(v1::RiskLevel_Name(s.latest.risk()), "RISK_LEVEL_"),
              because, " and cannot be lowered to ",
              Short(v1::RiskLevel_Name(request.risk()), "RISK_LEVEL_")));
    }
    RiskOverride over{std::max(request.risk(), s.override_risk.risk),
                      request.practitioner_id()};
    absl::StatusOr<VictimHistory> history =
        LoadHistory(tx, s.facts, referral_id);
    if (!history.ok()) return history.status();
    v1::ReferralTriaged decision = Decide(policy, s.facts, *history, &over);
    decision.set_version(s.version + 1);
    absl::StatusOr<store::Statement> f = tx.Prepare(
        "UPDATE referral_facts SET override_risk = ?, override_practitioner = "
        "? "
        "WHERE referral_id = ?");
    if (!f.ok()) return f.status();
    f->Bind(1, static_cast<int64_t>(over.risk))
        .Bind(2, over.practitioner_id)
        .Bind(3, referral_id);
    if (absl::Status st = f->Run(); !st.ok()) return st;
    int64_t now_ms = absl::ToUnixMillis(absl::Now());
    if (absl::Status st = RecordDecision(tx, referral_id, s.facts, decision,
                                         "OVERRIDE", request.practitioner_id(),
                                         request.reason(), "", now_ms);
        !st.ok()) {
      return st;
    }
    v1::EventEnvelope audit = events::NewEnvelope("triage", referral_id);
    auto* o = audit.mutable_risk_overridden();
    o->set_practitioner_id(request.practitioner_id());
    o->set_from_risk(s.latest.risk());
    o->set_to_risk(decision.risk());
    o->set_decision_version(decision.version());
    events::StampType(&audit);
    v1::EventEnvelope out = events::NewEnvelope("triage", referral_id, &audit);
    auto* r = out.mutable_referral_reassessed();
    *r->mutable_decision() = decision;
    r->set_previous_risk(s.latest.risk());
    r->set_previous_marac(s.latest.marac());
    r->set_cause("OVERRIDE");
    events::StampType(&out);
    for (const v1::EventEnvelope* e : {&audit, &out}) {
      if (absl::Status st =
              store::AppendToOutbox(tx, *e, events::kTriageTopic, traceparent);
          !st.ok()) {
        return st;
      }
    }
    result =
        MakeVersion(decision, now_ms, "OVERRIDE", request.practitioner_id());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<v1::GetDecisionResponse> TriageStore::GetDecision(
    const std::string& referral_id) {
  v1::GetDecisionResponse response;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        "SELECT decision, decided_at_ms, cause, practitioner_id FROM decisions "
        "WHERE referral_id = ? ORDER BY version");
    if (!q.ok()) return q.status();
    q->Bind(1, referral_id);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::DecisionVersion* v = response.add_history();
      if (!v->mutable_decision()->ParseFromString(q->ColumnBlob(0))) {
        return absl::DataLossError("stored decision does not parse");
      }
      v->set_version(v->decision().version());
      v->mutable_decided_at()->set_seconds(q->ColumnInt(1) / 1000);
      v->set_cause(q->ColumnText(2));
      v->set_practitioner_id(q->ColumnText(3));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (response.history_size() == 0) {
    return absl::NotFoundError(
        absl::StrCat("no decision for referral ", referral_id));
  }
  const v1::DecisionVersion& latest =
      response.history(response.history_size() - 1);
  response.set_referral_id(referral_id);
  *response.mutable_decision() = latest.decision();
  *response.mutable_decided_at() = latest.decided_at();
  return response;
}

absl::StatusOr<v1::ListMaracAgendaResponse> TriageStore::ListMaracAgenda(
    const std::string& area_code) {
  v1::ListMaracAgendaResponse response;
  absl::Status status = db_.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q = tx.Prepare(
        "SELECT d.referral_id, d.decision, d.decided_at_ms FROM decisions d "
        "JOIN (SELECT referral_id, MAX(version) AS v FROM decisions GROUP BY "
        "referral_id) m "
        "ON m.referral_id = d.referral_id AND m.v = d.version "
        "WHERE d.area_code = ? AND d.marac = 1 ORDER BY d.decided_at_ms, "
        "d.referral_id");
    if (!q.ok()) return q.status();
    q->Bind(1, area_code);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::ReferralTriaged d;
      if (!d.ParseFromString(q->ColumnBlob(1))) {
        return absl::DataLossError("stored decision does not parse");
      }
      v1::MaracAgendaItem* item = response.add_items();
      item->set_referral_id(q->ColumnText(0));
      item->set_risk(d.risk());
      item->set_dash_score(d.dash_score());
      item->set_repeat_marac(d.repeat_marac());
      item->set_legal_basis(d.legal_basis());
      item->mutable_decided_at()->set_seconds(q->ColumnInt(2) / 1000);
      for (const auto& r : d.reasons()) {
        if (absl::StartsWith(r.rule_id(), "MARAC-")) *item->add_reasons() = r;
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace signpost::triage
