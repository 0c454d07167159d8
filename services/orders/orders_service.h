// gRPC adapter for OrderService. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "common/grpc/status.h"
#include "common/store/outbox.h"
#include "services/orders/orders_store.h"
#include "signpost/v1/orders.grpc.pb.h"

namespace signpost::orders {

// Field checks for RecordOrder, every bad field at once.
grpcutil::FieldErrors ValidateRecordOrder(
    const v1::RecordOrderRequest& request);

class OrderServiceImpl final : public v1::OrderService::CallbackService {
 public:
  OrderServiceImpl(OrdersStore& store, store::OutboxRelay& relay,
                   grpcutil::Executor& executor)
      : store_(store), relay_(relay), executor_(executor) {}
  grpc::ServerUnaryReactor* RecordOrder(
      grpc::CallbackServerContext* context,
      const v1::RecordOrderRequest* request,
      v1::RecordOrderResponse* response) override;
  grpc::ServerUnaryReactor* ListConsiderations(
      grpc::CallbackServerContext* context,
      const v1::ListConsiderationsRequest* request,
      v1::ListConsiderationsResponse* response) override;

 private:
  OrdersStore& store_;
  store::OutboxRelay& relay_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::orders
