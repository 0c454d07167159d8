#include "services/notification/subscriptions.h"

#include "common/config/textproto.h"
#include "common/status/macros.h"
#include "services/notification/routing.h"

namespace signpost::notification {

absl::StatusOr<v1::SubscriptionList> LoadSubscriptions(
    const std::string& path) {
  v1::SubscriptionList subscriptions;
  RETURN_IF_ERROR(config::LoadTextProto(path, &subscriptions));
  RETURN_IF_ERROR(ValidateSubscriptions(subscriptions));
  return subscriptions;
}

}  // namespace signpost::notification
