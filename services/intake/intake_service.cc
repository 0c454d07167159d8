#include "services/intake/intake_service.h"

#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/paging/page.h"
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
          log::Info("referral rejected", {{"violations", errors.size()}},
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
        response->set_linked_to_referral_id(outcome.linked_to.value());
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
        response->set_lifecycle(view.lifecycle);
        response->set_linked_to_referral_id(view.linked_to.value());
        if (view.erased_at.has_value()) {
          *response->mutable_erased_at() =
              timeutil::ToTimestamp(*view.erased_at);
        }
        for (v1::VictimNotice& n : view.victim_notices) {
          *response->add_victim_notices() = std::move(n);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::UpdateConsent(
    grpc::CallbackServerContext* context,
    const v1::UpdateConsentRequest* request,
    v1::UpdateConsentResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/UpdateConsent", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateReferralId(request->referral_id()).ToStatus());
        ConsentChange change{request->pathway(), v1::RJ_PARTY_UNSPECIFIED,
                             request->status()};
        ASSIGN_OR_RETURN(ConsentOutcome outcome,
                         app_.ChangeConsent(
                             caller, ReferralId(request->referral_id()), change,
                             /*rj=*/false, timeutil::NowMillis(), traceparent));
        wake_relay_();
        response->set_referral_id(request->referral_id());
        *response->mutable_consent() = std::move(outcome.consent);
        response->set_lifecycle(outcome.lifecycle);
        log::Info("consent updated",
                  {{"referral_id", request->referral_id()},
                   {"pathway", v1::Pathway_Name(request->pathway())},
                   {"status", v1::ConsentStatus_Name(request->status())}},
                  TraceIdOf(traceparent));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::CancelReferral(
    grpc::CallbackServerContext* context,
    const v1::CancelReferralRequest* request,
    v1::CancelReferralResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/CancelReferral", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateReferralId(request->referral_id()).ToStatus());
        ASSIGN_OR_RETURN(
            v1::ReferralLifecycle lifecycle,
            app_.CancelReferral(caller, ReferralId(request->referral_id()),
                                request->reason(), timeutil::NowMillis(),
                                traceparent));
        wake_relay_();
        response->set_referral_id(request->referral_id());
        response->set_lifecycle(lifecycle);
        log::Info("referral cancelled",
                  {{"referral_id", request->referral_id()},
                   {"reason", v1::WithdrawalReason_Name(request->reason())}},
                  TraceIdOf(traceparent));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::RecordRjConsent(
    grpc::CallbackServerContext* context,
    const v1::RecordRjConsentRequest* request,
    v1::RecordRjConsentResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/RecordRjConsent", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateReferralId(request->referral_id()).ToStatus());
        ConsentChange change{v1::PATHWAY_UNSPECIFIED, request->party(),
                             request->status()};
        ASSIGN_OR_RETURN(ConsentOutcome outcome,
                         app_.ChangeConsent(
                             caller, ReferralId(request->referral_id()), change,
                             /*rj=*/true, timeutil::NowMillis(), traceparent));
        wake_relay_();
        response->set_referral_id(request->referral_id());
        *response->mutable_consent() = std::move(outcome.consent);
        log::Info("RJ consent recorded",
                  {{"referral_id", request->referral_id()},
                   {"party", v1::RjParty_Name(request->party())},
                   {"status", v1::ConsentStatus_Name(request->status())}},
                  TraceIdOf(traceparent));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::EraseVictim(
    grpc::CallbackServerContext* context, const v1::EraseVictimRequest* request,
    v1::EraseVictimResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.IntakeService/EraseVictim", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateErasure(*request).ToStatus());
        ASSIGN_OR_RETURN(
            ErasureOutcome outcome,
            app_.EraseVictim(caller, ReferralId(request->referral_id()),
                             request->ground(), request->reason(),
                             timeutil::NowMillis(), traceparent));
        wake_relay_();
        response->set_person_id(outcome.person_id);
        response->set_referrals_erased(outcome.referrals_erased);
        *response->mutable_erased_at() =
            timeutil::ToTimestamp(outcome.erased_at);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::ListStalled(
    grpc::CallbackServerContext* context, const v1::ListStalledRequest* request,
    v1::ListStalledResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.IntakeService/ListStalled",
      [=, this](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope({request->area_code()});
        errors::FieldErrors e;
        if (request->area_code().size() > 32) {
          e.Add("area_code", "must be at most 32 characters");
        }
        ASSIGN_OR_RETURN(paging::PageRequest page,
                         paging::CheckPageRequest(kStalledListing, scope,
                                                  *request, std::move(e)));
        ASSIGN_OR_RETURN(paging::Page<v1::StalledReferral> items,
                         app_.ListStalled(caller, request->area_code(),
                                          timeutil::NowMillis(), page));
        for (v1::StalledReferral& item : items.items) {
          *response->add_referrals() = std::move(item);
        }
        response->set_next_page_token(
            paging::NextPageToken(kStalledListing, scope, items.next));
        return absl::OkStatus();
      });
}

}  // namespace signpost::intake
