#include "services/triage/marac_app.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"

namespace signpost::triage {
namespace {

// Stamps `envelope` with `at` and its type and appends it to the outbox.
absl::Status Emit(store::Tx& tx, v1::EventEnvelope& envelope, absl::Time at,
                  const std::string& traceparent) {
  *envelope.mutable_occurred_at() = timeutil::ToTimestamp(at);
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kTriageTopic, traceparent);
}

absl::Status NotFound(const char* what, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

// Places `referral_id` (of `area_code`, due for an agenda at `at`) on the
// area's next meeting with room, if any; emits MaracCaseListed. Returns
// whether it was placed.
absl::StatusOr<bool> Place(store::Tx& tx, const MaracStore& store,
                           const std::string& referral_id,
                           const std::string& area_code, absl::Time at,
                           const v1::EventEnvelope* cause,
                           const std::string& traceparent) {
  ASSIGN_OR_RETURN(std::vector<MeetingRecord> meetings,
                   store.ScheduledMeetings(tx, area_code));
  std::optional<size_t> chosen = ChooseMeeting(meetings, at);
  if (!chosen.has_value()) return false;
  const MeetingRecord& meeting = meetings[*chosen];
  ASSIGN_OR_RETURN(std::string carried_from,
                   store.LastMeetingNotHeard(tx, referral_id));
  RETURN_IF_ERROR(
      store.InsertCase(tx, meeting.meeting_id, referral_id, at, carried_from));
  ASSIGN_OR_RETURN(std::vector<ListedCase> agenda,
                   store.CasesOf(tx, meeting.meeting_id));
  SortAgenda(agenda);
  int position = 0;
  bool repeat = false;
  for (size_t i = 0; i < agenda.size(); ++i) {
    if (agenda[i].referral_id == referral_id) {
      position = static_cast<int>(i) + 1;
      repeat = agenda[i].decision.repeat_marac();
    }
  }
  v1::EventEnvelope out = events::NewEnvelope("triage", referral_id, cause);
  v1::MaracCaseListed* listed = out.mutable_marac_case_listed();
  listed->set_meeting_id(meeting.meeting_id);
  listed->set_area_code(meeting.area_code);
  *listed->mutable_meeting_at() = timeutil::ToTimestamp(meeting.meeting_at);
  listed->set_position(position);
  listed->set_repeat_marac(repeat);
  RETURN_IF_ERROR(Emit(tx, out, timeutil::NowMillis(), traceparent));
  return true;
}

v1::MaracMeeting HeaderOf(const MeetingRecord& m) {
  v1::MaracMeeting out;
  out.set_meeting_id(m.meeting_id);
  out.set_area_code(m.area_code);
  *out.mutable_meeting_at() = timeutil::ToTimestamp(m.meeting_at);
  *out.mutable_agenda_closes_at() = timeutil::ToTimestamp(m.agenda_closes_at);
  out.set_capacity(m.capacity);
  out.set_state(m.state);
  return out;
}

// MARAC coordinators see their own areas; operators and auditors every one.
absl::Status RequireMeetingArea(const access::Principal& caller,
                                const std::string& area_code,
                                const std::string& subject) {
  if (access::SeesEverything(caller)) return absl::OkStatus();
  return access::RequireArea(caller, area_code, subject);
}

}  // namespace

absl::Status SyncMaracAgenda(store::Tx& tx, const ReferralId& referral_id,
                             const v1::ReferralTriaged& decision,
                             absl::Time decided_at,
                             const v1::EventEnvelope* cause,
                             const std::string& traceparent) {
  MaracStore store;
  if (!decision.marac()) {
    return store.RemoveFromOpenAgendas(tx, referral_id.value()).status();
  }
  ASSIGN_OR_RETURN(bool needs, store.NeedsPlacing(tx, referral_id.value()));
  if (!needs) return absl::OkStatus();
  return Place(tx, store, referral_id.value(), decision.area_code(), decided_at,
               cause, traceparent)
      .status();
}

MaracApp::MaracApp(store::Database& db, const access::Registry& registry,
                   Clock clock)
    : db_(db), registry_(registry), clock_(std::move(clock)) {}

MaracApp::MaracApp(store::Database& db, const access::Registry& registry)
    : MaracApp(db, registry, [] { return timeutil::NowMillis(); }) {}

absl::StatusOr<MeetingRecord> MaracApp::LoadMeeting(
    store::Tx& tx, const access::Principal& caller,
    const std::string& meeting_id) {
  ASSIGN_OR_RETURN(std::optional<MeetingRecord> meeting,
                   store_.FindMeeting(tx, meeting_id));
  // Meeting ids are random UUIDs: NOT_FOUND tells nothing a caller could
  // not guess (as for referrals).
  if (!meeting.has_value()) return NotFound("meeting", meeting_id);
  RETURN_IF_ERROR(RequireMeetingArea(caller, meeting->area_code, meeting_id));
  return std::move(*meeting);
}

absl::StatusOr<v1::MaracMeeting> MaracApp::MeetingView(store::Tx& tx,
                                                       const MeetingRecord& m) {
  v1::MaracMeeting out = HeaderOf(m);
  ASSIGN_OR_RETURN(std::vector<ListedCase> cases,
                   store_.CasesOf(tx, m.meeting_id));
  SortAgenda(cases);
  ASSIGN_OR_RETURN(std::vector<v1::MaracAction> actions,
                   store_.ActionsAllocatedAt(tx, m.meeting_id));
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::MaracCase* c = out.add_cases();
    *c = AgendaCase(cases[i], static_cast<int>(i) + 1);
    for (const v1::MaracAction& a : actions) {
      if (a.referral_id() == cases[i].referral_id) *c->add_actions() = a;
    }
  }
  ASSIGN_OR_RETURN(std::vector<v1::MaracAction> carried,
                   store_.ActionsCarriedTo(tx, m.meeting_id));
  for (v1::MaracAction& a : carried) *out.add_carried_actions() = std::move(a);
  return out;
}

absl::Status MaracApp::CarryOpenActions(store::Tx& tx,
                                        const std::string& area_code,
                                        absl::Time now) {
  ASSIGN_OR_RETURN(std::vector<std::string> waiting,
                   store_.OpenActionsAwaitingReview(tx, area_code));
  if (waiting.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<MeetingRecord> meetings,
                   store_.ScheduledMeetings(tx, area_code));
  std::optional<size_t> next = NextMeetingForActions(meetings);
  if (!next.has_value()) return absl::OkStatus();  // the next one scheduled
  for (const std::string& action_id : waiting) {
    RETURN_IF_ERROR(
        store_.CarryAction(tx, action_id, meetings[*next].meeting_id, now));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::MaracMeeting> MaracApp::ScheduleMeeting(
    const access::Principal& caller, const v1::ScheduleMeetingRequest& r,
    const std::string& traceparent) {
  const absl::Time now = clock_();
  RETURN_IF_ERROR(ValidateScheduleMeeting(r, now).ToStatus());
  RETURN_IF_ERROR(access::RequireArea(caller, r.area_code(), r.area_code()));
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::MaracMeeting> {
    MeetingRecord m;
    m.meeting_id = NewUuid();
    m.area_code = r.area_code();
    m.meeting_at =
        timeutil::TruncateToMillis(timeutil::FromTimestamp(r.meeting_at()));
    m.agenda_closes_at = timeutil::TruncateToMillis(
        timeutil::FromTimestamp(r.agenda_closes_at()));
    m.capacity = r.capacity();
    RETURN_IF_ERROR(store_.InsertMeeting(tx, m));
    ASSIGN_OR_RETURN(std::vector<PendingCase> pending,
                     store_.PendingCases(tx, m.area_code));
    for (const PendingCase& p : pending) {
      ASSIGN_OR_RETURN(bool placed,
                       Place(tx, store_, p.referral_id, p.area_code, now,
                             nullptr, traceparent));
      if (!placed) break;  // no meeting has room left
    }
    RETURN_IF_ERROR(CarryOpenActions(tx, m.area_code, now));
    ASSIGN_OR_RETURN(std::optional<MeetingRecord> stored,
                     store_.FindMeeting(tx, m.meeting_id));
    return MeetingView(tx, *stored);
  });
}

absl::StatusOr<paging::Page<v1::MaracMeeting>> MaracApp::ListMeetings(
    const access::Principal& caller, const std::string& area_code,
    const paging::PageRequest& page) {
  RETURN_IF_ERROR(RequireMeetingArea(caller, area_code, area_code));
  ASSIGN_OR_RETURN(paging::Page<MeetingRecord> meetings,
                   db_.Read([&](store::Tx& tx) {
                     return store_.ListMeetings(tx, area_code, page);
                   }));
  paging::Page<v1::MaracMeeting> out;
  for (const MeetingRecord& m : meetings.items) {
    out.items.push_back(HeaderOf(m));
  }
  out.next = std::move(meetings.next);
  return out;
}

absl::StatusOr<v1::MaracMeeting> MaracApp::GetMeeting(
    const access::Principal& caller, const std::string& meeting_id) {
  return db_.Read([&](store::Tx& tx) -> absl::StatusOr<v1::MaracMeeting> {
    ASSIGN_OR_RETURN(MeetingRecord m, LoadMeeting(tx, caller, meeting_id));
    return MeetingView(tx, m);
  });
}

absl::StatusOr<v1::MaracCase> MaracApp::MarkHeard(
    const access::Principal& caller, const v1::MarkHeardRequest& r,
    const std::string& traceparent) {
  const absl::Time now = clock_();
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::MaracCase> {
    ASSIGN_OR_RETURN(MeetingRecord m, LoadMeeting(tx, caller, r.meeting_id()));
    ASSIGN_OR_RETURN(std::optional<ListedCase> listed,
                     store_.FindCase(tx, m.meeting_id, r.referral_id()));
    if (!(listed.has_value() && listed->heard_at.has_value())) {
      RETURN_IF_ERROR(CheckHeld(m, now));
      RETURN_IF_ERROR(CheckListed(m, listed, r.referral_id()));
      RETURN_IF_ERROR(store_.SetHeard(tx, m.meeting_id, r.referral_id(), now));
      v1::EventEnvelope out = events::NewEnvelope("triage", r.referral_id());
      v1::MaracCaseHeard* heard = out.mutable_marac_case_heard();
      heard->set_meeting_id(m.meeting_id);
      heard->set_area_code(m.area_code);
      *heard->mutable_heard_at() = timeutil::ToTimestamp(now);
      RETURN_IF_ERROR(Emit(tx, out, now, traceparent));
    }
    ASSIGN_OR_RETURN(v1::MaracMeeting view, MeetingView(tx, m));
    for (v1::MaracCase& c : *view.mutable_cases()) {
      if (c.referral_id() == r.referral_id()) return std::move(c);
    }
    return errors::InvariantViolation("a heard case is not on its agenda");
  });
}

absl::StatusOr<v1::MaracAction> MaracApp::AllocateAction(
    const access::Principal& caller, const v1::AllocateActionRequest& r,
    const std::string& traceparent) {
  const absl::Time now = clock_();
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::MaracAction> {
    ASSIGN_OR_RETURN(MeetingRecord m, LoadMeeting(tx, caller, r.meeting_id()));
    ASSIGN_OR_RETURN(std::optional<ListedCase> listed,
                     store_.FindCase(tx, m.meeting_id, r.referral_id()));
    RETURN_IF_ERROR(CheckAllocation(
        m, listed, r, registry_.Find(AgencyId(r.agency_id())) != nullptr, now));
    v1::MaracAction a;
    a.set_action_id(NewUuid());
    a.set_meeting_id(m.meeting_id);
    a.set_referral_id(r.referral_id());
    a.set_agency_id(r.agency_id());
    a.set_kind(r.kind());
    *a.mutable_due() = timeutil::ToTimestamp(
        timeutil::TruncateToMillis(timeutil::FromTimestamp(r.due())));
    a.set_state(v1::MARAC_ACTION_STATE_OPEN);
    RETURN_IF_ERROR(store_.InsertAction(tx, a));
    v1::EventEnvelope out = events::NewEnvelope("triage", r.referral_id());
    v1::MaracActionAllocated* e = out.mutable_marac_action_allocated();
    e->set_action_id(a.action_id());
    e->set_meeting_id(m.meeting_id);
    e->set_area_code(m.area_code);
    e->set_agency_id(a.agency_id());
    e->set_kind(v1::MaracActionKind_Name(a.kind()));
    *e->mutable_due() = a.due();
    RETURN_IF_ERROR(Emit(tx, out, now, traceparent));
    return a;
  });
}

absl::StatusOr<v1::MaracAction> MaracApp::CompleteAction(
    const access::Principal& caller, const v1::CompleteActionRequest& r,
    const std::string& traceparent) {
  const absl::Time now = clock_();
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::MaracAction> {
    ASSIGN_OR_RETURN(std::optional<ActionRecord> found,
                     store_.FindAction(tx, r.action_id()));
    if (!found.has_value()) return NotFound("action", r.action_id());
    v1::MaracAction& a = found->action;
    const bool coordinator = caller.Has(v1::ROLE_MARAC_COORDINATOR) &&
                             caller.Serves(found->area_code);
    if (!coordinator && caller.agency_id().value() != a.agency_id()) {
      return errors::Denied(access::kRuleOwnAgency, r.action_id(),
                            "the action is allocated to another agency");
    }
    if (a.state() == v1::MARAC_ACTION_STATE_DONE) return std::move(a);
    RETURN_IF_ERROR(store_.CompleteAction(tx, a.action_id(), now));
    a.set_state(v1::MARAC_ACTION_STATE_DONE);
    *a.mutable_completed_at() = timeutil::ToTimestamp(now);
    v1::EventEnvelope out = events::NewEnvelope("triage", a.referral_id());
    v1::MaracActionCompleted* e = out.mutable_marac_action_completed();
    e->set_action_id(a.action_id());
    e->set_meeting_id(a.meeting_id());
    e->set_agency_id(a.agency_id());
    *e->mutable_completed_at() = a.completed_at();
    RETURN_IF_ERROR(Emit(tx, out, now, traceparent));
    return std::move(a);
  });
}

absl::StatusOr<v1::MaracMeeting> MaracApp::CloseMeeting(
    const access::Principal& caller, const v1::CloseMeetingRequest& r,
    const std::string& traceparent) {
  const absl::Time now = clock_();
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::MaracMeeting> {
    ASSIGN_OR_RETURN(MeetingRecord m, LoadMeeting(tx, caller, r.meeting_id()));
    RETURN_IF_ERROR(CheckHeld(m, now));
    RETURN_IF_ERROR(store_.SetMeetingState(tx, m.meeting_id,
                                           v1::MARAC_MEETING_STATE_CLOSED));
    m.state = v1::MARAC_MEETING_STATE_CLOSED;
    ASSIGN_OR_RETURN(std::vector<ListedCase> cases,
                     store_.CasesOf(tx, m.meeting_id));
    SortAgenda(cases);
    for (const ListedCase& c : cases) {
      // The minutes keep the field set as it was at the meeting.
      v1::ReferralTriaged kept = c.decision;
      kept.clear_contact_rules();
      kept.clear_preferred_specialisms();
      RETURN_IF_ERROR(store_.SnapshotCase(tx, m.meeting_id, c.referral_id, kept,
                                          c.decided_at));
    }
    for (const ListedCase& c : cases) {
      // Not heard, and still MARAC (a case that left MARAC was taken off).
      if (c.heard_at.has_value() || !c.decision.marac()) continue;
      RETURN_IF_ERROR(Place(tx, store_, c.referral_id, m.area_code, now,
                            nullptr, traceparent)
                          .status());
    }
    RETURN_IF_ERROR(CarryOpenActions(tx, m.area_code, now));
    return MeetingView(tx, m);
  });
}

}  // namespace signpost::triage
