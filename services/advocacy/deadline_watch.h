// The deadlines advocacy watches on each assignment (issue 13), as pure
// domain code: which reports are due now, and the Victims' Code update
// clock.
//
// Three deadlines are watched, each warned of once (DeadlineApproaching,
// at the lead time) and reported once when it passes (DeadlineMissed):
//   FIRST_CONTACT  first_contact_due, met by the first successful contact;
//                  watched while waitlisted, offered or accepted.
//   VCOP_REFERRAL  referral_due (SLA-VCOP-REFERRAL), met by the first offer;
//                  watched while the case waits on the waitlist.
//   UPDATES        update_due (SLA-UPDATES), met by each update given
//                  (RecordUpdate), which starts the next; watched while an
//                  advocate holds the case (accepted or active).
// Meeting a deadline stops its clock; the marks are columns, so a restart
// neither loses nor repeats a report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/calendar/working_calendar.h"
#include "services/advocacy/assignment_lifecycle.h"
#include "signpost/v1/events.pb.h"

namespace signpost::advocacy {

inline constexpr char kFirstContactKind[] = "FIRST_CONTACT";
inline constexpr char kReferralKind[] = "VCOP_REFERRAL";
inline constexpr char kUpdatesKind[] = "UPDATES";
inline constexpr char kUpdatesRule[] = "SLA-UPDATES";
inline constexpr char kReferralRule[] = "SLA-VCOP-REFERRAL";
// RecordUpdate on an assignment nobody holds, or on a service referral.
inline constexpr char kUpdateRule[] = "UPDATE-BY-ADVOCATE";
// A second outcome baseline for one case.
inline constexpr char kBaselineRule[] = "OUTCOME-BASELINE-ONCE";

// One report the watchdog owes now.
struct DeadlineReport {
  v1::Deadline deadline;
  bool missed = false;
};

// Victim support: an advocate's case, or a service that works with the
// victim (not a perpetrator programme, MARAC or the children's
// safeguarding notification). SLA-VCOP-REFERRAL is about these.
bool IsVictimSupport(const AssignmentRecord& a);

// SLA-VCOP-REFERRAL is one deadline per referral, held on one victim-
// support assignment (the first routed) and met by the referral's first
// offer of victim support. Whether, given all of the referral's
// assignments, it still waits: nothing offered, and something waiting.
bool ReferralAwaitsSupport(const std::vector<AssignmentRecord>& referral);

// The reports due on `a` at `now`, with `lead` warning time; marks each on
// `a` (save it after). A deadline already past is reported missed only: a
// warning not yet given is not given late. `awaits_support` is
// ReferralAwaitsSupport for `a`'s referral (read only when `a` holds the
// referral deadline).
std::vector<DeadlineReport> DueReports(AssignmentRecord& a, absl::Time now,
                                       absl::Duration lead,
                                       bool awaits_support);

// The update clock starts at first contact: the first update is due
// `update_working_days` working days after it. No-op without a cadence or
// a calendar.
absl::Status StartUpdateClock(AssignmentRecord& a,
                              const calendar::WorkingCalendar* cal);

// What one update given did to the clock.
struct UpdateClockResult {
  std::optional<absl::Time> due;  // the deadline it answered, if any
  bool within_deadline = true;
  std::optional<absl::Time> next_due;
};

// Checks that `advocate` holds `a` (accepted or active, an advocate's
// case), then records an update given at `at`: the clock restarts from it
// and the marks for the old due time are cleared.
absl::StatusOr<UpdateClockResult> GiveUpdate(
    AssignmentRecord& a, const AdvocateId& advocate, absl::Time at,
    const calendar::WorkingCalendar* cal);

}  // namespace signpost::advocacy
