// gRPC adapter for TriageService. Thread-safe.
#pragma once

#include <memory>

#include "common/grpc/executor.h"
#include "common/grpc/status.h"
#include "common/store/outbox.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace signpost::triage {

// Field checks, every bad field at once.
grpcutil::FieldErrors ValidateReassess(const v1::ReassessRequest& request);
grpcutil::FieldErrors ValidateOverride(const v1::OverrideRiskRequest& request);

class TriageServiceImpl final : public v1::TriageService::CallbackService {
 public:
  TriageServiceImpl(TriageStore& store, store::OutboxRelay& relay,
                    std::shared_ptr<const Policy> policy,
                    grpcutil::Executor& executor)
      : store_(store),
        relay_(relay),
        policy_(std::move(policy)),
        executor_(executor) {}
  grpc::ServerUnaryReactor* GetDecision(
      grpc::CallbackServerContext* context,
      const v1::GetDecisionRequest* request,
      v1::GetDecisionResponse* response) override;
  grpc::ServerUnaryReactor* Reassess(grpc::CallbackServerContext* context,
                                     const v1::ReassessRequest* request,
                                     v1::DecisionVersion* response) override;
  grpc::ServerUnaryReactor* OverrideRisk(
      grpc::CallbackServerContext* context,
      const v1::OverrideRiskRequest* request,
      v1::DecisionVersion* response) override;
  grpc::ServerUnaryReactor* ListMaracAgenda(
      grpc::CallbackServerContext* context,
      const v1::ListMaracAgendaRequest* request,
      v1::ListMaracAgendaResponse* response) override;

 private:
  TriageStore& store_;
  store::OutboxRelay& relay_;
  const std::shared_ptr<const Policy> policy_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::triage
