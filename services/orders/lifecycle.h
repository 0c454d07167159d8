// The order lifecycle, in plain code: considered -> applied -> granted |
// refused -> served -> varied | extended | discharged -> expired. A refused
// transition names the rule that refused it. (Per-type statutory rules come
// with the order-tracking issue.) Thread-safe (pure).
#pragma once

#include "absl/status/status.h"
#include "signpost/v1/common.pb.h"

namespace signpost::orders {

inline constexpr char kLifecycleRule[] = "ORDER-LIFECYCLE";

// States a new order may be recorded in.
absl::Status CheckInitialState(v1::OrderState state);
// Whether `from` -> `to` is allowed; FAILED_PRECONDITION naming
// ORDER-LIFECYCLE otherwise.
absl::Status CheckTransition(v1::OrderState from, v1::OrderState to);
bool IsTerminal(v1::OrderState state);

}  // namespace signpost::orders
