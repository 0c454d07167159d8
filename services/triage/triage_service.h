// gRPC adapter for TriageService: decodes and validates each request
// (validation.h), converts ids to strong types, calls TriageApp and encodes
// the answer. No SQL and no rules here. Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/triage/triage_app.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace signpost::triage {

class TriageServiceImpl final : public v1::TriageService::CallbackService {
 public:
  // `wake_relay` is called after a call that appended events (in the
  // binary: OutboxRelay::Notify).
  TriageServiceImpl(TriageApp& app, std::function<void()> wake_relay,
                    grpcutil::Gate& gate)
      : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(this, v1::TriageService::service_full_name(),
                                "GetDecision", &TriageServiceImpl::GetDecision);
    grpcutil::RefuseUndecodable(this, v1::TriageService::service_full_name(),
                                "Reassess", &TriageServiceImpl::Reassess);
    grpcutil::RefuseUndecodable(this, v1::TriageService::service_full_name(),
                                "OverrideRisk",
                                &TriageServiceImpl::OverrideRisk);
    grpcutil::RefuseUndecodable(this, v1::TriageService::service_full_name(),
                                "ListMaracAgenda",
                                &TriageServiceImpl::ListMaracAgenda);
  }

  grpc::ServerUnaryReactor* GetDecision(
      grpc::CallbackServerContext* context,
      const v1::GetDecisionRequest* request,
      v1::GetDecisionResponse* response) override;
  grpc::ServerUnaryReactor* Reassess(grpc::CallbackServerContext* context,
                                     const v1::ReassessRequest* request,
                                     v1::ReassessResponse* response) override;
  grpc::ServerUnaryReactor* OverrideRisk(
      grpc::CallbackServerContext* context,
      const v1::OverrideRiskRequest* request,
      v1::OverrideRiskResponse* response) override;
  grpc::ServerUnaryReactor* ListMaracAgenda(
      grpc::CallbackServerContext* context,
      const v1::ListMaracAgendaRequest* request,
      v1::ListMaracAgendaResponse* response) override;

 private:
  TriageApp& app_;
  const std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::triage
