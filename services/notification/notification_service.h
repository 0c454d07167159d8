// gRPC adapter for NotificationService: decodes and validates each request,
// converts ids to their strong types, calls NotificationApp and encodes the
// answer. Thread-safe.
#pragma once

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/notification/notification_app.h"
#include "signpost/v1/notification.grpc.pb.h"

namespace signpost::notification {

class NotificationServiceImpl final
    : public v1::NotificationService::CallbackService {
 public:
  NotificationServiceImpl(NotificationApp& app, grpcutil::Gate& gate)
      : app_(app), gate_(gate) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(
        this, v1::NotificationService::service_full_name(), "ListDeliveries",
        &NotificationServiceImpl::ListDeliveries);
  }
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* context,
      const v1::ListDeliveriesRequest* request,
      v1::ListDeliveriesResponse* response) override;

 private:
  NotificationApp& app_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::notification
