// Loading the partner subscriptions file (textproto
// signpost.v1.SubscriptionList) at start-up: parsed, then checked by
// ValidateSubscriptions. Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "signpost/v1/notification.pb.h"

namespace signpost::notification {

// The subscriptions in `path`; INVALID_ARGUMENT naming the file's problem
// (unreadable, unparsable, or an invalid subscription).
absl::StatusOr<v1::SubscriptionList> LoadSubscriptions(const std::string& path);

}  // namespace signpost::notification
