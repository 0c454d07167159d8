// MARAC meetings' application layer (issue 13): one use case per method,
// each in one transaction that loads (MaracStore), decides
// (marac_meetings.h), persists and emits its events through the outbox on
// triage's topic (MaracCaseListed, MaracCaseHeard, MaracActionAllocated,
// MaracActionCompleted). SyncMaracAgenda keeps the agendas in step with
// triage's decisions, inside the decision's own transaction.
//
// Who may: the MARAC coordinator of the meeting's area (AUTHZ-OWN-AREA);
// operators and auditors read every area; CompleteAction also the agency
// the action is allocated to (AUTHZ-OWN-AGENCY). Callers wake the outbox
// relay after a commit. Thread-safe (the database serialises transactions;
// the registry is immutable).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/access/registry.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/triage/marac_store.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/marac.pb.h"

namespace signpost::triage {

// Keeps the MARAC agendas in step with a new decision version of
// `referral_id` (decided at `decided_at`), in the decision's `tx`:
//   - still or newly MARAC, and neither heard nor on a scheduled meeting's
//     agenda: placed on the area's next meeting with room whose agenda
//     closes after `decided_at` (MaracCaseListed, caused by `cause`); left
//     waiting when none has room;
//   - no longer MARAC (re-decided, erased, entered in error, duplicate):
//     taken off every unheard agenda of a scheduled meeting. A withdrawal
//     that keeps MARAC on its legal basis keeps the case listed: MARAC
//     does not need consent.
absl::Status SyncMaracAgenda(store::Tx& tx, const ReferralId& referral_id,
                             const v1::ReferralTriaged& decision,
                             absl::Time decided_at,
                             const v1::EventEnvelope* cause,
                             const std::string& traceparent);

class MaracApp {
 public:
  using Clock = std::function<absl::Time()>;

  // `registry` tells which agencies actions may go to; `clock` (millisecond
  // precision) is the time of each use case.
  // `registry` (not owned) must outlive the app.
  MaracApp(store::Database& db, const access::Registry& registry, Clock clock);
  MaracApp(store::Database& db, const access::Registry& registry);

  // A new SCHEDULED meeting; the area's MARAC cases waiting for an agenda
  // are placed (oldest decision first) while it has room, and open actions
  // no scheduled meeting reviews are carried to the area's next meeting.
  absl::StatusOr<v1::MaracMeeting> ScheduleMeeting(
      const access::Principal& caller, const v1::ScheduleMeetingRequest& r,
      const std::string& traceparent);
  // The area's meetings, soonest first, without cases or actions.
  absl::StatusOr<paging::Page<v1::MaracMeeting>> ListMeetings(
      const access::Principal& caller, const std::string& area_code,
      const paging::PageRequest& page = {});
  // The agenda (or minutes): cases in agenda order with the actions
  // allocated for each, and the actions carried to it. NOT_FOUND for an
  // unknown meeting.
  absl::StatusOr<v1::MaracMeeting> GetMeeting(const access::Principal& caller,
                                              const std::string& meeting_id);
  // Marks a listed case heard (once: again returns it as it is).
  absl::StatusOr<v1::MaracCase> MarkHeard(const access::Principal& caller,
                                          const v1::MarkHeardRequest& r,
                                          const std::string& traceparent);
  // An OPEN action for a heard case, for a registered agency, due after the
  // meeting; the agency is told (MaracActionAllocated).
  absl::StatusOr<v1::MaracAction> AllocateAction(
      const access::Principal& caller, const v1::AllocateActionRequest& r,
      const std::string& traceparent);
  // DONE (once: again returns it as it is).
  absl::StatusOr<v1::MaracAction> CompleteAction(
      const access::Principal& caller, const v1::CompleteActionRequest& r,
      const std::string& traceparent);
  // CLOSED: cases not heard are moved to the area's next meeting with room
  // (carried_from), open actions carried to its next meeting (carried_to).
  absl::StatusOr<v1::MaracMeeting> CloseMeeting(
      const access::Principal& caller, const v1::CloseMeetingRequest& r,
      const std::string& traceparent);

 private:
  // The meeting, NOT_FOUND when unknown, PERMISSION_DENIED (AUTHZ-OWN-AREA)
  // when `caller` may not see its area.
  absl::StatusOr<MeetingRecord> LoadMeeting(store::Tx& tx,
                                            const access::Principal& caller,
                                            const std::string& meeting_id);
  absl::StatusOr<v1::MaracMeeting> MeetingView(store::Tx& tx,
                                               const MeetingRecord& m);
  // Carries the area's open actions that await review to its next meeting.
  absl::Status CarryOpenActions(store::Tx& tx, const std::string& area_code,
                                absl::Time now);

  store::Database& db_;
  const access::Registry& registry_;
  const Clock clock_;
  MaracStore store_;
};

}  // namespace signpost::triage
