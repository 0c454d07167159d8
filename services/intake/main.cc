// signpost-intake: wires config to the intake application and gRPC service.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "common/http/http_client.h"
#include "common/http/webhook_signature.h"
#include "common/log/log.h"
#include "common/service/host.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_handler.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"
#include "services/intake/notice_dispatcher.h"
#include "services/intake/retention.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"intake",
                            "127.0.0.1:50051",
                            events::kIntakeTopic,
                            {events::kTriageTopic, events::kAdvocacyTopic},
                            intake::IntakeStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        config.DefineString("matching_key_file", "",
                            "the blind-index matching key (keys/matching.key "
                            "from scripts/dev-pki), kept apart from the "
                            "key-encryption keys",
                            true);
        config.DefineString("retention_file", "",
                            "the retention policy per area "
                            "(signpost.v1.RetentionPolicy text format, "
                            "deploy/policy/retention.textproto)",
                            true);
        config.DefineInt("retention_scan_seconds", 60, 1, 3600,
                         "how often the retention timers are checked");
        config.DefineString(
            "victim_gateway_sms_url", "",
            "the channel gateway's https:// endpoint for SMS notices to "
            "victims; empty: no SMS is sent");
        config.DefineString("victim_gateway_email_url", "",
                            "the gateway's endpoint for email notices");
        config.DefineString("victim_gateway_letter_url", "",
                            "the gateway's endpoint for letters");
        config.DefineString(
            "victim_gateway_secret_file", "",
            "the gateway's signing secret (whsec_..., Standard Webhooks); "
            "required with any gateway URL");
        config.DefineString("victim_gateway_ca_file", "",
                            "PEM CAs to trust for the gateway; empty: the "
                            "system's");
        config.DefineString("time_zone", "Europe/London",
                            "the zone of victims' safe-contact windows");
        config.DefineInt("stall_after_seconds", 30 * 60, 1, 7 * 24 * 3600,
                         "a referral not triaged, or not offered or "
                         "waitlisted after its decision, this long is "
                         "stalled (ReferralStalled)");
        config.DefineInt("stall_report_seconds", 3600, 1, 7 * 24 * 3600,
                         "a stalled referral is reported again at this "
                         "interval while it stays stuck");
        config.DefineInt("stall_scan_seconds", 60, 1, 3600,
                         "how often to look for stalled referrals");
        config.DefineInt("link_window_hours", 72, 1, 24 * 90,
                         "a later referral of the same person from another "
                         "agency, with no crime reference to tell them "
                         "apart, joins an earlier one whose incident is "
                         "this close");
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        auto fail = [&](absl::string_view flag, const absl::Status& s) {
          config::PrintConfigError(
              argv[0],
              absl::Status(s.code(), absl::StrCat(flag, ": ", s.message())));
          return 2;
        };
        absl::StatusOr<crypto::Keyring> matching =
            crypto::Keyring::Load(config.GetString("matching_key_file"));
        if (!matching.ok()) return fail("matching_key_file", matching.status());
        absl::StatusOr<v1::RetentionPolicy> retention =
            intake::LoadRetentionPolicy(config.GetString("retention_file"));
        if (!retention.ok()) return fail("retention_file", retention.status());
        log::Info("retention policy loaded",
                  {{"version", retention->version()}});
        intake::NoticeGateway gateway;
        for (const auto& [flag, channel] :
             {std::pair<const char*, v1::ContactChannel>{
                  "victim_gateway_sms_url", v1::CONTACT_CHANNEL_SMS},
              {"victim_gateway_email_url", v1::CONTACT_CHANNEL_EMAIL},
              {"victim_gateway_letter_url", v1::CONTACT_CHANNEL_LETTER}}) {
          const std::string url = config.GetString(flag);
          if (url.empty()) continue;
          if (!absl::StartsWith(url, "https://")) {
            return fail(flag,
                        absl::InvalidArgumentError("must be an https:// URL"));
          }
          gateway.urls[channel] = url;
        }
        if (!gateway.urls.empty()) {
          absl::StatusOr<std::string> secret = http::LoadWebhookSecretFile(
              config.GetString("victim_gateway_secret_file"));
          if (!secret.ok()) {
            return fail("victim_gateway_secret_file", secret.status());
          }
          gateway.secret = *std::move(secret);
        }
        http::HttpClient::Options http_options;
        http_options.ca_file = config.GetString("victim_gateway_ca_file");
        http_options.user_agent = "signpost-victim-notices/1";
        absl::StatusOr<http::HttpClientPtr> client =
            http::HttpClient::Create(http_options);
        if (!client.ok())
          return fail("victim_gateway_ca_file", client.status());
        intake::IntakeOptions options;
        if (!absl::LoadTimeZone(config.GetString("time_zone"), &options.zone)) {
          return fail("time_zone", absl::InvalidArgumentError("unknown zone"));
        }
        const absl::TimeZone zone = options.zone;
        for (const auto& [channel, url] : gateway.urls) {
          options.notice_gateways.insert(channel);
        }
        options.matching_key = matching->ActiveKey();
        options.link_window = absl::Hours(config.GetInt("link_window_hours"));
        options.stall_after =
            absl::Seconds(config.GetInt("stall_after_seconds"));
        options.stall_interval =
            absl::Seconds(config.GetInt("stall_report_seconds"));
        options.retention = *std::move(retention);
        intake::IntakeApp app(host.db(), host.person_keys(),
                              std::move(options));
        if (absl::Status s = app.CheckMatchingKey(); !s.ok()) {
          return fail("matching_key_file", s);
        }
        intake::IntakeHandler handler(app);
        intake::IntakeServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        // Retention: people whose period has ended are erased, with the
        // same VictimErased as EraseVictim.
        host.AddPeriodicTask(
            "retention", absl::Seconds(config.GetInt("retention_scan_seconds")),
            [&app, &host](absl::Time now) {
              absl::StatusOr<int> erased = app.EraseDue(now);
              if (!erased.ok()) {
                log::Error("retention erasure failed",
                           {{"error", erased.status().ToString()}});
              } else if (*erased > 0) {
                host.relay().Notify();
              }
              return absl::InfiniteFuture();
            });
        // Victim notices: planned against the victim's safe-contact rules
        // and sent through the channel gateway.
        intake::NoticeDispatcher notices(app, **client, std::move(gateway),
                                         zone);
        worker::PeriodicTask& notice_task = host.AddPeriodicTask(
            "victim-notices", absl::Seconds(30),
            [&notices](absl::Time now) { return notices.RunOnce(now); });
        // A decision or an offer the consumer committed may have queued one.
        host.AddCommitHook([&notice_task] { notice_task.Notify(); });
        // Stalled referrals: reported when found and every interval after.
        host.AddPeriodicTask(
            "stall-watchdog",
            absl::Seconds(config.GetInt("stall_scan_seconds")),
            [&app, &host](absl::Time now) {
              absl::StatusOr<int> reported = app.WatchStalls(now);
              if (!reported.ok()) {
                log::Error("stall watchdog failed",
                           {{"error", reported.status().ToString()}});
              } else if (*reported > 0) {
                host.relay().Notify();
              }
              return absl::InfiniteFuture();
            });
        host.SetReplayGuard(intake::IntakeStore::kReplayGuard);
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
