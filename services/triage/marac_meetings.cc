#include "services/triage/marac_meetings.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/access/registry.h"
#include "common/ids/ids.h"
#include "common/time/timestamps.h"

namespace signpost::triage {
namespace {

void CheckUuid(errors::FieldErrors& errors, const char* field,
               const std::string& id) {
  if (!IsUuid(id)) errors.Add(field, "must be an id (UUID)");
}

void CheckArea(errors::FieldErrors& errors, const std::string& area) {
  if (area.empty() || area.size() > 32) {
    errors.Add("area_code", "is required (1-32 characters)");
  }
}

}  // namespace

bool AgendaBefore(const ListedCase& a, const ListedCase& b) {
  // Each tuple sorts ascending: negate what comes first when larger.
  return std::make_tuple(a.carried_from.empty(), !a.decision.repeat_marac(),
                         -a.decision.dash_score(), a.decided_at,
                         a.referral_id) <
         std::make_tuple(b.carried_from.empty(), !b.decision.repeat_marac(),
                         -b.decision.dash_score(), b.decided_at, b.referral_id);
}

void SortAgenda(std::vector<ListedCase>& cases) {
  std::sort(cases.begin(), cases.end(), AgendaBefore);
}

std::optional<size_t> ChooseMeeting(const std::vector<MeetingRecord>& meetings,
                                    absl::Time at) {
  std::optional<size_t> best;
  for (size_t i = 0; i < meetings.size(); ++i) {
    const MeetingRecord& m = meetings[i];
    if (m.state != v1::MARAC_MEETING_STATE_SCHEDULED) continue;
    if (m.agenda_closes_at <= at || m.listed >= m.capacity) continue;
    if (!best.has_value() ||
        std::tie(m.meeting_at, m.meeting_id) <
            std::tie(meetings[*best].meeting_at, meetings[*best].meeting_id)) {
      best = i;
    }
  }
  return best;
}

std::optional<size_t> NextMeetingForActions(
    const std::vector<MeetingRecord>& meetings) {
  std::optional<size_t> best;
  for (size_t i = 0; i < meetings.size(); ++i) {
    const MeetingRecord& m = meetings[i];
    if (m.state != v1::MARAC_MEETING_STATE_SCHEDULED) continue;
    if (!best.has_value() ||
        std::tie(m.meeting_at, m.meeting_id) <
            std::tie(meetings[*best].meeting_at, meetings[*best].meeting_id)) {
      best = i;
    }
  }
  return best;
}

v1::MaracCase AgendaCase(const ListedCase& listed, int position) {
  const v1::ReferralTriaged& d = listed.decision;
  v1::MaracCase c;
  c.set_referral_id(listed.referral_id);
  c.set_meeting_id(listed.meeting_id);
  c.set_position(position);
  c.set_risk(d.risk());
  c.set_dash_score(d.dash_score());
  c.set_repeat_marac(d.repeat_marac());
  for (const v1::RuleReason& r : d.reasons()) {
    if (absl::StartsWith(r.rule_id(), "MARAC-")) *c.add_reasons() = r;
  }
  c.set_legal_basis(d.legal_basis());
  *c.mutable_decided_at() = timeutil::ToTimestamp(listed.decided_at);
  c.set_heard(listed.heard_at.has_value());
  if (listed.heard_at.has_value()) {
    *c.mutable_heard_at() = timeutil::ToTimestamp(*listed.heard_at);
  }
  c.set_carried_from(listed.carried_from);
  return c;
}

errors::FieldErrors ValidateScheduleMeeting(const v1::ScheduleMeetingRequest& r,
                                            absl::Time now) {
  errors::FieldErrors errors;
  CheckArea(errors, r.area_code());
  const absl::Time meeting_at = timeutil::FromTimestamp(r.meeting_at());
  if (!r.has_meeting_at() || meeting_at <= now) {
    errors.Add("meeting_at", "is required and must be in the future");
  }
  if (!r.has_agenda_closes_at()) {
    errors.Add("agenda_closes_at", "is required");
  } else if (timeutil::FromTimestamp(r.agenda_closes_at()) <= now) {
    errors.Add("agenda_closes_at",
               "must be in the future (an agenda already closed could "
               "take no cases)");
  } else if (r.has_meeting_at() &&
             timeutil::FromTimestamp(r.agenda_closes_at()) >= meeting_at) {
    errors.Add("agenda_closes_at", "must be before meeting_at");
  }
  if (r.capacity() < 1 || r.capacity() > kMaxMeetingCapacity) {
    errors.Add("capacity",
               absl::StrCat("must be between 1 and ", kMaxMeetingCapacity));
  }
  return errors;
}

errors::FieldErrors ValidateListMeetings(const v1::ListMeetingsRequest& r) {
  errors::FieldErrors errors;
  CheckArea(errors, r.area_code());
  return errors;
}

errors::FieldErrors ValidateGetMeeting(const v1::GetMeetingRequest& r) {
  errors::FieldErrors errors;
  CheckUuid(errors, "meeting_id", r.meeting_id());
  return errors;
}

errors::FieldErrors ValidateMarkHeard(const v1::MarkHeardRequest& r) {
  errors::FieldErrors errors;
  CheckUuid(errors, "meeting_id", r.meeting_id());
  CheckUuid(errors, "referral_id", r.referral_id());
  return errors;
}

errors::FieldErrors ValidateAllocateAction(const v1::AllocateActionRequest& r) {
  errors::FieldErrors errors;
  CheckUuid(errors, "meeting_id", r.meeting_id());
  CheckUuid(errors, "referral_id", r.referral_id());
  if (!access::IsAgencyId(r.agency_id())) {
    errors.Add("agency_id", "is required: a registered agency id");
  }
  if (!v1::MaracActionKind_IsValid(r.kind()) ||
      r.kind() == v1::MARAC_ACTION_KIND_UNSPECIFIED) {
    errors.Add("kind", "is required: a MaracActionKind");
  }
  if (!r.has_due()) errors.Add("due", "is required");
  return errors;
}

errors::FieldErrors ValidateCompleteAction(const v1::CompleteActionRequest& r) {
  errors::FieldErrors errors;
  CheckUuid(errors, "action_id", r.action_id());
  return errors;
}

errors::FieldErrors ValidateCloseMeeting(const v1::CloseMeetingRequest& r) {
  errors::FieldErrors errors;
  CheckUuid(errors, "meeting_id", r.meeting_id());
  return errors;
}

absl::Status CheckScheduled(const MeetingRecord& meeting) {
  if (meeting.state == v1::MARAC_MEETING_STATE_SCHEDULED) {
    return absl::OkStatus();
  }
  return errors::RuleViolation(kRuleMeetingClosed, meeting.meeting_id,
                               "the meeting is closed: its minutes are final");
}

absl::Status CheckHeld(const MeetingRecord& meeting, absl::Time now) {
  if (absl::Status s = CheckScheduled(meeting); !s.ok()) return s;
  if (now < meeting.meeting_at) {
    return errors::RuleViolation(kRuleMeetingNotHeld, meeting.meeting_id,
                                 "the meeting has not met yet");
  }
  return absl::OkStatus();
}

absl::Status CheckListed(const MeetingRecord& meeting,
                         const std::optional<ListedCase>& listed,
                         const std::string& referral_id) {
  if (listed.has_value()) return absl::OkStatus();
  return errors::RuleViolation(
      kRuleCaseNotListed, referral_id,
      absl::StrCat("the case is not on the agenda of meeting ",
                   meeting.meeting_id));
}

absl::Status CheckAllocation(const MeetingRecord& meeting,
                             const std::optional<ListedCase>& listed,
                             const v1::AllocateActionRequest& request,
                             bool agency_registered, absl::Time now) {
  errors::FieldErrors errors;
  if (!agency_registered) {
    errors.Add("agency_id", "is not a registered agency");
  }
  if (timeutil::FromTimestamp(request.due()) <= meeting.meeting_at) {
    errors.Add("due", "must be after the meeting");
  }
  if (absl::Status s = errors.ToStatus(); !s.ok()) return s;
  if (absl::Status s = CheckHeld(meeting, now); !s.ok()) return s;
  if (absl::Status s = CheckListed(meeting, listed, request.referral_id());
      !s.ok()) {
    return s;
  }
  if (!listed->heard_at.has_value()) {
    return errors::RuleViolation(
        kRuleCaseNotHeard, request.referral_id(),
        "actions are allocated for a case the meeting has heard");
  }
  return absl::OkStatus();
}

}  // namespace signpost::triage
