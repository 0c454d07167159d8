#include "services/triage/marac_service.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/paging/page.h"
#include "common/status/macros.h"
#include "services/triage/marac_meetings.h"

namespace signpost::triage {
namespace {

constexpr char kService[] = "/signpost.v1.MaracService/";

std::string Method(const char* name) { return std::string(kService) + name; }

}  // namespace

MaracServiceImpl::MaracServiceImpl(MaracApp& app,
                                   std::function<void()> wake_relay,
                                   grpcutil::Gate& gate)
    : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
  // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
  const std::string& name = v1::MaracService::service_full_name();
  grpcutil::RefuseUndecodable(this, name, "ScheduleMeeting",
                              &MaracServiceImpl::ScheduleMeeting);
  grpcutil::RefuseUndecodable(this, name, "ListMeetings",
                              &MaracServiceImpl::ListMeetings);
  grpcutil::RefuseUndecodable(this, name, "GetMeeting",
                              &MaracServiceImpl::GetMeeting);
  grpcutil::RefuseUndecodable(this, name, "MarkHeard",
                              &MaracServiceImpl::MarkHeard);
  grpcutil::RefuseUndecodable(this, name, "AllocateAction",
                              &MaracServiceImpl::AllocateAction);
  grpcutil::RefuseUndecodable(this, name, "CompleteAction",
                              &MaracServiceImpl::CompleteAction);
  grpcutil::RefuseUndecodable(this, name, "CloseMeeting",
                              &MaracServiceImpl::CloseMeeting);
}

grpc::ServerUnaryReactor* MaracServiceImpl::ScheduleMeeting(
    grpc::CallbackServerContext* context,
    const v1::ScheduleMeetingRequest* request,
    v1::ScheduleMeetingResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, Method("ScheduleMeeting"), wake_relay_,
      response->mutable_meeting(),
      [request] { return ValidateScheduleMeeting(*request, absl::Now()); },
      [this, request](
          const access::Principal& caller,
          const std::string& traceparent) -> absl::StatusOr<v1::MaracMeeting> {
        ASSIGN_OR_RETURN(v1::MaracMeeting m,
                         app_.ScheduleMeeting(caller, *request, traceparent));
        log::Info("marac meeting scheduled",
                  {{"meeting_id", m.meeting_id()},
                   {"area_code", m.area_code()},
                   {"cases", m.cases_size()}},
                  TraceIdOf(traceparent));
        return m;
      });
}

grpc::ServerUnaryReactor* MaracServiceImpl::ListMeetings(
    grpc::CallbackServerContext* context,
    const v1::ListMeetingsRequest* request,
    v1::ListMeetingsResponse* response) {
  return gate_.Run(
      context, Method("ListMeetings"),
      [=, this](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope({request->area_code()});
        ASSIGN_OR_RETURN(
            paging::PageRequest page,
            paging::CheckPageRequest(kMaracMeetingsListing, scope, *request,
                                     ValidateListMeetings(*request)));
        ASSIGN_OR_RETURN(paging::Page<v1::MaracMeeting> meetings,
                         app_.ListMeetings(caller, request->area_code(), page));
        for (v1::MaracMeeting& m : meetings.items) {
          *response->add_meetings() = std::move(m);
        }
        response->set_next_page_token(
            paging::NextPageToken(kMaracMeetingsListing, scope, meetings.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* MaracServiceImpl::GetMeeting(
    grpc::CallbackServerContext* context, const v1::GetMeetingRequest* request,
    v1::GetMeetingResponse* response) {
  return gate_.Run(context, Method("GetMeeting"),
                   [=, this](const access::Principal& caller) -> absl::Status {
                     RETURN_IF_ERROR(ValidateGetMeeting(*request).ToStatus());
                     ASSIGN_OR_RETURN(
                         *response->mutable_meeting(),
                         app_.GetMeeting(caller, request->meeting_id()));
                     return absl::OkStatus();
                   });
}

grpc::ServerUnaryReactor* MaracServiceImpl::MarkHeard(
    grpc::CallbackServerContext* context, const v1::MarkHeardRequest* request,
    v1::MarkHeardResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, Method("MarkHeard"), wake_relay_,
      response->mutable_marac_case(),
      [request] { return ValidateMarkHeard(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.MarkHeard(caller, *request, traceparent);
      });
}

grpc::ServerUnaryReactor* MaracServiceImpl::AllocateAction(
    grpc::CallbackServerContext* context,
    const v1::AllocateActionRequest* request,
    v1::AllocateActionResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, Method("AllocateAction"), wake_relay_,
      response->mutable_action(),
      [request] { return ValidateAllocateAction(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.AllocateAction(caller, *request, traceparent);
      });
}

grpc::ServerUnaryReactor* MaracServiceImpl::CompleteAction(
    grpc::CallbackServerContext* context,
    const v1::CompleteActionRequest* request,
    v1::CompleteActionResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, Method("CompleteAction"), wake_relay_,
      response->mutable_action(),
      [request] { return ValidateCompleteAction(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.CompleteAction(caller, *request, traceparent);
      });
}

grpc::ServerUnaryReactor* MaracServiceImpl::CloseMeeting(
    grpc::CallbackServerContext* context,
    const v1::CloseMeetingRequest* request,
    v1::CloseMeetingResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, Method("CloseMeeting"), wake_relay_,
      response->mutable_meeting(),
      [request] { return ValidateCloseMeeting(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.CloseMeeting(caller, *request, traceparent);
      });
}

}  // namespace signpost::triage
