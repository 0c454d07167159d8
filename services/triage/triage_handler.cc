#include "services/triage/triage_handler.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::triage {
namespace {

// Logs a new version from a consumed event, or that the referral is not
// one triage decided (ids and codes only).
void LogRedecided(const char* what, const events::IncomingEvent& event,
                  const Redecided& r) {
  const std::string& referral_id = event.envelope.referral_id();
  const std::optional<v1::DecisionVersion>& v = r.version;
  if (!v.has_value() && r.already_withdrawn) {
    // A withdrawal is final: nothing after it changes the decision.
    log::Info(
        absl::StrCat(what, " for a withdrawn referral: ignored"),
        {{"referral_id", referral_id}, {"event_id", event.envelope.event_id()}},
        TraceIdOf(event.traceparent));
    return;
  }
  if (!v.has_value()) {
    // Triage consumes the intake topic in order per referral, so this is a
    // referral intake never routed (a linked one) or one triaged before
    // this database: there is no decision to change.
    log::Info(
        absl::StrCat(what,
                     " for a referral triage has not decided: "
                     "ignored"),
        {{"referral_id", referral_id}, {"event_id", event.envelope.event_id()}},
        TraceIdOf(event.traceparent));
    return;
  }
  log::Info(what,
            {{"referral_id", referral_id},
             {"version", v->version()},
             {"status", v1::ReferralStatus_Name(v->decision().status())}},
            TraceIdOf(event.traceparent));
}

}  // namespace

absl::Status TriageHandler::Handle(const events::IncomingEvent& event,
                                   store::Tx& tx) {
  const v1::EventEnvelope& envelope = event.envelope;
  if (envelope.has_consent_updated()) {
    ASSIGN_OR_RETURN(Redecided v,
                     app_.ConsentUpdated(tx, envelope, event.traceparent));
    LogRedecided("consent updated", event, v);
    return absl::OkStatus();
  }
  if (envelope.has_referral_withdrawn()) {
    ASSIGN_OR_RETURN(Redecided v,
                     app_.Withdrawn(tx, envelope, event.traceparent));
    LogRedecided("referral withdrawn", event, v);
    return absl::OkStatus();
  }
  if (envelope.has_victim_erased()) {
    ASSIGN_OR_RETURN(ErasureResult erased,
                     app_.EraseVictim(tx, envelope, event.traceparent));
    log::Info("victim erased",
              {{"referral_id", envelope.referral_id()},
               {"key_destroyed", erased.key_destroyed ? "yes" : "no"},
               {"reasons_blanked", erased.reasons_blanked},
               {"history_deleted", erased.history_deleted},
               {"redecided", erased.redecided ? "yes" : "no"}},
              TraceIdOf(event.traceparent));
    return absl::OkStatus();
  }
  if (!envelope.has_referral_received()) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::ReferralTriaged decision,
                   app_.TriageReceived(tx, envelope, event.traceparent));
  std::vector<std::string> rules;
  for (const auto& r : decision.reasons()) rules.push_back(r.rule_id());
  log::Info("referral triaged",
            {{"referral_id", envelope.referral_id()},
             {"risk", v1::RiskLevel_Name(decision.risk())},
             {"marac", decision.marac()},
             {"rules", absl::StrJoin(rules, ",")}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::triage
