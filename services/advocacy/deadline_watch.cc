#include "services/advocacy/deadline_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/safety/contact_rules.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::advocacy {
namespace {

bool OneOf(v1::AssignmentState s,
           std::initializer_list<v1::AssignmentState> l) {
  for (v1::AssignmentState x : l) {
    if (s == x) return true;
  }
  return false;
}

// One watched deadline of an assignment: its due time, marks and rule.
struct Watched {
  const char* kind;
  std::optional<absl::Time> due;
  std::optional<absl::Time>* warned;
  std::optional<absl::Time>* missed;
  std::string rule;
  bool open;
};

}  // namespace

bool IsVictimSupport(const AssignmentRecord& a) {
  if (a.service == v1::SERVICE_KIND_UNSPECIFIED) return true;
  return safety::WorksWithVictim(a.service) &&
         a.service != v1::SERVICE_KIND_CHILDREN_SAFEGUARDING;
}

bool ReferralAwaitsSupport(const std::vector<AssignmentRecord>& referral) {
  bool waiting = false;
  for (const AssignmentRecord& a : referral) {
    if (!IsVictimSupport(a)) continue;
    if (a.offered_at) return false;
    waiting |= a.state == v1::ASSIGNMENT_STATE_UNSPECIFIED ||
               a.state == v1::ASSIGNMENT_STATE_WAITLISTED;
  }
  return waiting;
}

std::vector<DeadlineReport> DueReports(AssignmentRecord& a, absl::Time now,
                                       absl::Duration lead,
                                       bool awaits_support) {
  using S = v1::AssignmentState;
  const Watched watched[] = {
      {kFirstContactKind, a.first_contact_due, &a.deadline_warned_at,
       &a.deadline_missed_at, a.first_contact_rule,
       !a.first_contact_at && OneOf(a.state, {S::ASSIGNMENT_STATE_WAITLISTED,
                                              S::ASSIGNMENT_STATE_OFFERED,
                                              S::ASSIGNMENT_STATE_ACCEPTED})},
      {kReferralKind, a.referral_due, &a.referral_warned_at,
       &a.referral_missed_at, kReferralRule, awaits_support},
      {kUpdatesKind, a.update_due, &a.update_warned_at, &a.update_missed_at,
       kUpdatesRule,
       a.service == v1::SERVICE_KIND_UNSPECIFIED &&
           OneOf(a.state,
                 {S::ASSIGNMENT_STATE_ACCEPTED, S::ASSIGNMENT_STATE_ACTIVE})},
  };
  std::vector<DeadlineReport> out;
  for (const Watched& w : watched) {
    if (!w.open || !w.due || w.missed->has_value()) continue;
    DeadlineReport r;
    if (*w.due <= now) {
      r.missed = true;
      *w.missed = now;
      if (!w.warned->has_value()) *w.warned = now;
    } else if (*w.due - lead <= now && !w.warned->has_value()) {
      *w.warned = now;
    } else {
      continue;
    }
    r.deadline.set_kind(w.kind);
    *r.deadline.mutable_due() = timeutil::ToTimestamp(*w.due);
    r.deadline.set_rule_id(w.rule);
    r.deadline.set_pathway(a.pathway);
    if (w.kind == std::string(kUpdatesKind)) {
      r.deadline.set_working_days(a.update_working_days);
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status StartUpdateClock(AssignmentRecord& a,
                              const calendar::WorkingCalendar* cal) {
  if (cal == nullptr || a.update_working_days <= 0 || !a.first_contact_at ||
      a.service != v1::SERVICE_KIND_UNSPECIFIED || a.update_due) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      absl::Time due,
      cal->EndOfWorkingDays(*a.first_contact_at, a.update_working_days));
  a.update_due = due;
  return absl::OkStatus();
}

absl::StatusOr<UpdateClockResult> GiveUpdate(
    AssignmentRecord& a, const AdvocateId& advocate, absl::Time at,
    const calendar::WorkingCalendar* cal) {
  if (a.service != v1::SERVICE_KIND_UNSPECIFIED) {
    return errors::RuleViolation(
        kUpdateRule, "assignment_id",
        "a service referral gives no Victims' Code updates; the advocate "
        "holding the case does");
  }
  if (a.state != v1::ASSIGNMENT_STATE_ACCEPTED &&
      a.state != v1::ASSIGNMENT_STATE_ACTIVE) {
    return errors::RuleViolation(
        kUpdateRule, "assignment_id",
        absl::StrCat("updates are recorded on an accepted or active case, not "
                     "one ",
                     StateName(a.state)));
  }
  if (a.advocate_id != advocate) {
    return errors::RuleViolation(kUpdateRule, "advocate_id",
                                 "the case is held by another advocate");
  }
  if (at < a.created_at) {
    return errors::RuleViolation(kUpdateRule, "at",
                                 "an update before the referral reached "
                                 "advocacy");
  }
  if (a.last_update_at && at < *a.last_update_at) {
    return errors::RuleViolation(
        kUpdateRule, "at",
        "an update dated before the last one recorded: record updates in "
        "order");
  }
  UpdateClockResult given;
  given.due = a.update_due;
  given.within_deadline = !a.update_due || at <= *a.update_due;
  if (cal != nullptr && a.update_working_days > 0) {
    ASSIGN_OR_RETURN(absl::Time next,
                     cal->EndOfWorkingDays(at, a.update_working_days));
    given.next_due = next;
  }
  a.update_due = given.next_due;
  a.update_warned_at.reset();
  a.update_missed_at.reset();
  a.last_update_at = at;
  ++a.updates;
  return given;
}

}  // namespace signpost::advocacy
