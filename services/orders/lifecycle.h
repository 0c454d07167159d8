// Order lifecycles and statutory rules, in plain code.
//
// Each order type has its own state machine. Court orders go considered ->
// applied -> granted | refused -> served -> varied | extended | discharged
// -> expired. Police notices (DVPN, DAPN) are authorised rather than applied
// for. A refused transition or check is FAILED_PRECONDITION naming the rule
// (ORDER-LIFECYCLE, DVPO-DURATION, SPO-MIN-DURATION, ...). Thread-safe (pure).
#pragma once

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/orders/order_commands.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

inline constexpr char kLifecycleRule[] = "ORDER-LIFECYCLE";

using Transition = std::pair<v1::OrderState, v1::OrderState>;

bool IsNotice(v1::OrderType type);
// Every transition the type allows.
const std::set<Transition>& AllowedTransitions(v1::OrderType type);
// Every state an order of this type may be in.
std::set<v1::OrderState> AllowedStates(v1::OrderType type);

// States a new order may be recorded in (CONSIDERED, APPLIED for court
// orders; imports may start GRANTED or SERVED).
absl::Status CheckInitialState(v1::OrderType type, v1::OrderState state,
                               bool imported);
absl::Status CheckTransition(v1::OrderType type, v1::OrderState from,
                             v1::OrderState to);
bool IsTerminal(v1::OrderState state);

// Statutory checks when an order is granted (or imported as made):
// durations, authoriser ranks, ages, electronic monitoring.
absl::Status CheckGrant(const v1::Order& order, const v1::Authority& authority,
                        const v1::OrderTerms& terms);

// The order's expiry from its terms; nullopt for "until further order" or
// a notice.
std::optional<absl::Time> ExpiryOf(v1::OrderType type,
                                   const v1::OrderTerms& terms);

// True while a breach can be recorded: made, known to the respondent
// (served, or awareness recorded) and not ended.
bool InForce(const v1::Order& order, absl::Time at);

// Breach checks: in force (BREACH-ORDER-IN-FORCE), and for a
// non-molestation order crime or contempt, never both for one incident
// (NMO-CRIME-OR-CONTEMPT). `same_incident` are earlier breaches of this
// order with the same incident reference.
absl::Status CheckBreach(const v1::Order& order, const BreachReport& breach,
                         const std::vector<v1::Breach>& same_incident);

}  // namespace signpost::orders
