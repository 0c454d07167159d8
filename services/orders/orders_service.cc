#include "services/orders/orders_service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/paging/page.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "services/orders/order_validation.h"

namespace signpost::orders {
namespace {

using timeutil::NowMillis;

std::optional<absl::Time> TimeIf(bool has,
                                 const google::protobuf::Timestamp& ts) {
  if (!has) return std::nullopt;
  return timeutil::FromTimestamp(ts);
}

ConsiderationDecision ToConsiderationDecision(
    const v1::RecordConsiderationRequest& r) {
  return {r.apply(), r.order_type(), r.reason_code(), r.actor()};
}

Application ToApplication(const v1::RecordApplicationRequest& r) {
  Application a;
  a.order_type = r.order_type();
  a.legal_basis = r.legal_basis();
  a.protected_ref = r.protected_ref();
  a.respondent_ref = r.respondent_ref();
  a.protected_age = r.protected_age();
  a.respondent_age = r.respondent_age();
  a.on_acquittal = r.on_acquittal();
  a.without_notice = r.without_notice();
  a.area_code = r.area_code();
  a.actor = r.actor();
  return a;
}

Decision ToDecision(const v1::RecordDecisionRequest& r) {
  Decision d;
  d.granted = r.granted();
  d.authority = r.authority();
  d.terms = r.terms();
  d.protected_ref = r.protected_ref();
  d.respondent_ref = r.respondent_ref();
  d.protected_age = r.protected_age();
  d.respondent_age = r.respondent_age();
  d.actor = r.actor();
  return d;
}

ServiceOfOrder ToService(const v1::RecordServiceRequest& r) {
  return {TimeIf(r.has_served_at(), r.served_at()), r.actor()};
}

Variation ToVariation(const v1::RecordVariationRequest& r) {
  Variation v;
  v.new_state = r.new_state();
  if (r.has_terms()) v.terms = r.terms();
  v.respondent_notified = r.respondent_notified();
  v.respondent_aware = r.respondent_aware();
  v.actor = r.actor();
  return v;
}

BreachReport ToBreachReport(const v1::RecordBreachRequest& r) {
  BreachReport b;
  b.occurred_at = timeutil::FromTimestamp(r.occurred_at());
  b.reporting_agency = r.reporting_agency();
  b.action = r.action();
  b.proceedings = r.proceedings();
  b.incident_ref = r.incident_ref();
  b.actor = r.actor();
  return b;
}

OrderImport ToImport(const v1::ImportOrderRequest& r) {
  OrderImport i;
  i.source = r.source();
  i.source_ref = r.source_ref();
  i.order_type = r.order_type();
  i.state = r.state();
  i.legal_basis = r.legal_basis();
  i.authority = r.authority();
  i.terms = r.terms();
  i.protected_ref = r.protected_ref();
  i.respondent_ref = r.respondent_ref();
  i.protected_age = r.protected_age();
  i.respondent_age = r.respondent_age();
  i.without_notice = r.without_notice();
  i.respondent_aware = r.respondent_aware();
  i.served_at = TimeIf(r.has_served_at(), r.served_at());
  i.area_code = r.area_code();
  i.actor = r.actor();
  return i;
}

OrderFilter ToFilter(const v1::ListOrdersRequest& r) {
  OrderFilter f;
  if (!r.referral_id().empty()) f.referral_id = ReferralId(r.referral_id());
  f.area_code = r.area_code();
  f.order_type = r.order_type();
  f.state = r.state();
  return f;
}

template <typename T, typename Repeated>
void AddAll(std::vector<T> items, Repeated* out) {
  for (T& item : items) *out->Add() = std::move(item);
}

}  // namespace

grpc::ServerUnaryReactor* OrderServiceImpl::RecordConsideration(
    grpc::CallbackServerContext* c, const v1::RecordConsiderationRequest* req,
    v1::RecordConsiderationResponse* resp) {
  return Mutate(
      c, "RecordConsideration", resp->mutable_consideration(),
      [req] { return ValidateConsideration(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        return app_.RecordConsideration(
            caller, ConsiderationId(req->consideration_id()),
            ToConsiderationDecision(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordApplication(
    grpc::CallbackServerContext* c, const v1::RecordApplicationRequest* req,
    v1::RecordApplicationResponse* resp) {
  return Mutate(
      c, "RecordApplication", resp->mutable_order(),
      [req] { return ValidateApplication(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        if (req->order_id().empty()) {
          return app_.ApplyForNewOrder(caller, ReferralId(req->referral_id()),
                                       ToApplication(*req), NowMillis(), tp);
        }
        return app_.ApplyForOrder(caller, OrderId(req->order_id()),
                                  ToApplication(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordDecision(
    grpc::CallbackServerContext* c, const v1::RecordDecisionRequest* req,
    v1::RecordDecisionResponse* resp) {
  return Mutate(
      c, "RecordDecision", resp->mutable_order(),
      [req] { return ValidateDecision(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        return app_.RecordDecision(caller, OrderId(req->order_id()),
                                   ToDecision(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordService(
    grpc::CallbackServerContext* c, const v1::RecordServiceRequest* req,
    v1::RecordServiceResponse* resp) {
  return Mutate(
      c, "RecordService", resp->mutable_order(),
      [req] { return ValidateService(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        return app_.RecordService(caller, OrderId(req->order_id()),
                                  ToService(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordVariation(
    grpc::CallbackServerContext* c, const v1::RecordVariationRequest* req,
    v1::RecordVariationResponse* resp) {
  return Mutate(
      c, "RecordVariation", resp->mutable_order(),
      [req] { return ValidateVariation(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        return app_.RecordVariation(caller, OrderId(req->order_id()),
                                    ToVariation(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordBreach(
    grpc::CallbackServerContext* c, const v1::RecordBreachRequest* req,
    v1::RecordBreachResponse* resp) {
  return Mutate(
      c, "RecordBreach", resp->mutable_breach(),
      [req] { return ValidateBreach(*req); },
      [this, req](const access::Principal& caller,
                  const std::string& tp) -> absl::StatusOr<v1::Breach> {
        ASSIGN_OR_RETURN(
            v1::Breach breach,
            app_.RecordBreach(caller, OrderId(req->order_id()),
                              ToBreachReport(*req), NowMillis(), tp));
        log::Warn("order breached",
                  {{"order_id", req->order_id()},
                   {"breach_id", breach.breach_id()},
                   {"action", v1::BreachAction_Name(req->action())}},
                  TraceIdOf(tp));
        return breach;
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ImportOrder(
    grpc::CallbackServerContext* c, const v1::ImportOrderRequest* req,
    v1::ImportOrderResponse* resp) {
  return Mutate(
      c, "ImportOrder", resp->mutable_order(),
      [req] { return ValidateImport(*req); },
      [this, req](const access::Principal& caller, const std::string& tp) {
        return app_.ImportOrder(caller, ReferralId(req->referral_id()),
                                ToImport(*req), NowMillis(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::GetOrder(
    grpc::CallbackServerContext* c, const v1::GetOrderRequest* req,
    v1::GetOrderResponse* resp) {
  return gate_.Run(
      c, "/signpost.v1.OrderService/GetOrder",
      [this, req, resp](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetOrder(*req).ToStatus());
        ASSIGN_OR_RETURN(*resp->mutable_order(),
                         app_.GetOrder(caller, OrderId(req->order_id())));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListOrders(
    grpc::CallbackServerContext* c, const v1::ListOrdersRequest* req,
    v1::ListOrdersResponse* resp) {
  return gate_.Run(
      c, "/signpost.v1.OrderService/ListOrders",
      [this, req, resp](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope(
            {req->referral_id(), req->area_code(),
             absl::StrCat(req->order_type()), absl::StrCat(req->state())});
        ASSIGN_OR_RETURN(paging::PageRequest page,
                         paging::CheckPageRequest(kOrderListing, scope, *req,
                                                  ValidateListOrders(*req)));
        ASSIGN_OR_RETURN(paging::Page<v1::Order> orders,
                         app_.ListOrders(caller, ToFilter(*req), page));
        AddAll(std::move(orders.items), resp->mutable_orders());
        resp->set_next_page_token(
            paging::NextPageToken(kOrderListing, scope, orders.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::GetOrderHistory(
    grpc::CallbackServerContext* c, const v1::GetOrderHistoryRequest* req,
    v1::GetOrderHistoryResponse* resp) {
  return gate_.Run(
      c, "/signpost.v1.OrderService/GetOrderHistory",
      [this, req, resp](const access::Principal& caller) -> absl::Status {
        RETURN_IF_ERROR(ValidateGetOrderHistory(*req).ToStatus());
        ASSIGN_OR_RETURN(
            *resp->mutable_history(),
            app_.GetOrderHistory(caller, OrderId(req->order_id())));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListReviewQueue(
    grpc::CallbackServerContext* c, const v1::ListReviewQueueRequest* req,
    v1::ListReviewQueueResponse* resp) {
  return gate_.Run(
      c, "/signpost.v1.OrderService/ListReviewQueue",
      [this, req, resp](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope({req->area_code()});
        ASSIGN_OR_RETURN(
            paging::PageRequest page,
            paging::CheckPageRequest(kReviewQueueListing, scope, *req,
                                     ValidateReviewQueue(*req)));
        ASSIGN_OR_RETURN(
            paging::Page<v1::ConsiderationRecord> items,
            app_.ListReviewQueue(caller, req->area_code(), NowMillis(), page));
        AddAll(std::move(items.items), resp->mutable_items());
        resp->set_next_page_token(
            paging::NextPageToken(kReviewQueueListing, scope, items.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListConsiderations(
    grpc::CallbackServerContext* c, const v1::ListConsiderationsRequest* req,
    v1::ListConsiderationsResponse* resp) {
  return gate_.Run(
      c, "/signpost.v1.OrderService/ListConsiderations",
      [this, req, resp](const access::Principal& caller) -> absl::Status {
        const std::string scope = paging::Scope({req->referral_id()});
        ASSIGN_OR_RETURN(
            paging::PageRequest page,
            paging::CheckPageRequest(kConsiderationListing, scope, *req,
                                     ValidateListConsiderations(*req)));
        ASSIGN_OR_RETURN(
            paging::Page<v1::ConsiderationRecord> items,
            req->referral_id().empty()
                ? app_.ListOpenConsiderations(caller, NowMillis(), page)
                : app_.ListConsiderationsOf(caller,
                                            ReferralId(req->referral_id()),
                                            NowMillis(), page));
        AddAll(std::move(items.items), resp->mutable_considerations());
        resp->set_next_page_token(
            paging::NextPageToken(kConsiderationListing, scope, items.next));
        return absl::OkStatus();
      });
}

}  // namespace signpost::orders
