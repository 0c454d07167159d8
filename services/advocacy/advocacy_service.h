// gRPC adapter for AdvocacyService: validates every field, then delegates to
// AdvocacyStore. The caller's organisation comes from the "x-signpost-org"
// call metadata (set by the partner gateway). Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "common/store/outbox.h"
#include "services/advocacy/advocacy_store.h"
#include "signpost/v1/advocacy.grpc.pb.h"

namespace signpost::advocacy {

class AdvocacyServiceImpl final : public v1::AdvocacyService::CallbackService {
 public:
  AdvocacyServiceImpl(AdvocacyStore& store, store::OutboxRelay& relay,
                      grpcutil::Executor& executor)
      : store_(store), relay_(relay), executor_(executor) {}

  grpc::ServerUnaryReactor* UpsertProvider(grpc::CallbackServerContext* context,
                                           const v1::Provider* request,
                                           v1::Provider* response) override;
  grpc::ServerUnaryReactor* GetProvider(grpc::CallbackServerContext* context,
                                        const v1::GetProviderRequest* request,
                                        v1::Provider* response) override;
  grpc::ServerUnaryReactor* UpsertAdvocate(grpc::CallbackServerContext* context,
                                           const v1::Advocate* request,
                                           v1::Advocate* response) override;
  grpc::ServerUnaryReactor* SetAvailability(
      grpc::CallbackServerContext* context,
      const v1::SetAvailabilityRequest* request,
      v1::Advocate* response) override;
  grpc::ServerUnaryReactor* ImportDirectory(
      grpc::CallbackServerContext* context, const v1::Directory* request,
      v1::ImportDirectoryResponse* response) override;
  grpc::ServerUnaryReactor* ListAdvocates(
      grpc::CallbackServerContext* context,
      const v1::ListAdvocatesRequest* request,
      v1::ListAdvocatesResponse* response) override;
  grpc::ServerUnaryReactor* GetReferralAssignments(
      grpc::CallbackServerContext* context,
      const v1::GetReferralAssignmentsRequest* request,
      v1::GetReferralAssignmentsResponse* response) override;
  grpc::ServerUnaryReactor* GetWorklist(
      grpc::CallbackServerContext* context,
      const v1::GetWorklistRequest* request,
      v1::GetWorklistResponse* response) override;
  grpc::ServerUnaryReactor* AcceptAssignment(
      grpc::CallbackServerContext* context,
      const v1::AcceptAssignmentRequest* request,
      v1::Assignment* response) override;
  grpc::ServerUnaryReactor* DeclineAssignment(
      grpc::CallbackServerContext* context,
      const v1::DeclineAssignmentRequest* request,
      v1::Assignment* response) override;
  grpc::ServerUnaryReactor* RecordContact(
      grpc::CallbackServerContext* context,
      const v1::RecordContactRequest* request,
      v1::Assignment* response) override;
  grpc::ServerUnaryReactor* CloseCase(grpc::CallbackServerContext* context,
                                      const v1::CloseCaseRequest* request,
                                      v1::Assignment* response) override;
  grpc::ServerUnaryReactor* CheckCapacity(
      grpc::CallbackServerContext* context,
      const v1::CheckCapacityRequest* request,
      v1::CheckCapacityResponse* response) override;

 private:
  AdvocacyStore& store_;
  store::OutboxRelay& relay_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::advocacy
