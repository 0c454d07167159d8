#include "services/advocacy/assigner.h"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/log/log.h"
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
  if (a.also_pathway != v1::PATHWAY_UNSPECIFIED) {
    request.role = v1::ADVOCATE_ROLE_IDSVA;
  }
  request.preferred_specialisms = a.preferred_specialisms;
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

absl::Status EmitUnserved(store::Tx& tx, const AssignmentRecord& a,
                          v1::AdvocateRole role, const std::string& reason,
                          const v1::EventEnvelope* cause,
                          const std::string& traceparent) {
  v1::EventEnvelope out =
      events::NewEnvelope("advocacy", a.referral_id.value(), cause);
  v1::PathwayUnserved* u = out.mutable_pathway_unserved();
  u->set_assignment_id(a.assignment_id.value());
  u->set_pathway(a.pathway);
  u->set_service(a.service);
  u->set_role(role);
  u->set_area_code(a.area);
  u->set_locality_code(a.locality);
  u->set_reason(reason);
  // For the operators (codes and ids only); the area's commissioner hears
  // of it through partner delivery.
  log::Warn("pathway unserved",
            {{"referral_id", a.referral_id.value()},
             {"pathway", v1::Pathway_Name(a.pathway)},
             {"service", v1::ServiceKind_Name(a.service)},
             {"area_code", a.area},
             {"locality_code", a.locality},
             {"reason", reason}},
            TraceIdOf(traceparent));
  return Emit(tx, std::move(out), traceparent);
}

absl::StatusOr<bool> Assigner::OfferService(store::Tx& tx, AssignmentRecord& a,
                                            AssignmentAction action,
                                            absl::Time now,
                                            const std::string& traceparent,
                                            const v1::EventEnvelope* cause) {
  // Providers that declined this referral are not asked again (their id is
  // the step's detail). One that let the offer expire is: in an area with
  // one SARC, nobody else could take it.
  std::set<std::string> excluded;
  ASSIGN_OR_RETURN(std::vector<v1::AssignmentStep> history,
                   assignments_.History(tx, a.assignment_id));
  for (const v1::AssignmentStep& s : history) {
    if (s.step() == kStepDeclined) {
      excluded.insert(s.detail().substr(0, s.detail().find(' ')));
    }
  }
  ASSIGN_OR_RETURN(std::vector<ServiceProviderView> offering,
                   directory_.ProvidersOffering(tx, a.service, a.area));
  const ServiceMatch match =
      MatchService(a.service, a.area, excluded, offering);
  if (!match.provider_id) {
    if (action == AssignmentAction::kOfferFromWaitlist) return false;
    RETURN_IF_ERROR(Waitlist(a, action, match.reason, now));
    RETURN_IF_ERROR(assignments_.Save(tx, a));
    RETURN_IF_ERROR(assignments_.AddHistory(
        tx, a.assignment_id,
        Step(now, kStepWaitlisted, AdvocateId(), "UNSERVED")));
    RETURN_IF_ERROR(EmitUnserved(tx, a, v1::ADVOCATE_ROLE_UNSPECIFIED,
                                 match.reason, cause, traceparent));
    return false;
  }
  const ProviderId provider(*match.provider_id);
  RETURN_IF_ERROR(
      OfferToProvider(a, action, provider, match.reason, now + offer_timeout_));
  if (!a.offered_at) a.offered_at = now;  // meets SLA-VCOP-REFERRAL
  RETURN_IF_ERROR(assignments_.Save(tx, a));
  RETURN_IF_ERROR(assignments_.AddHistory(
      tx, a.assignment_id,
      Step(now, kStepOffered, AdvocateId(), provider.value())));
  v1::EventEnvelope out =
      events::NewEnvelope("advocacy", a.referral_id.value(), cause);
  v1::ServiceOffered* o = out.mutable_service_offered();
  o->set_assignment_id(a.assignment_id.value());
  o->set_pathway(a.pathway);
  o->set_service(a.service);
  o->set_provider_id(provider.value());
  o->set_reason(match.reason);
  if (a.first_contact_due) {
    *o->mutable_first_contact_due() =
        timeutil::ToTimestamp(*a.first_contact_due);
  }
  o->set_reoffer(action == AssignmentAction::kDecline ||
                 action == AssignmentAction::kExpire ||
                 action == AssignmentAction::kOfferFromWaitlist);
  RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
  return true;
}

absl::StatusOr<bool> Assigner::OfferOrWaitlist(
    store::Tx& tx, AssignmentRecord& a, AssignmentAction action, absl::Time now,
    const std::string& traceparent, const v1::EventEnvelope* cause) {
  if (a.service != v1::SERVICE_KIND_UNSPECIFIED) {
    return OfferService(tx, a, action, now, traceparent, cause);
  }
  std::optional<v1::AdvocateRole> role =
      a.also_pathway != v1::PATHWAY_UNSPECIFIED
          ? std::optional<v1::AdvocateRole>(v1::ADVOCATE_ROLE_IDSVA)
          : RoleForPathway(a.pathway);
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
  if (a.also_pathway != v1::PATHWAY_UNSPECIFIED) {
    match.reason = absl::StrCat(
        "IDSVA: one advocate for ", v1::Pathway_Name(a.pathway), " and ",
        v1::Pathway_Name(a.also_pathway), " in place of two; ", match.reason);
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
  if (match.serving == 0 && action == AssignmentAction::kRoute) {
    // Waiting is not enough when nobody with the role serves the locality:
    // the area's operators and commissioner are told.
    RETURN_IF_ERROR(
        EmitUnserved(tx, a, *role,
                     absl::StrCat("no ", v1::AdvocateRole_Name(*role),
                                  " serves ", a.locality),
                     cause, traceparent));
  }
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
  if (!a.offered_at) a.offered_at = now;  // meets SLA-VCOP-REFERRAL
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
    o->set_also_pathway(a.also_pathway);
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
