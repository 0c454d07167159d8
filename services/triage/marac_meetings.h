// MARAC meetings in plain code (issue 13): which meeting a MARAC case goes
// on, the order of an agenda, the checks of each request, and the rules that
// refuse a transition. A meeting goes SCHEDULED -> CLOSED and nothing else;
// an action OPEN -> DONE. A refused transition is FAILED_PRECONDITION naming
// its rule (MARAC-MEETING-CLOSED, MARAC-MEETING-NOT-HELD,
// MARAC-CASE-NOT-LISTED, MARAC-CASE-NOT-HEARD). An agenda holds the MARAC
// field set only (AgendaCase). Thread-safe (pure).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/marac.pb.h"

namespace signpost::triage {

// Rule ids (docs/api-and-events.md, "MARAC meetings").
inline constexpr char kRuleMeetingClosed[] = "MARAC-MEETING-CLOSED";
inline constexpr char kRuleMeetingNotHeld[] = "MARAC-MEETING-NOT-HELD";
inline constexpr char kRuleCaseNotListed[] = "MARAC-CASE-NOT-LISTED";
inline constexpr char kRuleCaseNotHeard[] = "MARAC-CASE-NOT-HEARD";

inline constexpr int kMaxMeetingCapacity = 100;

// One meeting as stored, with how many cases its agenda holds.
struct MeetingRecord {
  std::string meeting_id;
  std::string area_code;
  absl::Time meeting_at;
  absl::Time agenda_closes_at;
  int capacity = 0;
  v1::MaracMeetingState state = v1::MARAC_MEETING_STATE_SCHEDULED;
  int listed = 0;
};

// One case on an agenda: where it is, and the referral's latest decision
// (from which only the MARAC field set is ever read).
struct ListedCase {
  std::string meeting_id;
  std::string referral_id;
  std::optional<absl::Time> heard_at;
  // The meeting that listed it and did not hear it ("" if none).
  std::string carried_from;
  v1::ReferralTriaged decision;
  absl::Time decided_at;
};

// The agenda's order: cases carried from a meeting that did not hear them
// first (they have waited a meeting already), then repeat MARAC cases, then
// the higher DASH score, then the older decision, then the referral id (so
// the order is total and stable).
bool AgendaBefore(const ListedCase& a, const ListedCase& b);
// Sorts `cases` into the agenda's order.
void SortAgenda(std::vector<ListedCase>& cases);

// The meeting a case due for an agenda at `at` goes on: among `meetings`
// (one area's), the earliest (meeting_at, then meeting_id) that is
// SCHEDULED, whose agenda closes after `at` and that has room (listed <
// capacity). nullopt when none has: the case waits for the next meeting
// scheduled.
std::optional<size_t> ChooseMeeting(const std::vector<MeetingRecord>& meetings,
                                    absl::Time at);

// The meeting that reviews open actions carried from earlier ones: the
// earliest SCHEDULED meeting of `meetings` (one area's), whatever its room
// or agenda deadline (actions take no place on the agenda).
std::optional<size_t> NextMeetingForActions(
    const std::vector<MeetingRecord>& meetings);

// A case on the agenda in the MARAC field set: ids, risk, DASH score, repeat
// flag, the MARAC-* rule reasons, legal basis, decided_at, heard. Nothing
// else of the decision (no person, contact rules, language, locality).
v1::MaracCase AgendaCase(const ListedCase& listed, int position);

// Request checks (every bad field at once; descriptions never echo values).
// A meeting: area required, in the future (after `now`), its agenda closing
// before it, capacity 1..kMaxMeetingCapacity.
errors::FieldErrors ValidateScheduleMeeting(
    const v1::ScheduleMeetingRequest& request, absl::Time now);
errors::FieldErrors ValidateListMeetings(
    const v1::ListMeetingsRequest& request);
errors::FieldErrors ValidateGetMeeting(const v1::GetMeetingRequest& request);
errors::FieldErrors ValidateMarkHeard(const v1::MarkHeardRequest& request);
// The shape of an action: ids, a kind, an agency id, a due date. Whether
// the agency is registered and the due date follows the meeting are
// CheckAllocation's.
errors::FieldErrors ValidateAllocateAction(
    const v1::AllocateActionRequest& request);
errors::FieldErrors ValidateCompleteAction(
    const v1::CompleteActionRequest& request);
errors::FieldErrors ValidateCloseMeeting(
    const v1::CloseMeetingRequest& request);

// MARAC-MEETING-CLOSED unless `meeting` is SCHEDULED.
absl::Status CheckScheduled(const MeetingRecord& meeting);
// MARAC-MEETING-CLOSED, then MARAC-MEETING-NOT-HELD before its time: a
// case is heard, an action allocated and a meeting closed only once it has
// met.
absl::Status CheckHeld(const MeetingRecord& meeting, absl::Time now);
// MARAC-CASE-NOT-LISTED when `listed` is not set.
absl::Status CheckListed(const MeetingRecord& meeting,
                         const std::optional<ListedCase>& listed,
                         const std::string& referral_id);
// An action at `meeting` for `listed`: INVALID_ARGUMENT naming agency_id
// (not registered) and due (not after the meeting) together; then
// CheckHeld, MARAC-CASE-NOT-LISTED and MARAC-CASE-NOT-HEARD.
absl::Status CheckAllocation(const MeetingRecord& meeting,
                             const std::optional<ListedCase>& listed,
                             const v1::AllocateActionRequest& request,
                             bool agency_registered, absl::Time now);

}  // namespace signpost::triage
