// Stalled referrals (issue 13), as pure domain code. A referral is stuck
// when it was received but not triaged within `after` (NOT_TRIAGED), or
// triaged to somewhere to go (a ROUTED decision with a pathway, MARAC or a
// safeguarding notification) but neither offered nor waitlisted by
// advocacy within `after` of that decision (NOT_ROUTED). A stuck referral
// is reported (ReferralStalled) when first found, again when its stage
// changes, and every `interval` while it stays stuck. Usually a record was
// lost on the way: `signpost-cli replay` re-sends it.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "signpost/v1/events.pb.h"

namespace signpost::intake {

inline constexpr char kStallNotTriaged[] = "NOT_TRIAGED";
inline constexpr char kStallNotRouted[] = "NOT_ROUTED";

// What intake knows of a referral's progress through triage and advocacy.
struct Progress {
  ReferralId referral_id;
  std::string area_code;
  absl::Time received_at;
  std::optional<absl::Time> triaged_at;
  // Since when advocacy owes an offer or a waitlisting (the ROUTED
  // decision's time); unset when it owes none.
  std::optional<absl::Time> routing_since;
  std::optional<absl::Time> routed_at;
  // The last report: its stage ("" for none), when first and last made,
  // and how many.
  std::string stall_stage;
  std::optional<absl::Time> first_reported_at;
  std::optional<absl::Time> last_reported_at;
  int reports = 0;
};

struct Stall {
  std::string stage;
  absl::Time since;  // when the stage began
};

// Where `p` is stuck at `now`, if it is.
std::optional<Stall> StuckAt(const Progress& p, absl::Time now,
                             absl::Duration after);

// Whether `stall` of `p` is to be reported at `now`: it was never reported
// at this stage, or the last report is `interval` old.
bool ReportDue(const Progress& p, const Stall& stall, absl::Time now,
               absl::Duration interval);

// Marks the report on `p` and returns its event.
v1::ReferralStalled Report(Progress& p, const Stall& stall, absl::Time now);

// Whether a decision leaves advocacy something to offer or waitlist.
bool OwesRouting(const v1::ReferralTriaged& decision);

// Applies a triage decision made at `at` to the progress.
void ApplyDecision(Progress& p, const v1::ReferralTriaged& decision,
                   absl::Time at);

}  // namespace signpost::intake
