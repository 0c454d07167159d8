#include "common/audit/audit_service.h"

#include <string>

#include "common/audit/timeline.h"
#include "common/grpc/decoding.h"

namespace signpost::audit {

AuditServiceImpl::AuditServiceImpl(AuditApp& app,
                                   std::function<void()> wake_relay,
                                   grpcutil::Gate& gate)
    : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
  const std::string name = v1::AuditService::service_full_name();
  grpcutil::RefuseUndecodable(this, name, "GetTimeline",
                              &AuditServiceImpl::GetTimeline);
  grpcutil::RefuseUndecodable(this, name, "ListAccess",
                              &AuditServiceImpl::ListAccess);
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetTimeline(
    grpc::CallbackServerContext* context, const v1::GetTimelineRequest* request,
    v1::GetTimelineResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AuditService/GetTimeline", wake_relay_,
      response, [request] { return CheckTimelineRequest(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.GetTimeline(caller, *request, traceparent);
      });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListAccess(
    grpc::CallbackServerContext* context, const v1::ListAccessRequest* request,
    v1::ListAccessResponse* response) {
  return grpcutil::RunMutation(
      context, gate_, "/signpost.v1.AuditService/ListAccess", wake_relay_,
      response, [request] { return CheckListAccessRequest(*request); },
      [this, request](const access::Principal& caller,
                      const std::string& traceparent) {
        return app_.ListAccess(caller, *request, traceparent);
      });
}

}  // namespace signpost::audit
