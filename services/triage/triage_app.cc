#include "services/triage/triage_app.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/triage/marac_app.h"
#include "services/triage/rules.h"

namespace signpost::triage {
namespace {

// A decision as a caller sees it: the victim's safe-contact rules and the
// preferred specialisms travel only to advocacy (on the event), never to
// an API caller.
v1::DecisionVersion ForCaller(v1::DecisionVersion v) {
  v.mutable_decision()->clear_contact_rules();
  v.mutable_decision()->clear_preferred_specialisms();
  return v;
}

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

// Who may read the override reasons (free text): as OverrideRisk, and
// Signpost's oversight.
const access::ReferralRule& ReasonRule() {
  static const auto* rule =
      new access::ReferralRule{true,
                               {v1::ROLE_MARAC_COORDINATOR},
                               {v1::ROLE_OPERATOR, v1::ROLE_AUDITOR}};
  return *rule;
}

std::optional<access::ReferralScope> ScopeOf(
    const std::optional<ReferralRecord>& referral) {
  if (!referral.has_value()) return std::nullopt;
  return access::ReferralScope{AgencyId(referral->facts.referrer_org()),
                               referral->facts.area_code()};
}

// The AAD row id of a version's override reason.
std::string ReasonRowId(const ReferralId& referral_id, int version) {
  return absl::StrCat(referral_id.value(), "/", version);
}

}  // namespace

std::string TriageApp::KeyOwner(const ReferralId& referral_id,
                                const v1::ReferralFacts& facts) {
  return facts.person_id().empty() ? referral_id.value() : facts.person_id();
}

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
      /*override_reason=*/{},           received.event_id(),
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
  RETURN_IF_ERROR(SyncMaracAgenda(tx, referral_id, record.decision,
                                  record.decided_at, &received, traceparent));
  return std::move(record.decision);
}

absl::StatusOr<Redecided> TriageApp::RedecideFromEvent(
    store::Tx& tx, const v1::EventEnvelope& event, const char* cause,
    bool unless_withdrawn,
    const std::function<void(v1::ReferralFacts&)>& change,
    const std::string& traceparent) {
  const ReferralId referral_id(event.referral_id());
  ASSIGN_OR_RETURN(std::optional<ReferralRecord> referral,
                   store_.FindReferral(tx, referral_id));
  if (!referral.has_value()) return Redecided{};
  if (unless_withdrawn &&
      referral->facts.withdrawn() != v1::WITHDRAWAL_REASON_UNSPECIFIED) {
    return Redecided{std::nullopt, /*already_withdrawn=*/true};
  }
  change(referral->facts);
  ASSIGN_OR_RETURN(
      v1::ReferralTriaged decision,
      DecideNextVersion(tx, referral_id, *referral, referral->override_risk));
  RETURN_IF_ERROR(store_.UpdateFacts(tx, referral_id, referral->facts));
  DecisionRecord record{std::move(decision),       timeutil::NowMillis(), cause,
                        /*practitioner_id=*/"",
                        /*override_reason=*/{},    event.event_id(),
                        /*practitioner_agency=*/""};
  ASSIGN_OR_RETURN(v1::DecisionVersion v,
                   RecordNewVersion(tx, referral_id, *referral, record,
                                    /*audit=*/nullptr, &event, traceparent));
  return Redecided{std::move(v)};
}

absl::StatusOr<Redecided> TriageApp::ConsentUpdated(
    store::Tx& tx, const v1::EventEnvelope& event,
    const std::string& traceparent) {
  // The event carries the consent as it now stands (not a delta), so a
  // redelivery or a reordering within the referral cannot mix two states.
  // A withdrawal is final: consent recorded after it changes nothing.
  const v1::Consent& consent = event.consent_updated().consent();
  return RedecideFromEvent(
      tx, event, kCauseConsent, /*unless_withdrawn=*/true,
      [&consent](v1::ReferralFacts& facts) {
        *facts.mutable_consent() = consent;
      },
      traceparent);
}

absl::StatusOr<Redecided> TriageApp::Withdrawn(store::Tx& tx,
                                               const v1::EventEnvelope& event,
                                               const std::string& traceparent) {
  v1::WithdrawalReason reason = event.referral_withdrawn().reason();
  // A withdrawal without a reason is still a withdrawal: the rules key on
  // "not UNSPECIFIED".
  if (reason == v1::WITHDRAWAL_REASON_UNSPECIFIED) {
    reason = v1::WITHDRAWAL_REASON_OTHER;
  }
  // A later withdrawal (an erasure after a cancellation) still decides: it
  // may take the referral out of MARAC.
  return RedecideFromEvent(
      tx, event, kCauseWithdrawn, /*unless_withdrawn=*/false,
      [reason](v1::ReferralFacts& facts) { facts.set_withdrawn(reason); },
      traceparent);
}

absl::StatusOr<ErasureResult> TriageApp::EraseVictim(
    store::Tx& tx, const v1::EventEnvelope& event,
    const std::string& traceparent) {
  const ReferralId referral_id(event.referral_id());
  const std::string& person_id = event.victim_erased().person_id();
  ErasureResult result;
  if (!person_id.empty()) {
    ASSIGN_OR_RETURN(result.key_destroyed, keys_->Destroy(tx, person_id));
    ASSIGN_OR_RETURN(result.history_deleted,
                     store_.DeleteVictimHistory(tx, person_id));
  }
  // Reasons sealed while the referral had no person used its own key.
  ASSIGN_OR_RETURN(bool own_key, keys_->Destroy(tx, referral_id.value()));
  result.key_destroyed = result.key_destroyed || own_key;
  ASSIGN_OR_RETURN(result.reasons_blanked,
                   store_.EraseReferralFreeText(tx, referral_id));
  // After the unlinking, so the new version carries no person.
  ASSIGN_OR_RETURN(std::optional<ReferralRecord> referral,
                   store_.FindReferral(tx, referral_id));
  if (referral.has_value() &&
      referral->facts.withdrawn() != v1::WITHDRAWAL_REASON_ERASED) {
    ASSIGN_OR_RETURN(Redecided v,
                     RedecideFromEvent(
                         tx, event, kCauseWithdrawn, /*unless_withdrawn=*/false,
                         [](v1::ReferralFacts& facts) {
                           facts.set_withdrawn(v1::WITHDRAWAL_REASON_ERASED);
                         },
                         traceparent));
    result.redecided = v.version.has_value();
  }
  return result;
}

absl::StatusOr<v1::DecisionVersion> TriageApp::Reassess(
    const access::Principal& caller, const Reassessment& r,
    const std::string& traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::DecisionVersion> {
    ASSIGN_OR_RETURN(ReferralRecord referral,
                     LoadReferral(tx, caller, ReassessRule(), r.referral_id));
    RETURN_IF_ERROR(RequireNotWithdrawn(referral.facts));
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
                          /*override_reason=*/{},    /*cause_event_id=*/"",
                          caller.agency_id().value()};
    ASSIGN_OR_RETURN(
        v1::DecisionVersion v,
        RecordNewVersion(tx, r.referral_id, referral, record,
                         /*audit=*/nullptr, /*cause=*/nullptr, traceparent));
    return ForCaller(std::move(v));
  });
}

absl::StatusOr<v1::DecisionVersion> TriageApp::OverrideRisk(
    const access::Principal& caller, const RiskJudgement& j,
    const std::string& traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::DecisionVersion> {
    ASSIGN_OR_RETURN(ReferralRecord referral,
                     LoadReferral(tx, caller, OverrideRule(), j.referral_id));
    // Before anything is sealed: an erased person's key is gone, and a
    // fresh one would never be destroyed.
    RETURN_IF_ERROR(RequireNotWithdrawn(referral.facts));
    ASSIGN_OR_RETURN(RiskOverride over,
                     ApplyOverride(referral.latest, referral.override_risk,
                                   j.risk, j.practitioner_id));
    ASSIGN_OR_RETURN(v1::ReferralTriaged decision,
                     DecideNextVersion(tx, j.referral_id, referral, over));
    RETURN_IF_ERROR(store_.UpdateOverride(tx, j.referral_id, over));
    // The reason is free text about the victim's situation: sealed with the
    // person's data key, so erasing the person shreds it.
    const int version = decision.version();
    ASSIGN_OR_RETURN(
        std::string key,
        keys_->GetOrCreate(tx, KeyOwner(j.referral_id, referral.facts)));
    ASSIGN_OR_RETURN(std::string sealed,
                     crypto::SealField(key, ReasonRowId(j.referral_id, version),
                                       kOverrideReasonColumn, j.reason));
    DecisionRecord record{
        std::move(decision),
        timeutil::NowMillis(),
        kCauseOverride,
        j.practitioner_id,
        StoredText{std::move(sealed), crypto::kSealedFieldFormat},
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
    ASSIGN_OR_RETURN(v1::DecisionVersion v,
                     RecordNewVersion(tx, j.referral_id, referral, record,
                                      &audit, /*cause=*/nullptr, traceparent));
    return ForCaller(std::move(v));
  });
}

absl::StatusOr<std::vector<v1::DecisionVersion>> TriageApp::GetDecision(
    const access::Principal& caller, const ReferralId& referral_id) {
  return db_.Read(
      [&](store::Tx& tx) -> absl::StatusOr<std::vector<v1::DecisionVersion>> {
        RETURN_IF_ERROR(
            LoadReferral(tx, caller, ReadRule(), referral_id).status());
        ASSIGN_OR_RETURN(std::vector<v1::DecisionVersion> versions,
                         store_.ListDecisionVersions(tx, referral_id));
        for (v1::DecisionVersion& v : versions) v = ForCaller(std::move(v));
        return versions;
      });
}

absl::StatusOr<std::vector<std::pair<int, std::string>>>
TriageApp::OverrideReasons(const access::Principal& caller,
                           const ReferralId& referral_id) {
  return db_.Read(
      [&](store::Tx& tx)
          -> absl::StatusOr<std::vector<std::pair<int, std::string>>> {
        ASSIGN_OR_RETURN(ReferralRecord referral,
                         LoadReferral(tx, caller, ReasonRule(), referral_id));
        ASSIGN_OR_RETURN(auto stored,
                         store_.ListOverrideReasons(tx, referral_id));
        std::vector<std::pair<int, std::string>> reasons;
        if (stored.empty()) return reasons;
        std::optional<std::string> key;
        for (auto& [version, text] : stored) {
          if (text.format.empty()) {  // plaintext, written before sealing
            reasons.emplace_back(version, std::move(text.value));
            continue;
          }
          if (text.format != crypto::kSealedFieldFormat) {
            return absl::DataLossError(absl::StrCat(
                "unknown override_reason format '", text.format, "'"));
          }
          if (!key.has_value()) {
            ASSIGN_OR_RETURN(
                key, keys_->Get(tx, KeyOwner(referral_id, referral.facts)));
          }
          ASSIGN_OR_RETURN(
              std::string plain,
              crypto::OpenField(*key, ReasonRowId(referral_id, version),
                                kOverrideReasonColumn, text.value));
          reasons.emplace_back(version, std::move(plain));
        }
        return reasons;
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
    v1::EventEnvelope* audit, const v1::EventEnvelope* cause,
    const std::string& traceparent) {
  RETURN_IF_ERROR(store_.InsertDecision(tx, referral_id, record));
  RETURN_IF_ERROR(store_.RecordVictimReferral(tx, referral_id, referral.facts,
                                              record.decision.marac()));
  if (audit != nullptr) {
    RETURN_IF_ERROR(Emit(tx, *audit, record.decided_at, traceparent));
  }
  v1::EventEnvelope out = events::NewEnvelope("triage", referral_id.value(),
                                              audit != nullptr ? audit : cause);
  v1::ReferralReassessed* r = out.mutable_referral_reassessed();
  *r->mutable_decision() = record.decision;
  r->set_previous_risk(referral.latest.risk());
  r->set_previous_marac(referral.latest.marac());
  r->set_cause(record.cause);
  RETURN_IF_ERROR(Emit(tx, out, record.decided_at, traceparent));
  RETURN_IF_ERROR(SyncMaracAgenda(tx, referral_id, record.decision,
                                  record.decided_at, &out, traceparent));
  return VersionOf(record);
}

}  // namespace signpost::triage
