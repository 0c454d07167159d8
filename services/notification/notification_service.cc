#include "services/notification/notification_service.h"

#include <optional>
#include <utility>

#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"

namespace signpost::notification {
namespace {

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

errors::FieldErrors Validate(const v1::ListDeliveriesRequest& request) {
  errors::FieldErrors errors;
  if (!request.referral_id().empty() && !IsUuid(request.referral_id())) {
    errors.Add("referral_id", "must be a referral id (UUID) or empty");
  }
  if (request.limit() < 0 || request.limit() > kMaxLimit) {
    errors.Add("limit", "must be between 0 and 1000 (0 means 100)");
  }
  return errors;
}

}  // namespace

grpc::ServerUnaryReactor* NotificationServiceImpl::ListDeliveries(
    grpc::CallbackServerContext* context,
    const v1::ListDeliveriesRequest* request,
    v1::ListDeliveriesResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    RETURN_IF_ERROR(Validate(*request).ToStatus());
    std::optional<ReferralId> referral_id;
    if (!request->referral_id().empty()) {
      referral_id.emplace(request->referral_id());
    }
    const int limit = request->limit() == 0 ? kDefaultLimit : request->limit();
    ASSIGN_OR_RETURN(DeliveryList list,
                     app_.ListDeliveries(referral_id, limit));
    for (v1::Delivery& d : list.deliveries) {
      *response->add_deliveries() = std::move(d);
    }
    response->set_events_processed(list.events_processed);
    return absl::OkStatus();
  });
}

}  // namespace signpost::notification
