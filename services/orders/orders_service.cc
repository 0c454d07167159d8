#include "services/orders/orders_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::orders {
namespace {

void Uuid(grpcutil::FieldErrors& e, const char* field, const std::string& v) {
  if (!IsUuid(v)) e.Add(field, "must be an id (UUID)");
}

void Actor(grpcutil::FieldErrors& e, const std::string& v) {
  if (v.empty() || v.size() > 64)
    e.Add("actor", "is required: the staff id making the change");
}

void Type(grpcutil::FieldErrors& e, v1::OrderType t, bool required) {
  if (!v1::OrderType_IsValid(t)) {
    e.Add("order_type", "unknown order type");
  } else if (required && t == v1::ORDER_TYPE_UNSPECIFIED) {
    e.Add("order_type", "is required");
  }
}

void Terms(grpcutil::FieldErrors& e, const v1::OrderTerms& t,
           const std::string& at) {
  if (t.duration_days() < 0)
    e.Add(at + ".duration_days", "must not be negative");
  if (t.duration_days() > 0 && t.until_further_order()) {
    e.Add(at + ".until_further_order", "given together with duration_days");
  }
  if (t.conditions_text().size() > 4000) {
    e.Add(at + ".conditions_text", "must be at most 4000 characters");
  }
}

template <typename Fn>
grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* c,
                              grpcutil::Executor& ex, Fn fn) {
  return grpcutil::RunUnary(c, ex, std::move(fn));
}

}  // namespace

grpcutil::FieldErrors ValidateApplication(
    const v1::RecordApplicationRequest& r) {
  grpcutil::FieldErrors e;
  if (r.order_id().empty()) {
    Uuid(e, "referral_id", r.referral_id());
    Type(e, r.order_type(), true);
  } else {
    Uuid(e, "order_id", r.order_id());
    Type(e, r.order_type(), false);
  }
  Actor(e, r.actor());
  if (r.protected_age() < 0 || r.protected_age() > 130)
    e.Add("protected_age", "must be 0-130");
  if (r.respondent_age() < 0 || r.respondent_age() > 130)
    e.Add("respondent_age", "must be 0-130");
  return e;
}

grpcutil::FieldErrors ValidateDecision(const v1::RecordDecisionRequest& r) {
  grpcutil::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  if (r.granted()) {
    if (r.authority().court_or_officer().empty()) {
      e.Add("authority.court_or_officer", "is required for a granted order");
    }
    if (!v1::OfficerRank_IsValid(r.authority().rank()))
      e.Add("authority.rank", "unknown rank");
    Terms(e, r.terms(), "terms");
  }
  if (r.protected_age() < 0 || r.protected_age() > 130)
    e.Add("protected_age", "must be 0-130");
  if (r.respondent_age() < 0 || r.respondent_age() > 130)
    e.Add("respondent_age", "must be 0-130");
  return e;
}

grpcutil::FieldErrors ValidateBreach(const v1::RecordBreachRequest& r) {
  grpcutil::FieldErrors e;
  Uuid(e, "order_id", r.order_id());
  Actor(e, r.actor());
  if (!r.has_occurred_at()) e.Add("occurred_at", "is required");
  if (r.reporting_agency().empty()) e.Add("reporting_agency", "is required");
  if (!v1::BreachAction_IsValid(r.action()) ||
      r.action() == v1::BREACH_ACTION_UNSPECIFIED) {
    e.Add("action",
          "is required: ARREST, CHARGE, WARNING or NO_FURTHER_ACTION");
  }
  if (!v1::BreachProceedings_IsValid(r.proceedings()))
    e.Add("proceedings", "unknown value");
  return e;
}

grpcutil::FieldErrors ValidateImport(const v1::ImportOrderRequest& r) {
  grpcutil::FieldErrors e;
  if (r.source().empty()) e.Add("source", "is required");
  if (r.source_ref().empty()) e.Add("source_ref", "is required");
  Uuid(e, "referral_id", r.referral_id());
  Type(e, r.order_type(), true);
  if (r.state() != v1::ORDER_STATE_GRANTED &&
      r.state() != v1::ORDER_STATE_SERVED) {
    e.Add("state", "must be GRANTED or SERVED for an imported order");
  }
  Actor(e, r.actor());
  Terms(e, r.terms(), "terms");
  return e;
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordConsideration(
    grpc::CallbackServerContext* c, const v1::RecordConsiderationRequest* req,
    v1::ConsiderationRecord* resp) {
  std::string tp = grpcutil::TraceparentOf(c);
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    Uuid(e, "consideration_id", req->consideration_id());
    Actor(e, req->actor());
    if (!req->apply() && req->reason_code().empty()) {
      e.Add("reason_code", "is required when not applying");
    }
    Type(e, req->order_type(), false);
    if (!e.empty()) return e.ToStatus();
    auto r = store_.RecordConsideration(*req, absl::Now(), tp);
    if (!r.ok()) return r.status();
    relay_.Notify();
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordApplication(
    grpc::CallbackServerContext* c, const v1::RecordApplicationRequest* req,
    v1::Order* resp) {
  return grpcutil::RunMutation(
      c, executor_, [this] { relay_.Notify(); }, resp,
      [req] { return ValidateApplication(*req); },
      [this, req](const std::string& tp) {
        return store_.RecordApplication(*req, absl::Now(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordDecision(
    grpc::CallbackServerContext* c, const v1::RecordDecisionRequest* req,
    v1::Order* resp) {
  return grpcutil::RunMutation(
      c, executor_, [this] { relay_.Notify(); }, resp,
      [req] { return ValidateDecision(*req); },
      [this, req](const std::string& tp) {
        return store_.RecordDecision(*req, absl::Now(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordService(
    grpc::CallbackServerContext* c, const v1::RecordServiceRequest* req,
    v1::Order* resp) {
  std::string tp = grpcutil::TraceparentOf(c);
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    Uuid(e, "order_id", req->order_id());
    Actor(e, req->actor());
    if (!e.empty()) return e.ToStatus();
    auto r = store_.RecordService(*req, absl::Now(), tp);
    if (!r.ok()) return r.status();
    relay_.Notify();
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordVariation(
    grpc::CallbackServerContext* c, const v1::RecordVariationRequest* req,
    v1::Order* resp) {
  std::string tp = grpcutil::TraceparentOf(c);
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    Uuid(e, "order_id", req->order_id());
    Actor(e, req->actor());
    v1::OrderState s = req->new_state();
    if (s != v1::ORDER_STATE_UNSPECIFIED && s != v1::ORDER_STATE_VARIED &&
        s != v1::ORDER_STATE_EXTENDED && s != v1::ORDER_STATE_DISCHARGED) {
      e.Add("new_state", "must be VARIED, EXTENDED, DISCHARGED or unset");
    }
    if (s == v1::ORDER_STATE_UNSPECIFIED && !req->respondent_notified() &&
        !req->respondent_aware()) {
      e.Add("new_state",
            "nothing to record: give a new state or a notification/awareness");
    }
    Terms(e, req->terms(), "terms");
    if (!e.empty()) return e.ToStatus();
    auto r = store_.RecordVariation(*req, absl::Now(), tp);
    if (!r.ok()) return r.status();
    relay_.Notify();
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::RecordBreach(
    grpc::CallbackServerContext* c, const v1::RecordBreachRequest* req,
    v1::Breach* resp) {
  std::string tp = grpcutil::TraceparentOf(c);
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e = ValidateBreach(*req);
    if (!e.empty()) return e.ToStatus();
    auto r = store_.RecordBreach(*req, absl::Now(), tp);
    if (!r.ok()) return r.status();
    relay_.Notify();
    log::Warn("order breached",
              {{"order_id", req->order_id()},
               {"breach_id", r->breach_id()},
               {"action", v1::BreachAction_Name(req->action())}},
              TraceIdOf(tp));
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ImportOrder(
    grpc::CallbackServerContext* c, const v1::ImportOrderRequest* req,
    v1::Order* resp) {
  return grpcutil::RunMutation(
      c, executor_, [this] { relay_.Notify(); }, resp,
      [req] { return ValidateImport(*req); },
      [this, req](const std::string& tp) {
        return store_.ImportOrder(*req, absl::Now(), tp);
      });
}

grpc::ServerUnaryReactor* OrderServiceImpl::GetOrder(
    grpc::CallbackServerContext* c, const v1::GetOrderRequest* req,
    v1::Order* resp) {
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    Uuid(e, "order_id", req->order_id());
    if (!e.empty()) return e.ToStatus();
    auto r = store_.GetOrder(req->order_id());
    if (!r.ok()) return r.status();
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListOrders(
    grpc::CallbackServerContext* c, const v1::ListOrdersRequest* req,
    v1::ListOrdersResponse* resp) {
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    if (!req->referral_id().empty()) Uuid(e, "referral_id", req->referral_id());
    Type(e, req->order_type(), false);
    if (!v1::OrderState_IsValid(req->state())) e.Add("state", "unknown state");
    if (req->limit() < 0 || req->limit() > 1000)
      e.Add("limit", "must be 0-1000");
    if (!e.empty()) return e.ToStatus();
    auto r = store_.ListOrders(*req);
    if (!r.ok()) return r.status();
    for (auto& o : *r) *resp->add_orders() = std::move(o);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::GetOrderHistory(
    grpc::CallbackServerContext* c, const v1::GetOrderRequest* req,
    v1::OrderHistory* resp) {
  return Run(c, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    Uuid(e, "order_id", req->order_id());
    if (!e.empty()) return e.ToStatus();
    auto r = store_.GetOrderHistory(req->order_id());
    if (!r.ok()) return r.status();
    *resp = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListReviewQueue(
    grpc::CallbackServerContext* c, const v1::ListReviewQueueRequest* req,
    v1::ListReviewQueueResponse* resp) {
  return Run(c, executor_, [=, this]() -> absl::Status {
    if (req->area_code().empty()) {
      grpcutil::FieldErrors e;
      e.Add("area_code", "is required");
      return e.ToStatus();
    }
    auto r = store_.ListReviewQueue(req->area_code(), absl::Now());
    if (!r.ok()) return r.status();
    for (auto& i : *r) *resp->add_items() = std::move(i);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OrderServiceImpl::ListConsiderations(
    grpc::CallbackServerContext* c, const v1::ListConsiderationsRequest* req,
    v1::ListConsiderationsResponse* resp) {
  return Run(c, executor_, [=, this]() -> absl::Status {
    if (!req->referral_id().empty() && !IsUuid(req->referral_id())) {
      grpcutil::FieldErrors e;
      e.Add("referral_id", "must be a referral id (UUID) or empty");
      return e.ToStatus();
    }
    auto r = store_.ListConsiderations(req->referral_id(), absl::Now());
    if (!r.ok()) return r.status();
    for (auto& i : *r) *resp->add_considerations() = std::move(i);
    return absl::OkStatus();
  });
}

}  // namespace signpost::orders
