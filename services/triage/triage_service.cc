#include "services/triage/triage_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::triage {
namespace {

void CheckReferralId(grpcutil::FieldErrors& errors, const std::string& id) {
  if (!IsUuid(id)) errors.Add("referral_id", "must be a referral id (UUID)");
}

void CheckPractitioner(grpcutil::FieldErrors& errors, const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok &= absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_' || c == '.';
  }
  if (!ok)
    errors.Add("practitioner_id",
               "is required: 1-64 of A-Z, a-z, 0-9, '-', '_', '.'");
}

}  // namespace

grpcutil::FieldErrors ValidateReassess(const v1::ReassessRequest& r) {
  grpcutil::FieldErrors errors;
  CheckReferralId(errors, r.referral_id());
  CheckPractitioner(errors, r.practitioner_id());
  if (!r.has_assessment()) {
    errors.Add("assessment", "is required");
  } else {
    const v1::Assessment& a = r.assessment();
    if (a.dash_answers_size() != 0 && a.dash_answers_size() != 24) {
      errors.Add("assessment.dash_answers",
                 "must have exactly 24 answers (or none)");
    }
    if (a.sdash_answers_size() != 0 && a.sdash_answers_size() != 11) {
      errors.Add("assessment.sdash_answers",
                 "must have exactly 11 answers (or none)");
    }
    for (int i = 0; i < a.pj_flags_size(); ++i) {
      if (!v1::ProfessionalJudgementFlag_IsValid(a.pj_flags(i)) ||
          a.pj_flags(i) == v1::PJ_FLAG_UNSPECIFIED) {
        errors.Add(absl::StrCat("assessment.pj_flags[", i, "]"),
                   "unknown professional-judgement flag");
      }
    }
    if (a.incidents_last_12_months() < 0 ||
        a.incidents_last_12_months() > 1000) {
      errors.Add("assessment.incidents_last_12_months",
                 "must be between 0 and 1000");
    }
  }
  if (r.has_new_incident_time() &&
      absl::FromUnixSeconds(r.new_incident_time().seconds()) >
          absl::Now() + absl::Minutes(5)) {
    errors.Add("new_incident_time", "must not be in the future");
  }
  return errors;
}

grpcutil::FieldErrors ValidateOverride(const v1::OverrideRiskRequest& r) {
  grpcutil::FieldErrors errors;
  CheckReferralId(errors, r.referral_id());
  CheckPractitioner(errors, r.practitioner_id());
  if (!v1::RiskLevel_IsValid(r.risk()) ||
      r.risk() == v1::RISK_LEVEL_UNSPECIFIED) {
    errors.Add("risk", "is required: STANDARD, MEDIUM or HIGH");
  }
  if (r.reason().empty() || r.reason().size() > 2000) {
    errors.Add("reason", "is required (at most 2000 characters)");
  }
  return errors;
}

grpc::ServerUnaryReactor* TriageServiceImpl::GetDecision(
    grpc::CallbackServerContext* context, const v1::GetDecisionRequest* request,
    v1::GetDecisionResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors;
    CheckReferralId(errors, request->referral_id());
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::GetDecisionResponse> found =
        store_.GetDecision(request->referral_id());
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TriageServiceImpl::Reassess(
    grpc::CallbackServerContext* context, const v1::ReassessRequest* request,
    v1::DecisionVersion* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors = ValidateReassess(*request);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::DecisionVersion> v =
        store_.Reassess(*policy_, *request, traceparent);
    if (!v.ok()) return v.status();
    relay_.Notify();
    log::Info("referral reassessed",
              {{"referral_id", request->referral_id()},
               {"version", absl::StrCat(v->version())},
               {"risk", v1::RiskLevel_Name(v->decision().risk())},
               {"practitioner_id", request->practitioner_id()}},
              TraceIdOf(traceparent));
    *response = std::move(*v);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TriageServiceImpl::OverrideRisk(
    grpc::CallbackServerContext* context,
    const v1::OverrideRiskRequest* request, v1::DecisionVersion* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors = ValidateOverride(*request);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::DecisionVersion> v =
        store_.OverrideRisk(*policy_, *request, traceparent);
    if (!v.ok()) return v.status();
    relay_.Notify();
    log::Info("risk overridden",
              {{"referral_id", request->referral_id()},
               {"version", absl::StrCat(v->version())},
               {"risk", v1::RiskLevel_Name(v->decision().risk())},
               {"practitioner_id", request->practitioner_id()}},
              TraceIdOf(traceparent));
    *response = std::move(*v);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TriageServiceImpl::ListMaracAgenda(
    grpc::CallbackServerContext* context,
    const v1::ListMaracAgendaRequest* request,
    v1::ListMaracAgendaResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (request->area_code().empty() || request->area_code().size() > 32) {
      grpcutil::FieldErrors errors;
      errors.Add("area_code", "is required (1-32 characters)");
      return errors.ToStatus();
    }
    absl::StatusOr<v1::ListMaracAgendaResponse> list =
        store_.ListMaracAgenda(request->area_code());
    if (!list.ok()) return list.status();
    *response = std::move(*list);
    return absl::OkStatus();
  });
}

}  // namespace signpost::triage
