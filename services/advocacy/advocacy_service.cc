#include "services/advocacy/advocacy_service.h"

#include "common/grpc/status.h"
#include "common/ids/ids.h"

namespace signpost::advocacy {

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetReferralAssignments(
    grpc::CallbackServerContext* context,
    const v1::GetReferralAssignmentsRequest* request,
    v1::GetReferralAssignmentsResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (!IsUuid(request->referral_id())) {
      grpcutil::FieldErrors errors;
      errors.Add("referral_id", "must be a referral id (UUID)");
      return errors.ToStatus();
    }
    absl::StatusOr<v1::GetReferralAssignmentsResponse> found =
        store_.GetReferralAssignments(request->referral_id());
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::ListAdvocates(
    grpc::CallbackServerContext* context,
    const v1::ListAdvocatesRequest* request,
    v1::ListAdvocatesResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    absl::StatusOr<std::vector<v1::Advocate>> all = store_.ListAdvocates();
    if (!all.ok()) return all.status();
    for (v1::Advocate& a : *all) *response->add_advocates() = std::move(a);
    return absl::OkStatus();
  });
}

}  // namespace signpost::advocacy
