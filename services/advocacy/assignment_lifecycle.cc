#include "services/advocacy/assignment_lifecycle.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::advocacy {
namespace {

using A = AssignmentAction;
constexpr v1::AssignmentState kNew = v1::ASSIGNMENT_STATE_UNSPECIFIED,
                              kWaitlisted = v1::ASSIGNMENT_STATE_WAITLISTED,
                              kOffered = v1::ASSIGNMENT_STATE_OFFERED,
                              kAccepted = v1::ASSIGNMENT_STATE_ACCEPTED,
                              kActive = v1::ASSIGNMENT_STATE_ACTIVE,
                              kClosed = v1::ASSIGNMENT_STATE_CLOSED,
                              kReleased = v1::ASSIGNMENT_STATE_RELEASED;

// The states `action` may start from, in the order messages name them.
std::vector<v1::AssignmentState> StartStates(AssignmentAction action) {
  std::vector<v1::AssignmentState> out;
  for (const Transition& t : LegalTransitions()) {
    if (t.action == action &&
        (out.empty() || out.back() != t.from)) {  // the set is sorted
      out.push_back(t.from);
    }
  }
  return out;
}

}  // namespace

const std::set<Transition>& LegalTransitions() {
  static const auto* t = new std::set<Transition>({
      {kNew, A::kRoute, kOffered},
      {kNew, A::kRoute, kWaitlisted},
      {kWaitlisted, A::kOfferFromWaitlist, kOffered},
      {kOffered, A::kAccept, kAccepted},
      {kOffered, A::kDecline, kOffered},
      {kOffered, A::kDecline, kWaitlisted},
      {kOffered, A::kExpire, kOffered},
      {kOffered, A::kExpire, kWaitlisted},
      {kAccepted, A::kRecordContact, kAccepted},
      {kAccepted, A::kRecordContact, kActive},
      {kActive, A::kRecordContact, kActive},
      {kAccepted, A::kClose, kClosed},
      {kActive, A::kClose, kClosed},
      {kWaitlisted, A::kRelease, kReleased},
      {kOffered, A::kRelease, kReleased},
      {kAccepted, A::kRelease, kReleased},
      {kActive, A::kRelease, kReleased},
  });
  return *t;
}

std::string ActionName(AssignmentAction action) {
  switch (action) {
    case A::kRoute:
      return "route";
    case A::kOfferFromWaitlist:
      return "offer from the waitlist";
    case A::kAccept:
      return "accept";
    case A::kDecline:
      return "decline";
    case A::kExpire:
      return "expire the offer of";
    case A::kRecordContact:
      return "record contact on";
    case A::kClose:
      return "close";
    case A::kRelease:
      return "release";
  }
  return "act on";
}

std::string StateName(v1::AssignmentState state) {
  if (state == kNew) return "NEW";
  std::string name = v1::AssignmentState_Name(state);
  return name.substr(std::string("ASSIGNMENT_STATE_").size());
}

bool MayAct(AssignmentAction action, Actor actor) {
  switch (action) {
    case A::kRoute:
    case A::kOfferFromWaitlist:
    case A::kExpire:
    case A::kRelease:
      return actor == Actor::kSystem;
    case A::kAccept:
    case A::kDecline:
    case A::kRecordContact:
    case A::kClose:
      return actor == Actor::kAssignedAdvocate;
  }
  return false;
}

Actor ActorFor(const AssignmentRecord& assignment, const AdvocateId& advocate) {
  if (assignment.service != v1::SERVICE_KIND_UNSPECIFIED) {
    // A service referral is its provider's (the application checks the
    // caller is that provider); it names no advocate.
    return advocate.empty() && !assignment.provider_id.empty()
               ? Actor::kAssignedAdvocate
               : Actor::kOtherAdvocate;
  }
  return !assignment.advocate_id.empty() && assignment.advocate_id == advocate
             ? Actor::kAssignedAdvocate
             : Actor::kOtherAdvocate;
}

absl::Status CheckCanStart(AssignmentAction action, v1::AssignmentState from) {
  std::vector<v1::AssignmentState> allowed = StartStates(action);
  for (v1::AssignmentState s : allowed) {
    if (s == from) return absl::OkStatus();
  }
  std::vector<std::string> names;
  names.reserve(allowed.size());
  for (v1::AssignmentState s : allowed) names.push_back(StateName(s));
  return errors::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("cannot ", ActionName(action), " an assignment that is ",
                   StateName(from), "; it must be ",
                   absl::StrJoin(names, " or ")));
}

absl::Status CheckTransition(v1::AssignmentState from, AssignmentAction action,
                             v1::AssignmentState to) {
  RETURN_IF_ERROR(CheckCanStart(action, from));
  if (LegalTransitions().count({from, action, to}) == 1) {
    return absl::OkStatus();
  }
  return errors::RuleViolation(
      kLifecycleRule, "state",
      absl::StrCat("cannot ", ActionName(action), " an assignment that is ",
                   StateName(from), " making it ", StateName(to)));
}

absl::Status CheckReferralNotErased(const AssignmentRecord& assignment,
                                    bool erased) {
  if (!erased) return absl::OkStatus();
  return errors::RuleViolation(
      kReferralErasedRule, "assignment_id",
      absl::StrCat("the person of assignment ",
                   assignment.assignment_id.value(),
                   "'s referral was erased: nothing more is recorded on it"));
}

absl::Status CheckAdvocateAction(AssignmentAction action,
                                 const AssignmentRecord& assignment,
                                 const AdvocateId& advocate) {
  if (MayAct(action, Actor::kSystem)) {
    return errors::InvariantViolation(
        absl::StrCat("an advocate asked to ", ActionName(action),
                     " an assignment: only the system does that"));
  }
  RETURN_IF_ERROR(CheckCanStart(action, assignment.state));
  if (!MayAct(action, ActorFor(assignment, advocate))) {
    return errors::RuleViolation(
        kNotYoursRule, "advocate_id",
        absl::StrCat("assignment ", assignment.assignment_id.value(),
                     " is with another advocate"));
  }
  return absl::OkStatus();
}

bool IsFinal(v1::AssignmentState state) {
  return state == kClosed || state == kReleased;
}

bool IsOpen(v1::AssignmentState state) {
  return state == kWaitlisted || HoldsCapacity(state);
}

bool HoldsCapacity(v1::AssignmentState state) {
  return state == kOffered || state == kAccepted || state == kActive;
}

bool OfferDue(const AssignmentRecord& assignment, absl::Time now) {
  return assignment.state == kOffered && assignment.offer_expires_at &&
         *assignment.offer_expires_at <= now;
}

absl::Status Offer(AssignmentRecord& assignment, AssignmentAction action,
                   const AdvocateId& advocate, bool interpreter,
                   std::string reason, absl::Time expires_at) {
  RETURN_IF_ERROR(CheckTransition(assignment.state, action, kOffered));
  assignment.state = kOffered;
  assignment.advocate_id = advocate;
  assignment.interpreter = interpreter;
  assignment.reason = std::move(reason);
  assignment.offer_expires_at = expires_at;
  return absl::OkStatus();
}

absl::Status OfferToProvider(AssignmentRecord& assignment,
                             AssignmentAction action,
                             const ProviderId& provider, std::string reason,
                             absl::Time expires_at) {
  if (assignment.service == v1::SERVICE_KIND_UNSPECIFIED) {
    return errors::InvariantViolation(
        "an advocate's assignment offered to a provider");
  }
  RETURN_IF_ERROR(CheckTransition(assignment.state, action, kOffered));
  assignment.state = kOffered;
  assignment.provider_id = provider;
  assignment.reason = std::move(reason);
  assignment.offer_expires_at = expires_at;
  return absl::OkStatus();
}

absl::Status Waitlist(AssignmentRecord& assignment, AssignmentAction action,
                      std::string reason, absl::Time now) {
  RETURN_IF_ERROR(CheckTransition(assignment.state, action, kWaitlisted));
  assignment.state = kWaitlisted;
  assignment.advocate_id = AdvocateId();
  if (assignment.service != v1::SERVICE_KIND_UNSPECIFIED) {
    assignment.provider_id = ProviderId();
  }
  assignment.interpreter = false;
  assignment.reason = std::move(reason);
  assignment.offer_expires_at.reset();
  if (!assignment.waitlisted_at) assignment.waitlisted_at = now;
  return absl::OkStatus();
}

absl::Status Release(AssignmentRecord& assignment, absl::Time now) {
  RETURN_IF_ERROR(CheckTransition(assignment.state, A::kRelease, kReleased));
  assignment.state = kReleased;
  assignment.closed_at = now;
  return absl::OkStatus();
}

absl::Status Accept(AssignmentRecord& assignment, const AdvocateId& advocate,
                    absl::Time now) {
  RETURN_IF_ERROR(CheckAdvocateAction(A::kAccept, assignment, advocate));
  if (!assignment.offer_expires_at || now > *assignment.offer_expires_at) {
    return errors::RuleViolation(kOfferExpiredRule, "assignment_id",
                                 "the offer expired before it was accepted");
  }
  assignment.state = kAccepted;
  if (!assignment.accepted_at) assignment.accepted_at = now;
  return absl::OkStatus();
}

absl::Status CheckDecline(const AssignmentRecord& assignment,
                          const AdvocateId& advocate) {
  return CheckAdvocateAction(A::kDecline, assignment, advocate);
}

absl::StatusOr<std::string> RecordContact(AssignmentRecord& assignment,
                                          const AdvocateId& advocate,
                                          v1::ContactOutcome outcome,
                                          absl::Time at) {
  RETURN_IF_ERROR(CheckAdvocateAction(A::kRecordContact, assignment, advocate));
  switch (outcome) {
    case v1::CONTACT_OUTCOME_SUCCESSFUL:
      if (assignment.first_contact_at) return std::string(kStepContact);
      assignment.first_contact_at = at;
      assignment.state = kActive;
      return std::string(kStepFirstContact);
    case v1::CONTACT_OUTCOME_UNSAFE:
      return std::string(kStepContactUnsafe);
    default:
      return std::string(kStepContactNoAnswer);
  }
}

absl::Status Close(AssignmentRecord& assignment, const AdvocateId& advocate,
                   const Closure& closure, absl::Time now) {
  RETURN_IF_ERROR(CheckAdvocateAction(A::kClose, assignment, advocate));
  assignment.state = kClosed;
  assignment.closed_at = now;
  assignment.closure = closure;
  return absl::OkStatus();
}

int ContactAttempts(const std::vector<v1::AssignmentStep>& history) {
  int attempts = 0;
  for (const v1::AssignmentStep& s : history) {
    attempts += s.step() == kStepFirstContact || s.step() == kStepContact ||
                s.step() == kStepContactUnsafe ||
                s.step() == kStepContactNoAnswer;
  }
  return attempts;
}

v1::Assignment ToAssignmentView(const AssignmentRecord& r,
                                std::vector<v1::AssignmentStep> history) {
  using timeutil::ToTimestamp;
  v1::Assignment a;
  a.set_assignment_id(r.assignment_id.value());
  a.set_referral_id(r.referral_id.value());
  a.set_pathway(r.pathway);
  a.set_state(r.state);
  a.set_advocate_id(r.advocate_id.value());
  a.set_interpreter_flag(r.interpreter);
  a.set_reason(r.reason);
  a.set_priority(r.priority);
  *a.mutable_created_at() = ToTimestamp(r.created_at);
  if (r.first_contact_due) {
    *a.mutable_first_contact_due() = ToTimestamp(*r.first_contact_due);
  }
  if (r.state == kOffered && r.offer_expires_at) {
    *a.mutable_offer_expires_at() = ToTimestamp(*r.offer_expires_at);
  }
  if (r.first_contact_at) {
    *a.mutable_first_contact_at() = ToTimestamp(*r.first_contact_at);
  }
  a.set_closure_reason(r.closure.reason);
  a.set_feels_safer(r.closure.feels_safer);
  a.set_copes_better(r.closure.copes_better);
  a.set_better_informed(r.closure.better_informed);
  a.set_service(r.service);
  a.set_provider_id(r.provider_id.value());
  a.set_also_pathway(r.also_pathway);
  a.set_first_contact_rule(r.first_contact_rule);
  if (r.deadline_warned_at) {
    *a.mutable_deadline_warned_at() =
        timeutil::ToTimestamp(*r.deadline_warned_at);
  }
  if (r.deadline_missed_at) {
    *a.mutable_deadline_missed_at() =
        timeutil::ToTimestamp(*r.deadline_missed_at);
  }
  if (r.update_due) *a.mutable_update_due() = ToTimestamp(*r.update_due);
  if (r.last_update_at) {
    *a.mutable_last_update_at() = ToTimestamp(*r.last_update_at);
  }
  a.set_updates(r.updates);
  if (r.referral_due) *a.mutable_referral_due() = ToTimestamp(*r.referral_due);
  *a.mutable_baseline() = r.baseline;
  a.set_contact_attempts(ContactAttempts(history));
  for (v1::AssignmentStep& s : history) {
    if (s.step() == kStepContactUnsafe) {
      a.set_unsafe_attempts(a.unsafe_attempts() + 1);
    }
    *a.add_history() = std::move(s);
  }
  return a;
}

}  // namespace signpost::advocacy
