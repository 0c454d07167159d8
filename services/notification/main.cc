// signpost-notification: wires config to the partner policy, application,
// event adapter, transports (Kafka acknowledgements, webhooks) and gRPC
// service.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/audit/audit_app.h"
#include "common/audit/audit_service.h"
#include "common/audit/log_reader.h"
#include "common/http/http_client.h"
#include "common/log/log.h"
#include "common/service/host.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_handler.h"
#include "services/notification/notification_service.h"
#include "services/notification/notification_store.h"
#include "services/notification/projection.h"
#include "services/notification/subscriptions.h"
#include "services/notification/webhook_dispatcher.h"

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
        config.DefineString("webhook_ca_file", "",
                            "PEM CAs trusted for webhook endpoints (empty: "
                            "the system's)");
        config.DefineInt("webhook_backoff_base_ms", 1000, 1, 3600 * 1000,
                         "first webhook retry delay (full jitter)");
        config.DefineInt("webhook_backoff_cap_ms", 15 * 60 * 1000, 1,
                         24 * 3600 * 1000, "longest webhook retry delay");
        config.DefineInt("webhook_breaker_failures", 5, 1, 1000,
                         "failures in a row that open an endpoint's breaker");
        config.DefineInt("webhook_breaker_open_ms", 30 * 1000, 1, 3600 * 1000,
                         "how long an open breaker stays open");
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        absl::StatusOr<notification::PartnerPolicy> policy =
            notification::LoadPolicy(config.GetString("subscriptions_file"),
                                     host.authorizer().registry());
        if (!policy.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "subscriptions_file: ", policy.status().message())));
          return 2;
        }
        // A Kafka agency's topic must exist: the outbox relay publishes in
        // order and would stall at the first record it cannot place.
        std::vector<std::string> topics;
        for (const notification::AgencyPolicy& agency : policy->agencies()) {
          for (v1::Transport t : agency.transports) {
            if (t == v1::TRANSPORT_KAFKA) {
              topics.push_back(notification::PartnerTopic(agency.agency_id));
            }
          }
        }
        absl::StatusOr<std::vector<std::string>> missing =
            host.producer().MissingTopics(topics, absl::Seconds(10));
        if (!missing.ok()) {
          log::Warn("partner topics not checked: the cluster did not answer",
                    {{"error", std::string(missing.status().message())}});
        } else if (!missing->empty()) {
          config::PrintConfigError(
              argv[0],
              absl::InvalidArgumentError(absl::StrCat(
                  "subscriptions_file: TRANSPORT_KAFKA needs topics that do "
                  "not exist: ",
                  absl::StrJoin(*missing, ", "),
                  " (create them: deploy/kafka/topics.txt)")));
          return 2;
        }
        http::HttpClient::Options http_options;
        http_options.ca_file = config.GetString("webhook_ca_file");
        absl::StatusOr<http::HttpClientPtr> client =
            http::HttpClient::Create(http_options);
        if (!client.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "webhook_ca_file: ", client.status().message())));
          return 2;
        }
        worker::PeriodicTask* webhooks = nullptr;
        notification::NotificationApp app(
            host.db(), *std::move(policy), [&host] { host.relay().Notify(); },
            [&webhooks] {
              if (webhooks != nullptr) webhooks->Notify();
            });
        notification::WebhookDispatcher::Options dispatch;
        dispatch.backoff_base =
            absl::Milliseconds(config.GetInt("webhook_backoff_base_ms"));
        dispatch.backoff_cap =
            absl::Milliseconds(config.GetInt("webhook_backoff_cap_ms"));
        dispatch.breaker.failure_threshold =
            static_cast<int>(config.GetInt("webhook_breaker_failures"));
        dispatch.breaker.open_for =
            absl::Milliseconds(config.GetInt("webhook_breaker_open_ms"));
        notification::WebhookDispatcher dispatcher(app, **client, dispatch);
        webhooks = &host.AddPeriodicTask(
            "partner-webhooks", absl::Milliseconds(250),
            [&dispatcher](absl::Time now) { return dispatcher.RunOnce(now); });
        // Woken each time the relay has published (partner records among
        // them); the interval is only a safety net.
        worker::PeriodicTask& acks = host.AddPeriodicTask(
            "partner-kafka-acks", absl::Seconds(5), [&app](absl::Time now) {
              absl::StatusOr<int> acked = app.RecordKafkaAcks();
              if (!acked.ok()) {
                log::Error("partner Kafka acknowledgements failed",
                           {{"error", std::string(acked.status().message())}});
                return now + absl::Seconds(1);
              }
              // One round takes a bounded number: look again at once
              // until a round finds none.
              return *acked > 0 ? now : absl::InfiniteFuture();
            });
        host.relay().SetPublishedListener([&acks] { acks.Notify(); });
        // Readers and the dispatcher see what Deliver wrote once the
        // consumer has committed it.
        host.AddCommitHook([&app] { app.Committed(); });
        notification::NotificationHandler handler(app);
        notification::NotificationServiceImpl api(app, gate);
        // AuditService: timelines and subject access, from the log alone
        // (event_keys_dir is required here: notification consumes).
        if (host.verifier() == nullptr) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(
                           "event_keys_dir: required (AuditService checks "
                           "every record's signature)"));
          return 2;
        }
        audit::AuditApp audit_app(
            [&host] {
              return audit::ReadLog(host.kafka_options(), {}, absl::Minutes(2),
                                    audit::PartnerTopics::kExclude);
            },
            *host.verifier(), host.access_audit());
        audit::AuditServiceImpl audit_api(
            audit_app, [&host] { host.relay().Notify(); }, gate);
        host.AddStoreMetric("signpost_deliveries",
                            "partner deliveries, by transport and status",
                            metrics::Kind::kGauge,
                            &notification::NotificationStore::DeliveryCounts);
        return host.Run(
            {&api, &audit_api},
            [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
