// The MARAC meetings store (issue 13): SQL and row mapping only. Meetings,
// the cases on each agenda (the referral's MARAC field set is read from its
// latest decision, never copied), actions and the meetings each action was
// carried to. Its tables are triage's, created by kMaracMigration (appended
// to TriageStore::Migrations()). Every method works inside the caller's
// transaction. Thread-safe (stateless; the Tx is the caller's).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/triage/marac_meetings.h"
#include "signpost/v1/marac.pb.h"

namespace signpost::triage {

inline constexpr char kMaracMigration[] = R"sql(
-- MARAC meetings (issue 13). Cases and actions hold ids and codes only.
CREATE TABLE marac_meetings (
  meeting_id TEXT PRIMARY KEY,
  area_code TEXT NOT NULL,
  meeting_at_ms INTEGER NOT NULL,
  agenda_closes_at_ms INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  state INTEGER NOT NULL
);
CREATE INDEX marac_meetings_area
  ON marac_meetings(area_code, meeting_at_ms, meeting_id);
CREATE TABLE marac_cases (
  meeting_id TEXT NOT NULL REFERENCES marac_meetings(meeting_id),
  referral_id TEXT NOT NULL,
  listed_at_ms INTEGER NOT NULL,
  heard_at_ms INTEGER,
  carried_from TEXT NOT NULL DEFAULT '',
  -- When the meeting closed: the MARAC field set as it was heard (the
  -- decision then, without the victim's contact rules), so that minutes do
  -- not change when the referral is reassessed later.
  snapshot BLOB,
  snapshot_decided_at_ms INTEGER,
  PRIMARY KEY (meeting_id, referral_id)
);
CREATE INDEX marac_cases_referral ON marac_cases(referral_id);
CREATE TABLE marac_actions (
  action_id TEXT PRIMARY KEY,
  meeting_id TEXT NOT NULL REFERENCES marac_meetings(meeting_id),
  referral_id TEXT NOT NULL,
  agency_id TEXT NOT NULL,
  kind INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  state INTEGER NOT NULL,
  completed_at_ms INTEGER
);
CREATE INDEX marac_actions_meeting ON marac_actions(meeting_id);
CREATE TABLE marac_action_carries (
  action_id TEXT NOT NULL REFERENCES marac_actions(action_id),
  meeting_id TEXT NOT NULL REFERENCES marac_meetings(meeting_id),
  carried_at_ms INTEGER NOT NULL,
  PRIMARY KEY (action_id, meeting_id)
);
CREATE INDEX marac_action_carries_meeting ON marac_action_carries(meeting_id);
)sql";

// ListMeetings pages by (meeting_at, meeting_id): soonest first.
inline constexpr paging::KeyKind kMaracMeetingKeys[] = {paging::KeyKind::kInt,
                                                        paging::KeyKind::kText};
inline constexpr paging::Listing kMaracMeetingsListing{"ListMeetings",
                                                       kMaracMeetingKeys};

// A MARAC case waiting for an agenda.
struct PendingCase {
  std::string referral_id;
  std::string area_code;
  absl::Time decided_at;
};

// An action with the area of the meeting that allocated it.
struct ActionRecord {
  v1::MaracAction action;
  std::string area_code;
};

class MaracStore {
 public:
  absl::Status InsertMeeting(store::Tx& tx, const MeetingRecord& m) const;
  absl::Status SetMeetingState(store::Tx& tx, const std::string& meeting_id,
                               v1::MaracMeetingState state) const;
  // With its listed count; nullopt when there is none.
  absl::StatusOr<std::optional<MeetingRecord>> FindMeeting(
      store::Tx& tx, const std::string& meeting_id) const;
  // The area's SCHEDULED meetings with their listed counts.
  absl::StatusOr<std::vector<MeetingRecord>> ScheduledMeetings(
      store::Tx& tx, const std::string& area_code) const;
  // One page of the area's meetings, soonest first (kMaracMeetingsListing).
  absl::StatusOr<paging::Page<MeetingRecord>> ListMeetings(
      store::Tx& tx, const std::string& area_code,
      const paging::PageRequest& page) const;

  absl::Status InsertCase(store::Tx& tx, const std::string& meeting_id,
                          const std::string& referral_id, absl::Time listed_at,
                          const std::string& carried_from) const;
  absl::Status SetHeard(store::Tx& tx, const std::string& meeting_id,
                        const std::string& referral_id, absl::Time at) const;
  // The meeting's cases with each referral's latest decision (unordered).
  // Fixes a closed meeting's case to `decision` (decided at `decided_at`).
  absl::Status SnapshotCase(store::Tx& tx, const std::string& meeting_id,
                            const std::string& referral_id,
                            const v1::ReferralTriaged& decision,
                            absl::Time decided_at) const;
  absl::StatusOr<std::vector<ListedCase>> CasesOf(
      store::Tx& tx, const std::string& meeting_id) const;
  absl::StatusOr<std::optional<ListedCase>> FindCase(
      store::Tx& tx, const std::string& meeting_id,
      const std::string& referral_id) const;
  // Takes the referral off every unheard agenda of a SCHEDULED meeting;
  // returns how many.
  absl::StatusOr<int> RemoveFromOpenAgendas(
      store::Tx& tx, const std::string& referral_id) const;
  // True when the referral is neither heard at a meeting nor on the agenda
  // of a SCHEDULED one.
  absl::StatusOr<bool> NeedsPlacing(store::Tx& tx,
                                    const std::string& referral_id) const;
  // The latest CLOSED meeting that listed the referral and did not hear it
  // ("" if none).
  absl::StatusOr<std::string> LastMeetingNotHeard(
      store::Tx& tx, const std::string& referral_id) const;
  // The area's referrals whose latest decision goes to MARAC and that need
  // placing, oldest decision first (the first written, within a
  // millisecond).
  absl::StatusOr<std::vector<PendingCase>> PendingCases(
      store::Tx& tx, const std::string& area_code) const;

  absl::Status InsertAction(store::Tx& tx, const v1::MaracAction& a) const;
  absl::Status CompleteAction(store::Tx& tx, const std::string& action_id,
                              absl::Time at) const;
  absl::StatusOr<std::optional<ActionRecord>> FindAction(
      store::Tx& tx, const std::string& action_id) const;
  // Actions allocated at the meeting, oldest first.
  absl::StatusOr<std::vector<v1::MaracAction>> ActionsAllocatedAt(
      store::Tx& tx, const std::string& meeting_id) const;
  // Actions carried to the meeting, in the order carried.
  absl::StatusOr<std::vector<v1::MaracAction>> ActionsCarriedTo(
      store::Tx& tx, const std::string& meeting_id) const;
  // The area's OPEN actions that no SCHEDULED meeting will review: the
  // meeting that allocated each and every meeting it was carried to are
  // closed.
  absl::StatusOr<std::vector<std::string>> OpenActionsAwaitingReview(
      store::Tx& tx, const std::string& area_code) const;
  absl::Status CarryAction(store::Tx& tx, const std::string& action_id,
                           const std::string& meeting_id, absl::Time at) const;

 private:
  absl::Status FillCarriedTo(store::Tx& tx, v1::MaracAction& a) const;
  // The actions `sql` (a SELECT of the action columns, one `?` for the
  // meeting) returns, with where each was carried.
  absl::StatusOr<std::vector<v1::MaracAction>> ActionsOf(
      store::Tx& tx, const std::string& sql,
      const std::string& meeting_id) const;
};

}  // namespace signpost::triage
