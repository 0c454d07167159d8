// gRPC adapter for NotificationService: decodes and validates each request,
// converts ids to their strong types, calls NotificationApp and encodes the
// answer. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "services/notification/notification_app.h"
#include "signpost/v1/notification.grpc.pb.h"

namespace signpost::notification {

class NotificationServiceImpl final
    : public v1::NotificationService::CallbackService {
 public:
  NotificationServiceImpl(NotificationApp& app, grpcutil::Executor& executor)
      : app_(app), executor_(executor) {}
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* context,
      const v1::ListDeliveriesRequest* request,
      v1::ListDeliveriesResponse* response) override;

 private:
  NotificationApp& app_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::notification
