// The inputs of the orders use cases as domain values. The gRPC adapter
// decodes each request into one of these (and its strong ids); the
// application and the rules never see an RPC request. Thread-compatible
// (plain values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

// An obligatory-consideration review item (one per referral and kind).
using ConsiderationId = StrongId<struct ConsiderationIdTag>;

// Who records a change: a staff id, or "scheduler" for a timer.
inline constexpr char kSchedulerActor[] = "scheduler";

// The decision closing a review item.
struct ConsiderationDecision {
  bool apply = false;
  // For apply: the type to open; UNSPECIFIED takes the consideration's own.
  v1::OrderType order_type = v1::ORDER_TYPE_UNSPECIFIED;
  // Why not (required when not applying), e.g. "VICTIM_DECLINED".
  std::string reason_code;
  std::string actor;
};

// An application. Empty or zero particulars leave the order's as they are.
struct Application {
  // Required for a new order; for an existing one it must match.
  v1::OrderType order_type = v1::ORDER_TYPE_UNSPECIFIED;
  std::string legal_basis;
  std::string protected_ref;
  std::string respondent_ref;
  int32_t protected_age = 0;
  int32_t respondent_age = 0;
  bool on_acquittal = false;
  bool without_notice = false;
  std::string area_code;
  std::string actor;
};

// A court's or authorising officer's decision: granted (with the terms) or
// refused. Non-empty parties set or correct the order's.
struct Decision {
  bool granted = false;
  v1::Authority authority;
  v1::OrderTerms terms;  // made_at defaults to the decision's time
  std::string protected_ref;
  std::string respondent_ref;
  int32_t protected_age = 0;
  int32_t respondent_age = 0;
  std::string actor;
};

// Service of an order on the respondent.
struct ServiceOfOrder {
  std::optional<absl::Time> served_at;  // unset: now
  std::string actor;
};

// A variation, extension or discharge, and/or the respondent's
// notification or awareness.
struct Variation {
  v1::OrderState new_state = v1::ORDER_STATE_UNSPECIFIED;  // unset: no move
  std::optional<v1::OrderTerms> terms;
  bool respondent_notified = false;
  bool respondent_aware = false;
  std::string actor;
};

// A reported breach of an order.
struct BreachReport {
  absl::Time occurred_at;
  std::string reporting_agency;
  v1::BreachAction action = v1::BREACH_ACTION_UNSPECIFIED;
  v1::BreachProceedings proceedings = v1::BREACH_PROCEEDINGS_UNSPECIFIED;
  std::string incident_ref;  // groups reports of one incident
  std::string actor;
};

// An order made elsewhere, known by its source's reference.
struct OrderImport {
  std::string source;
  std::string source_ref;
  v1::OrderType order_type = v1::ORDER_TYPE_UNSPECIFIED;
  v1::OrderState state = v1::ORDER_STATE_UNSPECIFIED;  // GRANTED or SERVED
  std::string legal_basis;
  v1::Authority authority;
  v1::OrderTerms terms;  // made_at defaults to the import's time
  std::string protected_ref;
  std::string respondent_ref;
  int32_t protected_age = 0;
  int32_t respondent_age = 0;
  bool without_notice = false;
  bool respondent_aware = false;
  std::optional<absl::Time> served_at;  // for SERVED; unset: now
  std::string area_code;
  std::string actor;
};

// Which orders to list; unset fields match every order.
struct OrderFilter {
  std::optional<ReferralId> referral_id;
  std::string area_code;
  v1::OrderType order_type = v1::ORDER_TYPE_UNSPECIFIED;
  v1::OrderState state = v1::ORDER_STATE_UNSPECIFIED;
};

}  // namespace signpost::orders
