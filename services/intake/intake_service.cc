#include "services/intake/intake_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "services/intake/validation.h"

namespace signpost::intake {

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitReferral(
    grpc::CallbackServerContext* context,
    const v1::SubmitReferralRequest* request,
    v1::SubmitReferralResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    absl::Time now = absl::Now();
    grpcutil::FieldErrors errors = ValidateSubmission(*request, now);
    if (!errors.empty()) {
      log::Info("referral rejected",
                {{"violations", absl::StrCat(errors.size())}},
                TraceIdOf(traceparent));
      return errors.ToStatus();
    }
    absl::StatusOr<SubmitOutcome> outcome =
        store_.Submit(*request, now, traceparent);
    if (!outcome.ok()) return outcome.status();
    relay_.Notify();
    response->set_referral_id(outcome->referral_id);
    response->set_duplicate(outcome->duplicate);
    response->mutable_received_at()->set_seconds(
        absl::ToUnixSeconds(outcome->received_at));
    log::Info(
        outcome->duplicate ? "duplicate referral" : "referral received",
        {{"referral_id", outcome->referral_id},
         {"event_id", outcome->event_id},
         {"source", v1::ReferralSource_Name(request->referral().source())},
         {"area", request->referral().area_code()}},
        TraceIdOf(traceparent));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::GetReferral(
    grpc::CallbackServerContext* context, const v1::GetReferralRequest* request,
    v1::GetReferralResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (!IsUuid(request->referral_id())) {
      grpcutil::FieldErrors errors;
      errors.Add("referral_id", "must be a referral id (UUID)");
      return errors.ToStatus();
    }
    absl::StatusOr<v1::GetReferralResponse> found =
        store_.Get(request->referral_id());
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

}  // namespace signpost::intake
