// gRPC adapter for TriageService. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace signpost::triage {

class TriageServiceImpl final : public v1::TriageService::CallbackService {
 public:
  TriageServiceImpl(TriageStore& store, grpcutil::Executor& executor)
      : store_(store), executor_(executor) {}
  grpc::ServerUnaryReactor* GetDecision(
      grpc::CallbackServerContext* context,
      const v1::GetDecisionRequest* request,
      v1::GetDecisionResponse* response) override;

 private:
  TriageStore& store_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::triage
