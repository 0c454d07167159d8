#include "services/triage/triage_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/paging/page.h"
#include "common/status/macros.h"
#include "services/triage/validation.h"

namespace signpost::triage {
namespace {

Reassessment ReassessmentOf(const v1::ReassessRequest& r) {
  Reassessment out{ReferralId(r.referral_id()), r.assessment(), std::nullopt,
                   r.practitioner_id()};
  if (r.has_new_incident_time()) out.new_incident_time = r.new_incident_time();
  return out;
}

RiskJudgement JudgementOf(const v1::OverrideRiskRequest& r) {
  return RiskJudgement{ReferralId(r.referral_id()), r.risk(),
                       r.practitioner_id(), r.reason()};
}

v1::GetDecisionResponse DecisionResponseOf(
    const std::string& referral_id, std::vector<v1::DecisionVersion> history) {
  v1::GetDecisionResponse response;
  response.set_referral_id(referral_id);
  *response.mutable_decision() = history.back().decision();
  *response.mutable_decided_at() = history.back().decided_at();
  for (v1::DecisionVersion& v : history) {
    *response.add_history() = std::move(v);
  }
  return response;
}

void LogNewVersion(const char* what, const std::string& referral_id,
                   const v1::DecisionVersion& v,
                   const std::string& traceparent) {
  log::Info(what,
            {{"referral_id", referral_id},
             {"version", v.version()},
             {"risk", v1::RiskLevel_Name(v.decision().risk())}},
            TraceIdOf(traceparent));
}

}  // namespace

grpc::ServerUnaryReactor* TriageServiceImpl::GetDecision(
    grpc::CallbackServerContext* context, const v1::GetDecisionRequest* request,
    v1::GetDecisionResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.TriageService/GetDecision",
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetDecision(*request).ToStatus());
        ASSIGN_OR_RETURN(
            std::vector<v1::DecisionVersion> history,
            app_.GetDecision(caller, ReferralId(request->referral_id())));
        *response =
            DecisionResponseOf(request->referral_id(), std::move(history));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TriageServiceImpl::Reassess(
    grpc::CallbackServerContext* context, const v1::ReassessRequest* request,
    v1::ReassessResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.TriageService/Reassess", wake_relay_,
      response->mutable_decision(),
      [request] { return ValidateReassess(*request, absl::Now()); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent)
          -> absl::StatusOr<v1::DecisionVersion> {
        ASSIGN_OR_RETURN(
            v1::DecisionVersion v,
            app_.Reassess(caller, ReassessmentOf(*request), traceparent));
        LogNewVersion("referral reassessed", request->referral_id(), v,
                      traceparent);
        return v;
      });
}

grpc::ServerUnaryReactor* TriageServiceImpl::OverrideRisk(
    grpc::CallbackServerContext* context,
    const v1::OverrideRiskRequest* request,
    v1::OverrideRiskResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.TriageService/OverrideRisk", wake_relay_,
      response->mutable_decision(),
      [request] { return ValidateOverride(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent)
          -> absl::StatusOr<v1::DecisionVersion> {
        ASSIGN_OR_RETURN(
            v1::DecisionVersion v,
            app_.OverrideRisk(caller, JudgementOf(*request), traceparent));
        LogNewVersion("risk overridden", request->referral_id(), v,
                      traceparent);
        return v;
      });
}

grpc::ServerUnaryReactor* TriageServiceImpl::ListMaracAgenda(
    grpc::CallbackServerContext* context,
    const v1::ListMaracAgendaRequest* request,
    v1::ListMaracAgendaResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.TriageService/ListMaracAgenda",
      [=, this](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope({request->area_code()});
        ASSIGN_OR_RETURN(
            paging::PageRequest page,
            paging::CheckPageRequest(kMaracAgendaListing, scope, *request,
                                     ValidateListMaracAgenda(*request)));
        ASSIGN_OR_RETURN(
            paging::Page<v1::MaracAgendaItem> items,
            app_.ListMaracAgenda(caller, request->area_code(), page));
        for (v1::MaracAgendaItem& item : items.items) {
          *response->add_items() = std::move(item);
        }
        response->set_next_page_token(
            paging::NextPageToken(kMaracAgendaListing, scope, items.next));
        return absl::OkStatus();
      });
}

}  // namespace signpost::triage
