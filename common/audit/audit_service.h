// The gRPC adapter for AuditService (proto/signpost/v1/audit.proto),
// hosted by the notification process: admits the caller through the gate
// (the function rule: operator or auditor), checks every field of the
// request at once (timeline.h), and asks the use case (audit_app.h).
// Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "common/audit/audit_app.h"
#include "common/grpc/gate.h"
#include "signpost/v1/audit.grpc.pb.h"

namespace signpost::audit {

class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  // `wake_relay` runs after a call's audit record is committed.
  AuditServiceImpl(AuditApp& app, std::function<void()> wake_relay,
                   grpcutil::Gate& gate);

  grpc::ServerUnaryReactor* GetTimeline(
      grpc::CallbackServerContext* context,
      const v1::GetTimelineRequest* request,
      v1::GetTimelineResponse* response) override;
  grpc::ServerUnaryReactor* ListAccess(
      grpc::CallbackServerContext* context,
      const v1::ListAccessRequest* request,
      v1::ListAccessResponse* response) override;

 private:
  AuditApp& app_;
  std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::audit
