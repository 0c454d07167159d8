#include "services/triage/triage_handler.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::triage {

absl::Status TriageHandler::Handle(const events::IncomingEvent& event,
                                   store::Tx& tx) {
  if (!event.envelope.has_referral_received()) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::ReferralTriaged decision,
                   app_.TriageReceived(tx, event.envelope, event.traceparent));
  std::vector<std::string> rules;
  for (const auto& r : decision.reasons()) rules.push_back(r.rule_id());
  log::Info("referral triaged",
            {{"referral_id", event.envelope.referral_id()},
             {"risk", v1::RiskLevel_Name(decision.risk())},
             {"marac", decision.marac() ? "yes" : "no"},
             {"rules", absl::StrJoin(rules, ",")}},
            TraceIdOf(event.traceparent));
  return absl::OkStatus();
}

}  // namespace signpost::triage
