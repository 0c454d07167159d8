// gRPC adapter for IntakeService: validates, then delegates to IntakeStore.
// Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "common/store/outbox.h"
#include "services/intake/intake_store.h"
#include "signpost/v1/intake.grpc.pb.h"

namespace signpost::intake {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  IntakeServiceImpl(IntakeStore& store, store::OutboxRelay& relay,
                    grpcutil::Executor& executor)
      : store_(store), relay_(relay), executor_(executor) {}

  grpc::ServerUnaryReactor* SubmitReferral(
      grpc::CallbackServerContext* context,
      const v1::SubmitReferralRequest* request,
      v1::SubmitReferralResponse* response) override;
  grpc::ServerUnaryReactor* GetReferral(
      grpc::CallbackServerContext* context,
      const v1::GetReferralRequest* request,
      v1::GetReferralResponse* response) override;

 private:
  IntakeStore& store_;
  store::OutboxRelay& relay_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::intake
