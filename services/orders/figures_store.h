// Orders' figures store: SQL and row mapping only. When each counted step
// of an area's considerations and orders happened. Works inside the
// caller's transaction. Thread-safe (stateless).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/database.h"

namespace signpost::orders {

// What the orders figures count.
enum class OrderStep {
  kConsiderationOpened,   // a review item opened
  kConsiderationDecided,  // ... and decided (closed)
  kApplication,           // an order's history reached APPLIED
  kGrant,                 // ... reached GRANTED
  kBreach,                // a breach occurred
};

struct OrderStepAt {
  OrderStep step;
  absl::Time at;
};

// Every counted step of `area_code` in [from, to).
absl::StatusOr<std::vector<OrderStepAt>> OrderSteps(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to);

}  // namespace signpost::orders
