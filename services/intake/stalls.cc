#include "services/intake/stalls.h"

#include "common/time/timestamps.h"

namespace signpost::intake {

std::optional<Stall> StuckAt(const Progress& p, absl::Time now,
                             absl::Duration after) {
  if (!p.triaged_at) {
    if (p.received_at + after <= now) {
      return Stall{kStallNotTriaged, p.received_at};
    }
    return std::nullopt;
  }
  if (p.routing_since && !p.routed_at && *p.routing_since + after <= now) {
    return Stall{kStallNotRouted, *p.routing_since};
  }
  return std::nullopt;
}

bool ReportDue(const Progress& p, const Stall& stall, absl::Time now,
               absl::Duration interval) {
  if (p.stall_stage != stall.stage || !p.last_reported_at) return true;
  return *p.last_reported_at + interval <= now;
}

v1::ReferralStalled Report(Progress& p, const Stall& stall, absl::Time now) {
  if (p.stall_stage != stall.stage) {
    p.stall_stage = stall.stage;
    p.first_reported_at = now;
    p.reports = 0;
  }
  p.last_reported_at = now;
  ++p.reports;
  v1::ReferralStalled e;
  e.set_stage(stall.stage);
  *e.mutable_received_at() = timeutil::ToTimestamp(p.received_at);
  *e.mutable_stage_since() = timeutil::ToTimestamp(stall.since);
  e.set_report(p.reports);
  e.set_area_code(p.area_code);
  return e;
}

bool OwesRouting(const v1::ReferralTriaged& decision) {
  return decision.status() == v1::REFERRAL_STATUS_ROUTED &&
         (decision.pathways_size() > 0 || decision.marac() ||
          decision.safeguarding_notification());
}

void ApplyDecision(Progress& p, const v1::ReferralTriaged& decision,
                   absl::Time at) {
  if (!p.triaged_at) p.triaged_at = at;
  if (p.routed_at) return;  // advocacy has it
  if (OwesRouting(decision)) {
    if (!p.routing_since) p.routing_since = at;
  } else {
    p.routing_since.reset();  // e.g. consent required: nothing owed now
  }
}

}  // namespace signpost::intake
