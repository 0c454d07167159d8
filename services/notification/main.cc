// signpost-notification: wires config to subscriptions, store, handler and
// service.
#include "common/config/textproto.h"
#include "common/service/host.h"
#include "services/notification/notification_handler.h"
#include "services/notification/notification_service.h"
#include "services/notification/notification_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"notification",
                            "127.0.0.1:50055",
                            events::kNotificationTopic,
                            {events::kIntakeTopic, events::kTriageTopic,
                             events::kAdvocacyTopic, events::kOrdersTopic},
                            notification::NotificationStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        config.DefineString(
            "subscriptions_file", "",
            "partner subscriptions (textproto signpost.v1.SubscriptionList)",
            true);
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Executor& executor) {
        v1::SubscriptionList subscriptions;
        absl::Status loaded = config::LoadTextProto(
            config.GetString("subscriptions_file"), &subscriptions);
        if (loaded.ok())
          loaded = notification::ValidateSubscriptions(subscriptions);
        if (!loaded.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "subscriptions_file: ", loaded.message())));
          return 2;
        }
        notification::NotificationStore store(host.db(), subscriptions);
        notification::NotificationHandler handler(store, host.relay());
        notification::NotificationServiceImpl api(store, executor);
        return host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
      });
}
