#include "services/advocacy/assigner.h"

#include <optional>
#include <utility>
#include <vector>

#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/advocacy/matching.h"

namespace signpost::advocacy {

absl::Status Emit(store::Tx& tx, v1::EventEnvelope envelope,
                  const std::string& traceparent) {
  events::StampType(&envelope);
  return store::AppendToOutbox(tx, envelope, events::kAdvocacyTopic,
                               traceparent);
}

v1::AssignmentStep Step(absl::Time at, absl::string_view step,
                        const AdvocateId& advocate, std::string detail) {
  v1::AssignmentStep s;
  *s.mutable_at() = timeutil::ToTimestamp(at);
  s.set_step(std::string(step));
  s.set_advocate_id(advocate.value());
  s.set_detail(std::move(detail));
  return s;
}

absl::StatusOr<MatchRequest> Assigner::MatchRequestFor(
    store::Tx& tx, const AssignmentRecord& a, absl::Time now) {
  MatchRequest request;
  request.pathway = a.pathway;
  request.locality = a.locality;
  request.language = a.language;
  request.language_match_required = a.language_required;
  request.now_ms = absl::ToUnixMillis(now);
  // Advocates who declined this case or let it expire are not asked again.
  ASSIGN_OR_RETURN(std::vector<v1::AssignmentStep> history,
                   assignments_.History(tx, a.assignment_id));
  for (const v1::AssignmentStep& s : history) {
    if (s.step() == kStepDeclined || s.step() == kStepExpired) {
      request.excluded.insert(s.advocate_id());
    }
  }
  if (!a.victim_ref.empty()) {
    ASSIGN_OR_RETURN(std::vector<AdvocateId> previous,
                     assignments_.AdvocatesWhoSupportedVictim(tx, a.victim_ref,
                                                              a.assignment_id));
    for (const AdvocateId& id : previous) request.previous.insert(id.value());
  }
  return request;
}

absl::StatusOr<bool> Assigner::OfferOrWaitlist(
    store::Tx& tx, AssignmentRecord& a, AssignmentAction action, absl::Time now,
    const std::string& traceparent, const v1::EventEnvelope* cause) {
  std::optional<v1::AdvocateRole> role = RoleForPathway(a.pathway);
  if (!role) {
    return errors::InvariantViolation(
        "an assignment for a pathway without an advocate role");
  }
  ASSIGN_OR_RETURN(MatchRequest request, MatchRequestFor(tx, a, now));
  ASSIGN_OR_RETURN(std::vector<AdvocateView> pool,
                   directory_.OpenAdvocates(tx, *role, a.locality));
  MatchResult match = Match(request, pool);
  if (!match.chosen) {
    // A waitlist pass records nothing for a case that stays waiting.
    if (action == AssignmentAction::kOfferFromWaitlist) return false;
    // Nobody could take it: match against the whole role so that the
    // recorded reason says why.
    ASSIGN_OR_RETURN(pool, directory_.AdvocatesWithRole(tx, *role));
    match = Match(request, pool);
    if (match.chosen) {
      return errors::InvariantViolation(
          "the advocate prefilter disagreed with matching");
    }
  }
  v1::EventEnvelope out =
      events::NewEnvelope("advocacy", a.referral_id.value(), cause);
  if (match.chosen) {
    RETURN_IF_ERROR(
        OfferTo(tx, a, action, match, now, std::move(out), traceparent));
    return true;
  }
  RETURN_IF_ERROR(
      WaitlistIt(tx, a, action, match, now, std::move(out), traceparent));
  return false;
}

absl::Status Assigner::OfferTo(store::Tx& tx, AssignmentRecord& a,
                               AssignmentAction action,
                               const MatchResult& match, absl::Time now,
                               v1::EventEnvelope out,
                               const std::string& traceparent) {
  const AdvocateId advocate(match.chosen->advocate_id);
  RETURN_IF_ERROR(Offer(a, action, advocate, match.interpreter, match.reason,
                        now + offer_timeout_));
  ASSIGN_OR_RETURN(bool reserved,
                   directory_.ReserveCapacity(tx, advocate, now));
  if (!reserved) {
    // Capacity was checked in this same transaction.
    return errors::InvariantViolation(
        "advocate capacity changed during assignment");
  }
  RETURN_IF_ERROR(assignments_.Save(tx, a));
  RETURN_IF_ERROR(
      assignments_.AddHistory(tx, a.assignment_id,
                              Step(now, kStepOffered, advocate,
                                   match.interpreter ? "interpreter" : "")));
  const google::protobuf::Timestamp expires =
      timeutil::ToTimestamp(*a.offer_expires_at);
  if (action == AssignmentAction::kOfferFromWaitlist) {
    v1::WaitlistAssigned* w = out.mutable_waitlist_assigned();
    w->set_assignment_id(a.assignment_id.value());
    w->set_pathway(a.pathway);
    w->set_advocate_id(advocate.value());
    w->set_provider_id(match.chosen->provider_id);
    w->set_interpreter_flag(match.interpreter);
    w->set_waited_seconds(
        absl::ToInt64Seconds(now - a.waitlisted_at.value_or(now)));
    *w->mutable_offer_expires_at() = expires;
  } else {
    v1::AdvocateOffered* o = out.mutable_advocate_offered();
    o->set_assignment_id(a.assignment_id.value());
    o->set_pathway(a.pathway);
    o->set_advocate_id(advocate.value());
    o->set_provider_id(match.chosen->provider_id);
    o->set_interpreter_flag(match.interpreter);
    o->set_reason(match.reason);
    *o->mutable_offer_expires_at() = expires;
    o->set_reoffer(action == AssignmentAction::kDecline ||
                   action == AssignmentAction::kExpire);
  }
  return Emit(tx, std::move(out), traceparent);
}

absl::Status Assigner::WaitlistIt(store::Tx& tx, AssignmentRecord& a,
                                  AssignmentAction action,
                                  const MatchResult& match, absl::Time now,
                                  v1::EventEnvelope out,
                                  const std::string& traceparent) {
  RETURN_IF_ERROR(Waitlist(a, action, match.reason, now));
  RETURN_IF_ERROR(assignments_.Save(tx, a));
  RETURN_IF_ERROR(assignments_.AddHistory(
      tx, a.assignment_id, Step(now, kStepWaitlisted, AdvocateId())));
  v1::ReferralWaitlisted* w = out.mutable_referral_waitlisted();
  w->set_pathway(a.pathway);
  w->set_priority(a.priority);
  w->set_reason(match.reason);
  w->set_assignment_id(a.assignment_id.value());
  return Emit(tx, std::move(out), traceparent);
}

absl::StatusOr<int> Assigner::DrainWaitlist(store::Tx& tx, absl::Time now,
                                            const std::string& traceparent) {
  ASSIGN_OR_RETURN(std::vector<AssignmentRecord> waiting,
                   assignments_.Waitlisted(tx));
  int assigned = 0;
  for (AssignmentRecord& a : waiting) {
    ASSIGN_OR_RETURN(
        bool offered,
        OfferOrWaitlist(tx, a, AssignmentAction::kOfferFromWaitlist, now,
                        traceparent, nullptr));
    assigned += offered ? 1 : 0;
  }
  return assigned;
}

}  // namespace signpost::advocacy
