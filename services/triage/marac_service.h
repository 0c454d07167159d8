// gRPC adapter for MaracService (issue 13): checks each request's fields
// (marac_meetings.h), calls MaracApp and encodes the answer; every call
// passes the gate first. No SQL and no rules here. Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/triage/marac_app.h"
#include "signpost/v1/marac.grpc.pb.h"

namespace signpost::triage {

class MaracServiceImpl final : public v1::MaracService::CallbackService {
 public:
  // `wake_relay` is called after a call that appended events (in the
  // binary: OutboxRelay::Notify).
  MaracServiceImpl(MaracApp& app, std::function<void()> wake_relay,
                   grpcutil::Gate& gate);

  grpc::ServerUnaryReactor* ScheduleMeeting(
      grpc::CallbackServerContext* context,
      const v1::ScheduleMeetingRequest* request,
      v1::ScheduleMeetingResponse* response) override;
  grpc::ServerUnaryReactor* ListMeetings(
      grpc::CallbackServerContext* context,
      const v1::ListMeetingsRequest* request,
      v1::ListMeetingsResponse* response) override;
  grpc::ServerUnaryReactor* GetMeeting(
      grpc::CallbackServerContext* context,
      const v1::GetMeetingRequest* request,
      v1::GetMeetingResponse* response) override;
  grpc::ServerUnaryReactor* MarkHeard(grpc::CallbackServerContext* context,
                                      const v1::MarkHeardRequest* request,
                                      v1::MarkHeardResponse* response) override;
  grpc::ServerUnaryReactor* AllocateAction(
      grpc::CallbackServerContext* context,
      const v1::AllocateActionRequest* request,
      v1::AllocateActionResponse* response) override;
  grpc::ServerUnaryReactor* CompleteAction(
      grpc::CallbackServerContext* context,
      const v1::CompleteActionRequest* request,
      v1::CompleteActionResponse* response) override;
  grpc::ServerUnaryReactor* CloseMeeting(
      grpc::CallbackServerContext* context,
      const v1::CloseMeetingRequest* request,
      v1::CloseMeetingResponse* response) override;

 private:
  MaracApp& app_;
  const std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::triage
