#include "services/orders/orders_service.h"

#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::orders {

grpcutil::FieldErrors ValidateRecordOrder(const v1::RecordOrderRequest& r) {
  grpcutil::FieldErrors errors;
  if (!r.order_id().empty() && !IsUuid(r.order_id())) {
    errors.Add("order_id",
               "must be an order id (UUID) or empty for a new order");
  }
  if (r.order_id().empty()) {
    if (!IsUuid(r.referral_id())) {
      errors.Add("referral_id",
                 "is required for a new order: a referral id (UUID)");
    }
    if (r.order_type() == v1::ORDER_TYPE_UNSPECIFIED) {
      errors.Add("order_type", "is required for a new order");
    }
  } else if (!r.referral_id().empty() && !IsUuid(r.referral_id())) {
    errors.Add("referral_id", "must be a referral id (UUID)");
  }
  if (!v1::OrderType_IsValid(r.order_type()))
    errors.Add("order_type", "unknown order type");
  if (!v1::OrderState_IsValid(r.state())) {
    errors.Add("state", "unknown order state");
  } else if (r.state() == v1::ORDER_STATE_UNSPECIFIED) {
    errors.Add("state", "is required");
  }
  return errors;
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordOrder(
    grpc::CallbackServerContext* context, const v1::RecordOrderRequest* request,
    v1::RecordOrderResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors = ValidateRecordOrder(*request);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::Order> order = store_.RecordOrder(*request, traceparent);
    if (!order.ok()) return order.status();
    relay_.Notify();
    log::Info("order recorded",
              {{"order_id", order->order_id()},
               {"referral_id", order->referral_id()},
               {"type", v1::OrderType_Name(order->order_type())},
               {"state", v1::OrderState_Name(order->state())}},
              TraceIdOf(traceparent));
    *response->mutable_order() = std::move(*order);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListConsiderations(
    grpc::CallbackServerContext* context,
    const v1::ListConsiderationsRequest* request,
    v1::ListConsiderationsResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (!request->referral_id().empty() && !IsUuid(request->referral_id())) {
      grpcutil::FieldErrors errors;
      errors.Add("referral_id", "must be a referral id (UUID) or empty");
      return errors.ToStatus();
    }
    absl::StatusOr<std::vector<v1::OrderConsiderationRecord>> list =
        store_.ListConsiderations(request->referral_id());
    if (!list.ok()) return list.status();
    for (auto& c : *list) *response->add_considerations() = std::move(c);
    return absl::OkStatus();
  });
}

}  // namespace signpost::orders
