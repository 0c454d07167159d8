// gRPC adapter for OrderService: field validation (every bad field at once),
// then the store. Thread-safe.
#pragma once

#include "common/grpc/executor.h"
#include "common/grpc/status.h"
#include "common/store/outbox.h"
#include "services/orders/orders_store.h"
#include "signpost/v1/orders.grpc.pb.h"

namespace signpost::orders {

grpcutil::FieldErrors ValidateApplication(
    const v1::RecordApplicationRequest& r);
grpcutil::FieldErrors ValidateDecision(const v1::RecordDecisionRequest& r);
grpcutil::FieldErrors ValidateBreach(const v1::RecordBreachRequest& r);
grpcutil::FieldErrors ValidateImport(const v1::ImportOrderRequest& r);

class OrderServiceImpl final : public v1::OrderService::CallbackService {
 public:
  OrderServiceImpl(OrdersStore& store, store::OutboxRelay& relay,
                   grpcutil::Executor& executor)
      : store_(store), relay_(relay), executor_(executor) {}

  grpc::ServerUnaryReactor* RecordConsideration(
      grpc::CallbackServerContext* c, const v1::RecordConsiderationRequest* req,
      v1::ConsiderationRecord* resp) override;
  grpc::ServerUnaryReactor* RecordApplication(
      grpc::CallbackServerContext* c, const v1::RecordApplicationRequest* req,
      v1::Order* resp) override;
  grpc::ServerUnaryReactor* RecordDecision(grpc::CallbackServerContext* c,
                                           const v1::RecordDecisionRequest* req,
                                           v1::Order* resp) override;
  grpc::ServerUnaryReactor* RecordService(grpc::CallbackServerContext* c,
                                          const v1::RecordServiceRequest* req,
                                          v1::Order* resp) override;
  grpc::ServerUnaryReactor* RecordVariation(
      grpc::CallbackServerContext* c, const v1::RecordVariationRequest* req,
      v1::Order* resp) override;
  grpc::ServerUnaryReactor* RecordBreach(grpc::CallbackServerContext* c,
                                         const v1::RecordBreachRequest* req,
                                         v1::Breach* resp) override;
  grpc::ServerUnaryReactor* ImportOrder(grpc::CallbackServerContext* c,
                                        const v1::ImportOrderRequest* req,
                                        v1::Order* resp) override;
  grpc::ServerUnaryReactor* GetOrder(grpc::CallbackServerContext* c,
                                     const v1::GetOrderRequest* req,
                                     v1::Order* resp) override;
  grpc::ServerUnaryReactor* ListOrders(grpc::CallbackServerContext* c,
                                       const v1::ListOrdersRequest* req,
                                       v1::ListOrdersResponse* resp) override;
  grpc::ServerUnaryReactor* GetOrderHistory(grpc::CallbackServerContext* c,
                                            const v1::GetOrderRequest* req,
                                            v1::OrderHistory* resp) override;
  grpc::ServerUnaryReactor* ListReviewQueue(
      grpc::CallbackServerContext* c, const v1::ListReviewQueueRequest* req,
      v1::ListReviewQueueResponse* resp) override;
  grpc::ServerUnaryReactor* ListConsiderations(
      grpc::CallbackServerContext* c, const v1::ListConsiderationsRequest* req,
      v1::ListConsiderationsResponse* resp) override;

 private:
  OrdersStore& store_;
  store::OutboxRelay& relay_;
  grpcutil::Executor& executor_;
};

}  // namespace signpost::orders
