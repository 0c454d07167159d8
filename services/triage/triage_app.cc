#include "services/triage/triage_app.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/triage/rules.h"

namespace signpost::triage {
namespace {

// Stamps `envelope` with the decision's time (so the event, the stored row
// and GetDecision agree exactly) and its type, and appends it to the outbox.
absl::Status Emit(store::Tx& tx, v1::EventEnvelope& envelope,
                  absl::Time decided_at, const std::string& traceparent) {
  *envelope.mutable_occurred_at() = timeutil::ToTimestamp(decided_at);
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kTriageTopic, traceparent);
}

v1::DecisionVersion VersionOf(const DecisionRecord& record) {
  v1::DecisionVersion v;
  v.set_version(record.decision.version());
  *v.mutable_decision() = record.decision;
  *v.mutable_decided_at() = timeutil::ToTimestamp(record.decided_at);
  v.set_cause(record.cause);
  v.set_practitioner_id(record.practitioner_id);
  v.set_practitioner_agency(record.practitioner_agency);
  return v;
}

v1::MaracAgendaItem AgendaItemOf(const LatestDecision& latest) {
  const v1::ReferralTriaged& d = latest.decision;
  v1::MaracAgendaItem item;
  item.set_referral_id(latest.referral_id.value());
  item.set_risk(d.risk());
  item.set_dash_score(d.dash_score());
  item.set_repeat_marac(d.repeat_marac());
  item.set_legal_basis(d.legal_basis());
  *item.mutable_decided_at() = timeutil::ToTimestamp(latest.decided_at);
  for (const auto& r : d.reasons()) {
    if (absl::StartsWith(r.rule_id(), "MARAC-")) *item.add_reasons() = r;
  }
  return item;
}

// Who may act on a referral's decision, per use case (the authorisation
// table's object rules for TriageService).
const access::ReferralRule& ReadRule() {
  static const auto* rule = new access::ReferralRule{
      true,
      {v1::ROLE_MARAC_COORDINATOR, v1::ROLE_POLICE_ORDERS},
      {v1::ROLE_OPERATOR, v1::ROLE_AUDITOR}};
  return *rule;
}
const access::ReferralRule& ReassessRule() {
  static const auto* rule =
      new access::ReferralRule{true, {}, {v1::ROLE_OPERATOR}};
  return *rule;
}
const access::ReferralRule& OverrideRule() {
  static const auto* rule =
      new access::ReferralRule{true, {v1::ROLE_MARAC_COORDINATOR}, {}};
  return *rule;
}

std::optional<access::ReferralScope> ScopeOf(
    const std::optional<ReferralRecord>& referral) {
  if (!referral.has_value()) return std::nullopt;
  return access::ReferralScope{AgencyId(referral->facts.referrer_org()),
                               referral->facts.area_code()};
}

}  // namespace

absl::StatusOr<v1::ReferralTriaged> TriageApp::TriageReceived(
    store::Tx& tx, const v1::EventEnvelope& received,
    const std::string& traceparent) {
  const ReferralId referral_id(received.referral_id());
  const v1::ReferralFacts& facts = received.referral_received().facts();
  ASSIGN_OR_RETURN(VictimHistory history,
                   store_.LoadVictimHistory(tx, referral_id, facts));
  DecisionRecord record{
      Decide(*policy_, facts, history), timeutil::NowMillis(), kCauseReceived,
      /*practitioner_id=*/"",
      /*override_reason=*/"",           received.event_id(),
      /*practitioner_agency=*/""};
  record.decision.set_version(1);
  RETURN_IF_ERROR(store_.InsertFacts(tx, referral_id, facts));
  RETURN_IF_ERROR(store_.InsertDecision(tx, referral_id, record));
  RETURN_IF_ERROR(store_.RecordVictimReferral(tx, referral_id, facts,
                                              record.decision.marac()));
  v1::EventEnvelope out =
      events::NewEnvelope("triage", referral_id.value(), &received);
  *out.mutable_referral_triaged() = record.decision;
  RETURN_IF_ERROR(Emit(tx, out, record.decided_at, traceparent));
  return std::move(record.decision);
}

absl::StatusOr<v1::DecisionVersion> TriageApp::Reassess(
    const access::Principal& caller, const Reassessment& r,
    const std::string& traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::DecisionVersion> {
    ASSIGN_OR_RETURN(ReferralRecord referral,
                     LoadReferral(tx, caller, ReassessRule(), r.referral_id));
    *referral.facts.mutable_assessment() = r.assessment;
    if (r.new_incident_time.has_value()) {
      *referral.facts.mutable_latest_incident_time() = *r.new_incident_time;
    }
    ASSIGN_OR_RETURN(
        v1::ReferralTriaged decision,
        DecideNextVersion(tx, r.referral_id, referral, referral.override_risk));
    RETURN_IF_ERROR(store_.UpdateFacts(tx, r.referral_id, referral.facts));
    DecisionRecord record{std::move(decision),       timeutil::NowMillis(),
                          kCauseReassessment,        r.practitioner_id,
                          /*override_reason=*/"",    /*cause_event_id=*/"",
                          caller.agency_id().value()};
    return RecordNewVersion(tx, r.referral_id, referral, record,
                            /*audit=*/nullptr, traceparent);
  });
}

absl::StatusOr<v1::DecisionVersion> TriageApp::OverrideRisk(
    const access::Principal& caller, const RiskJudgement& j,
    const std::string& traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::DecisionVersion> {
    ASSIGN_OR_RETURN(ReferralRecord referral,
                     LoadReferral(tx, caller, OverrideRule(), j.referral_id));
    ASSIGN_OR_RETURN(RiskOverride over,
                     ApplyOverride(referral.latest, referral.override_risk,
                                   j.risk, j.practitioner_id));
    ASSIGN_OR_RETURN(v1::ReferralTriaged decision,
                     DecideNextVersion(tx, j.referral_id, referral, over));
    RETURN_IF_ERROR(store_.UpdateOverride(tx, j.referral_id, over));
    DecisionRecord record{std::move(decision),
                          timeutil::NowMillis(),
                          kCauseOverride,
                          j.practitioner_id,
                          j.reason,
                          /*cause_event_id=*/"",
                          caller.agency_id().value()};
    v1::EventEnvelope audit =
        events::NewEnvelope("triage", j.referral_id.value());
    v1::RiskOverridden* o = audit.mutable_risk_overridden();
    o->set_practitioner_id(j.practitioner_id);
    o->set_practitioner_agency(caller.agency_id().value());
    o->set_from_risk(referral.latest.risk());
    o->set_to_risk(record.decision.risk());
    o->set_decision_version(record.decision.version());
    return RecordNewVersion(tx, j.referral_id, referral, record, &audit,
                            traceparent);
  });
}

absl::StatusOr<std::vector<v1::DecisionVersion>> TriageApp::GetDecision(
    const access::Principal& caller, const ReferralId& referral_id) {
  return db_.Read(
      [&](store::Tx& tx) -> absl::StatusOr<std::vector<v1::DecisionVersion>> {
        RETURN_IF_ERROR(
            LoadReferral(tx, caller, ReadRule(), referral_id).status());
        return store_.ListDecisionVersions(tx, referral_id);
      });
}

absl::StatusOr<paging::Page<v1::MaracAgendaItem>> TriageApp::ListMaracAgenda(
    const access::Principal& caller, const std::string& area_code,
    const paging::PageRequest& page) {
  if (!caller.Has(v1::ROLE_OPERATOR)) {
    RETURN_IF_ERROR(access::RequireArea(caller, area_code, area_code));
  }
  ASSIGN_OR_RETURN(
      paging::Page<LatestDecision> latest, db_.Read([&](store::Tx& tx) {
        return store_.ListLatestMaracDecisions(tx, area_code, page);
      }));
  paging::Page<v1::MaracAgendaItem> items;
  items.items.reserve(latest.items.size());
  for (const LatestDecision& d : latest.items) {
    items.items.push_back(AgendaItemOf(d));
  }
  items.next = std::move(latest.next);
  return items;
}

absl::StatusOr<ReferralRecord> TriageApp::LoadReferral(
    store::Tx& tx, const access::Principal& caller,
    const access::ReferralRule& rule, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(std::optional<ReferralRecord> referral,
                   store_.FindReferral(tx, referral_id));
  RETURN_IF_ERROR(access::RequireReferralAccess(caller, ScopeOf(referral), rule,
                                                referral_id.value()));
  return std::move(*referral);
}

absl::StatusOr<v1::ReferralTriaged> TriageApp::DecideNextVersion(
    store::Tx& tx, const ReferralId& referral_id,
    const ReferralRecord& referral, const RiskOverride& override_risk) {
  ASSIGN_OR_RETURN(VictimHistory history,
                   store_.LoadVictimHistory(tx, referral_id, referral.facts));
  v1::ReferralTriaged decision =
      Decide(*policy_, referral.facts, history, &override_risk);
  decision.set_version(referral.latest.version() + 1);
  return decision;
}

absl::StatusOr<v1::DecisionVersion> TriageApp::RecordNewVersion(
    store::Tx& tx, const ReferralId& referral_id,
    const ReferralRecord& referral, const DecisionRecord& record,
    v1::EventEnvelope* audit, const std::string& traceparent) {
  RETURN_IF_ERROR(store_.InsertDecision(tx, referral_id, record));
  RETURN_IF_ERROR(store_.RecordVictimReferral(tx, referral_id, referral.facts,
                                              record.decision.marac()));
  if (audit != nullptr) {
    RETURN_IF_ERROR(Emit(tx, *audit, record.decided_at, traceparent));
  }
  v1::EventEnvelope out =
      events::NewEnvelope("triage", referral_id.value(), audit);
  v1::ReferralReassessed* r = out.mutable_referral_reassessed();
  *r->mutable_decision() = record.decision;
  r->set_previous_risk(referral.latest.risk());
  r->set_previous_marac(referral.latest.marac());
  r->set_cause(record.cause);
  RETURN_IF_ERROR(Emit(tx, out, record.decided_at, traceparent));
  return VersionOf(record);
}

}  // namespace signpost::triage
