#include "services/intake/intake_service.h"

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/intake/validation.h"

namespace signpost::intake {

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitReferral(
    grpc::CallbackServerContext* context,
    const v1::SubmitReferralRequest* request,
    v1::SubmitReferralResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/SubmitReferral", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        const absl::Time now = timeutil::NowMillis();
        errors::FieldErrors errors = ValidateSubmission(*request, now);
        if (!errors.empty()) {
          log::Info("referral rejected",
                    {{"violations", absl::StrCat(errors.size())}},
                    TraceIdOf(traceparent));
          return errors.ToStatus();
        }
        ASSIGN_OR_RETURN(
            SubmitOutcome outcome,
            app_.SubmitReferral(caller, request->idempotency_key(),
                                request->referral(), now, traceparent));
        if (!outcome.duplicate) wake_relay_();
        response->set_referral_id(outcome.referral_id.value());
        response->set_duplicate(outcome.duplicate);
        *response->mutable_received_at() =
            timeutil::ToTimestamp(outcome.received_at);
        log::Info(
            outcome.duplicate ? "duplicate referral" : "referral received",
            {{"referral_id", outcome.referral_id.value()},
             {"event_id", outcome.event_id.value()},
             {"source", v1::ReferralSource_Name(request->referral().source())},
             {"area", request->referral().area_code()}},
            TraceIdOf(traceparent));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::GetReferral(
    grpc::CallbackServerContext* context, const v1::GetReferralRequest* request,
    v1::GetReferralResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/GetReferral", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetReferral(*request).ToStatus());
        ASSIGN_OR_RETURN(
            ReferralView view,
            app_.GetReferral(caller, ReferralId(request->referral_id()),
                             request->break_glass_reason(),
                             timeutil::NowMillis(), traceparent));
        if (view.audited) wake_relay_();
        response->set_referral_id(view.referral.referral_id.value());
        *response->mutable_referral() = std::move(view.referral.referral);
        *response->mutable_received_at() =
            timeutil::ToTimestamp(view.referral.received_at);
        response->set_disclosed(view.field_class);
        return absl::OkStatus();
      });
}

}  // namespace signpost::intake
