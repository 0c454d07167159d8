// signpost-notification: wires config to subscriptions, application, event
// adapter and gRPC service.
#include "absl/strings/str_cat.h"
#include "common/service/host.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_handler.h"
#include "services/notification/notification_service.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"

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
          grpcutil::Gate& gate) {
        absl::StatusOr<v1::SubscriptionList> subscriptions =
            notification::LoadSubscriptions(
                config.GetString("subscriptions_file"));
        if (!subscriptions.ok()) {
          config::PrintConfigError(
              argv[0],
              absl::InvalidArgumentError(absl::StrCat(
                  "subscriptions_file: ", subscriptions.status().message())));
          return 2;
        }
        notification::NotificationApp app(host.db(), std::move(*subscriptions));
        notification::NotificationHandler handler(app);
        notification::NotificationServiceImpl api(app, gate);
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
