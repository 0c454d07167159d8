// Field checks for every OrderService request: each returns every bad
// field at once (empty when the request is well formed). Rules about the
// order itself are the lifecycle's and order_rules'. Thread-safe (pure).
#pragma once

#include "common/errors/errors.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

errors::FieldErrors ValidateConsideration(
    const v1::RecordConsiderationRequest& r);
errors::FieldErrors ValidateApplication(const v1::RecordApplicationRequest& r);
errors::FieldErrors ValidateDecision(const v1::RecordDecisionRequest& r);
errors::FieldErrors ValidateService(const v1::RecordServiceRequest& r);
errors::FieldErrors ValidateVariation(const v1::RecordVariationRequest& r);
errors::FieldErrors ValidateBreach(const v1::RecordBreachRequest& r);
errors::FieldErrors ValidateImport(const v1::ImportOrderRequest& r);
errors::FieldErrors ValidateGetOrder(const v1::GetOrderRequest& r);
errors::FieldErrors ValidateGetOrderHistory(
    const v1::GetOrderHistoryRequest& r);
errors::FieldErrors ValidateListOrders(const v1::ListOrdersRequest& r);
errors::FieldErrors ValidateReviewQueue(const v1::ListReviewQueueRequest& r);
errors::FieldErrors ValidateListConsiderations(
    const v1::ListConsiderationsRequest& r);

}  // namespace signpost::orders
