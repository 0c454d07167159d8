#include "services/triage/triage_service.h"

#include "common/grpc/status.h"
#include "common/ids/ids.h"

namespace signpost::triage {

grpc::ServerUnaryReactor* TriageServiceImpl::GetDecision(
    grpc::CallbackServerContext* context, const v1::GetDecisionRequest* request,
    v1::GetDecisionResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (!IsUuid(request->referral_id())) {
      grpcutil::FieldErrors errors;
      errors.Add("referral_id", "must be a referral id (UUID)");
      return errors.ToStatus();
    }
    absl::StatusOr<v1::GetDecisionResponse> found =
        store_.GetDecision(request->referral_id());
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

}  // namespace signpost::triage
