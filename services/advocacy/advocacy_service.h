// gRPC adapter for AdvocacyService. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "services/advocacy/advocacy_store.h"
#include "signpost/v1/advocacy.grpc.pb.h"

namespace signpost::advocacy {

class AdvocacyServiceImpl final : public v1::AdvocacyService::CallbackService {
 public:
  AdvocacyServiceImpl(AdvocacyStore& store, grpcutil::Executor& executor)
      : store_(store), executor_(executor) {}
  grpc::ServerUnaryReactor* GetReferralAssignments(
      grpc::CallbackServerContext* context,
      const v1::GetReferralAssignmentsRequest* request,
      v1::GetReferralAssignmentsResponse* response) override;
  grpc::ServerUnaryReactor* ListAdvocates(
      grpc::CallbackServerContext* context,
      const v1::ListAdvocatesRequest* request,
      v1::ListAdvocatesResponse* response) override;

 private:
  AdvocacyStore& store_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::advocacy
