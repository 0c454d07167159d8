#include "services/advocacy/advocacy_service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/paging/page.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/advocacy/directory.h"
#include "services/advocacy/validation.h"

namespace signpost::advocacy {
namespace {

using timeutil::NowMillis;

std::optional<ProviderId> OptionalProvider(const std::string& id) {
  if (id.empty()) return std::nullopt;
  return ProviderId(id);
}

}  // namespace

grpc::ServerUnaryReactor* AdvocacyServiceImpl::UpsertProvider(
    grpc::CallbackServerContext* context,
    const v1::UpsertProviderRequest* request,
    v1::UpsertProviderResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/UpsertProvider",
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateUpsertProvider(*request).ToStatus());
        ASSIGN_OR_RETURN(*response->mutable_provider(),
                         app_.UpsertProvider(caller, request->provider()));
        response->mutable_provider()->clear_address_redacted();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetProvider(
    grpc::CallbackServerContext* context, const v1::GetProviderRequest* request,
    v1::GetProviderResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/GetProvider", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetProvider(*request).ToStatus());
        ASSIGN_OR_RETURN(
            AdvocacyApp::ProviderView view,
            app_.GetProvider(caller, ProviderId(request->provider_id()),
                             traceparent));
        if (view.audited) wake_relay_();
        *response->mutable_provider() = std::move(view.provider);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::UpsertAdvocate(
    grpc::CallbackServerContext* context,
    const v1::UpsertAdvocateRequest* request,
    v1::UpsertAdvocateResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/UpsertAdvocate", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        errors::FieldErrors errors;
        ValidateAdvocate(request->advocate(), "advocate", errors);
        RETURN_IF_ERROR(errors.ToStatus());
        ASSIGN_OR_RETURN(*response->mutable_advocate(),
                         app_.UpsertAdvocate(caller, request->advocate(),
                                             NowMillis(), traceparent));
        wake_relay_();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::SetAvailability(
    grpc::CallbackServerContext* context,
    const v1::SetAvailabilityRequest* request,
    v1::SetAvailabilityResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/SetAvailability", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateSetAvailability(*request).ToStatus());
        ASSIGN_OR_RETURN(
            *response->mutable_advocate(),
            app_.SetAvailability(caller, AdvocateId(request->advocate_id()),
                                 request->availability(), NowMillis(),
                                 traceparent));
        wake_relay_();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::ImportDirectory(
    grpc::CallbackServerContext* context,
    const v1::ImportDirectoryRequest* request,
    v1::ImportDirectoryResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/ImportDirectory", traceparent,
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateImportDirectory(*request).ToStatus());
        ASSIGN_OR_RETURN(*response,
                         app_.ImportDirectory(request->directory(), NowMillis(),
                                              traceparent));
        wake_relay_();
        log::Info("directory imported",
                  {{"providers", response->providers()},
                   {"advocates", response->advocates()},
                   {"waitlist_assigned", response->waitlist_assigned()}});
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::ListAdvocates(
    grpc::CallbackServerContext* context,
    const v1::ListAdvocatesRequest* request,
    v1::ListAdvocatesResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/ListAdvocates",
      [=, this](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope(
            {absl::StrCat(request->role()), request->provider_id()});
        ASSIGN_OR_RETURN(
            paging::PageRequest page,
            paging::CheckPageRequest(kAdvocateListing, scope, *request,
                                     ValidateListAdvocates(*request)));
        ASSIGN_OR_RETURN(
            paging::Page<v1::Advocate> listed,
            app_.ListAdvocates(caller, request->role(),
                               OptionalProvider(request->provider_id()), page));
        for (v1::Advocate& a : listed.items) {
          *response->add_advocates() = std::move(a);
        }
        response->set_next_page_token(
            paging::NextPageToken(kAdvocateListing, scope, listed.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetReferralAssignments(
    grpc::CallbackServerContext* context,
    const v1::GetReferralAssignmentsRequest* request,
    v1::GetReferralAssignmentsResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/GetReferralAssignments",
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetReferralAssignments(*request).ToStatus());
        ASSIGN_OR_RETURN(*response,
                         app_.GetReferralAssignments(
                             caller, ReferralId(request->referral_id())));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetWorklist(
    grpc::CallbackServerContext* context, const v1::GetWorklistRequest* request,
    v1::GetWorklistResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/GetWorklist",
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetWorklist(*request).ToStatus());
        ASSIGN_OR_RETURN(
            std::vector<v1::Assignment> list,
            request->provider_id().empty()
                ? app_.GetWorklist(caller, AdvocateId(request->advocate_id()))
                : app_.GetProviderWorklist(caller,
                                           ProviderId(request->provider_id())));
        for (v1::Assignment& a : list)
          *response->add_assignments() = std::move(a);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::AcceptAssignment(
    grpc::CallbackServerContext* context,
    const v1::AcceptAssignmentRequest* request,
    v1::AcceptAssignmentResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AdvocacyService/AcceptAssignment",
      wake_relay_, response->mutable_assignment(),
      [request] { return ValidateAccept(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.Accept(caller, AssignmentId(request->assignment_id()),
                           AdvocateId(request->advocate_id()), NowMillis(),
                           traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::DeclineAssignment(
    grpc::CallbackServerContext* context,
    const v1::DeclineAssignmentRequest* request,
    v1::DeclineAssignmentResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AdvocacyService/DeclineAssignment",
      wake_relay_, response->mutable_assignment(),
      [request] { return ValidateDecline(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.Decline(caller, AssignmentId(request->assignment_id()),
                            AdvocateId(request->advocate_id()),
                            {request->reason(), request->note()}, NowMillis(),
                            traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::RecordContact(
    grpc::CallbackServerContext* context,
    const v1::RecordContactRequest* request,
    v1::RecordContactResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AdvocacyService/RecordContact", wake_relay_,
      response->mutable_assignment(),
      [request] { return ValidateRecordContact(*request, absl::Now()); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        ContactAttempt contact{request->channel(),
                               request->outcome(),
                               std::nullopt,
                               request->voicemail_left(),
                               request->override_reason(),
                               std::nullopt};
        if (request->has_at()) {
          contact.at = timeutil::FromTimestamp(request->at());
        }
        if (request->has_baseline()) contact.baseline = request->baseline();
        return app_.RecordContact(caller,
                                  AssignmentId(request->assignment_id()),
                                  AdvocateId(request->advocate_id()), contact,
                                  NowMillis(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::RecordUpdate(
    grpc::CallbackServerContext* context,
    const v1::RecordUpdateRequest* request,
    v1::RecordUpdateResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AdvocacyService/RecordUpdate", wake_relay_,
      response->mutable_assignment(),
      [request] { return ValidateRecordUpdate(*request, absl::Now()); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        std::optional<absl::Time> at;
        if (request->has_at()) at = timeutil::FromTimestamp(request->at());
        return app_.RecordUpdate(caller, AssignmentId(request->assignment_id()),
                                 AdvocateId(request->advocate_id()),
                                 request->kind(), at, NowMillis(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::CloseCase(
    grpc::CallbackServerContext* context, const v1::CloseCaseRequest* request,
    v1::CloseCaseResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AdvocacyService/CloseCase", wake_relay_,
      response->mutable_assignment(),
      [request] { return ValidateCloseCase(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        Closure closure{request->closure_reason(), request->feels_safer(),
                        request->copes_better(), request->better_informed()};
        return app_.Close(caller, AssignmentId(request->assignment_id()),
                          AdvocateId(request->advocate_id()), closure,
                          NowMillis(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::CheckCapacity(
    grpc::CallbackServerContext* context,
    const v1::CheckCapacityRequest* request,
    v1::CheckCapacityResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.AdvocacyService/CheckCapacity",
      [=, this](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateCheckCapacity(*request).ToStatus());
        ASSIGN_OR_RETURN(
            *response,
            app_.CheckCapacity(request->pathway(), request->locality_code(),
                               request->language(), NowMillis()));
        return absl::OkStatus();
      });
}

}  // namespace signpost::advocacy
