#include "services/notification/notification_service.h"

#include "common/grpc/status.h"
#include "common/ids/ids.h"

namespace signpost::notification {

grpc::ServerUnaryReactor* NotificationServiceImpl::ListDeliveries(
    grpc::CallbackServerContext* context,
    const v1::ListDeliveriesRequest* request,
    v1::ListDeliveriesResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors;
    if (!request->referral_id().empty() && !IsUuid(request->referral_id())) {
      errors.Add("referral_id", "must be a referral id (UUID) or empty");
    }
    if (request->limit() < 0 || request->limit() > 1000) {
      errors.Add("limit", "must be between 0 and 1000 (0 means 100)");
    }
    if (!errors.empty()) return errors.ToStatus();
    int limit = request->limit() == 0 ? 100 : request->limit();
    absl::StatusOr<v1::ListDeliveriesResponse> found =
        store_.ListDeliveries(request->referral_id(), limit);
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

}  // namespace signpost::notification
