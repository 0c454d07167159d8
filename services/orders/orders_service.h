// gRPC adapter for OrderService: decodes a request, checks its fields
// (order_validation.h: every bad field at once), converts it to the use
// case's domain values and strong ids, calls OrdersApp on the executor,
// wakes the outbox relay after a mutation, and encodes the answer.
// Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/orders/orders_app.h"
#include "signpost/v1/orders.grpc.pb.h"

namespace signpost::orders {

class OrderServiceImpl final : public v1::OrderService::CallbackService {
 public:
  // `wake_relay` is called after each mutation committed (it appended
  // events to the outbox).
  OrderServiceImpl(OrdersApp& app, std::function<void()> wake_relay,
                   grpcutil::Gate& gate)
      : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordConsideration",
                                &OrderServiceImpl::RecordConsideration);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordApplication",
                                &OrderServiceImpl::RecordApplication);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordDecision",
                                &OrderServiceImpl::RecordDecision);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordService",
                                &OrderServiceImpl::RecordService);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordVariation",
                                &OrderServiceImpl::RecordVariation);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "RecordBreach",
                                &OrderServiceImpl::RecordBreach);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "ImportOrder", &OrderServiceImpl::ImportOrder);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "GetOrder", &OrderServiceImpl::GetOrder);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "ListOrders", &OrderServiceImpl::ListOrders);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "GetOrderHistory",
                                &OrderServiceImpl::GetOrderHistory);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "ListReviewQueue",
                                &OrderServiceImpl::ListReviewQueue);
    grpcutil::RefuseUndecodable(this, v1::OrderService::service_full_name(),
                                "ListConsiderations",
                                &OrderServiceImpl::ListConsiderations);
  }

  grpc::ServerUnaryReactor* RecordConsideration(
      grpc::CallbackServerContext* c, const v1::RecordConsiderationRequest* req,
      v1::RecordConsiderationResponse* resp) override;
  grpc::ServerUnaryReactor* RecordApplication(
      grpc::CallbackServerContext* c, const v1::RecordApplicationRequest* req,
      v1::RecordApplicationResponse* resp) override;
  grpc::ServerUnaryReactor* RecordDecision(
      grpc::CallbackServerContext* c, const v1::RecordDecisionRequest* req,
      v1::RecordDecisionResponse* resp) override;
  grpc::ServerUnaryReactor* RecordService(
      grpc::CallbackServerContext* c, const v1::RecordServiceRequest* req,
      v1::RecordServiceResponse* resp) override;
  grpc::ServerUnaryReactor* RecordVariation(
      grpc::CallbackServerContext* c, const v1::RecordVariationRequest* req,
      v1::RecordVariationResponse* resp) override;
  grpc::ServerUnaryReactor* RecordBreach(
      grpc::CallbackServerContext* c, const v1::RecordBreachRequest* req,
      v1::RecordBreachResponse* resp) override;
  grpc::ServerUnaryReactor* ImportOrder(grpc::CallbackServerContext* c,
                                        const v1::ImportOrderRequest* req,
                                        v1::ImportOrderResponse* resp) override;
  grpc::ServerUnaryReactor* GetOrder(grpc::CallbackServerContext* c,
                                     const v1::GetOrderRequest* req,
                                     v1::GetOrderResponse* resp) override;
  grpc::ServerUnaryReactor* ListOrders(grpc::CallbackServerContext* c,
                                       const v1::ListOrdersRequest* req,
                                       v1::ListOrdersResponse* resp) override;
  grpc::ServerUnaryReactor* GetOrderHistory(
      grpc::CallbackServerContext* c, const v1::GetOrderHistoryRequest* req,
      v1::GetOrderHistoryResponse* resp) override;
  grpc::ServerUnaryReactor* ListReviewQueue(
      grpc::CallbackServerContext* c, const v1::ListReviewQueueRequest* req,
      v1::ListReviewQueueResponse* resp) override;
  grpc::ServerUnaryReactor* ListConsiderations(
      grpc::CallbackServerContext* c, const v1::ListConsiderationsRequest* req,
      v1::ListConsiderationsResponse* resp) override;

 private:
  // Runs a mutation: validate, call (with the traceparent), wake the relay.
  template <typename Response, typename Validate, typename Call>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* c,
                                   const char* method, Response* resp,
                                   Validate validate, Call call) {
    return grpcutil::RunMutation(
        c, gate_, absl::StrCat("/signpost.v1.OrderService/", method),
        wake_relay_, resp, std::move(validate), std::move(call));
  }

  OrdersApp& app_;
  const std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::orders
