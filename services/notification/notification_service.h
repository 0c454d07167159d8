// gRPC adapter for NotificationService. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "services/notification/notification_store.h"
#include "signpost/v1/notification.grpc.pb.h"

namespace signpost::notification {

class NotificationServiceImpl final
    : public v1::NotificationService::CallbackService {
 public:
  NotificationServiceImpl(NotificationStore& store,
                          grpcutil::Executor& executor)
      : store_(store), executor_(executor) {}
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* context,
      const v1::ListDeliveriesRequest* request,
      v1::ListDeliveriesResponse* response) override;

 private:
  NotificationStore& store_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::notification
