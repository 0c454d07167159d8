#include "services/triage/triage_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::triage {

absl::Status TriageHandler::Handle(const events::IncomingEvent& event) {
  if (!event.envelope.has_referral_received()) return absl::OkStatus();
  absl::StatusOr<std::optional<v1::ReferralTriaged>> decision =
      store_.TriageReceived(*policy_, event);
  if (!decision.ok()) return decision.status();
  if (!decision->has_value()) {
    log::Debug("duplicate event ignored",
               {{"event_id", event.envelope.event_id()}},
               TraceIdOf(event.traceparent));
    return absl::OkStatus();
  }
  relay_.Notify();
  std::vector<std::string> rules;
  for (const auto& r : (*decision)->reasons()) rules.push_back(r.rule_id());
  log::Info("referral triaged",
            {{"referral_id", event.envelope.referral_id()},
             {"risk", v1::RiskLevel_Name((*decision)->risk())},
             {"marac", (*decision)->marac() ? "yes" : "no"},
             {"rules", absl::StrJoin(rules, ",")}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::triage
