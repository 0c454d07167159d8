// The SLA rules of the routing policy (SLA-*): absolute deadlines from the
// report, in working days on the area's calendar, except the SARC's first
// contact, in calendar hours (SLA-SARC-CONTACT). First contact is one
// deadline per pathway. Part of the rules engine
// (Decide calls it last, once risk and pathways are known). Thread-safe
// (pure).
#pragma once

#include "services/triage/decision_builder.h"
#include "services/triage/policy.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::triage {

// Adds the VCOP referral and first-contact deadlines and the updates
// interval to `d`, citing the SLA rule of each. A report time the calendar
// cannot place is recorded as missing, not guessed.
void AddDeadlines(const Policy& policy, const v1::ReferralFacts& f,
                  v1::ReferralTriaged& d, DecisionBuilder& b);

}  // namespace signpost::triage
