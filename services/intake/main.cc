// signpost-intake: wires config to the intake application and gRPC service.
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "common/log/log.h"
#include "common/service/host.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_handler.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"
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
        intake::IntakeOptions options;
        options.matching_key = matching->ActiveKey();
        options.link_window = absl::Hours(config.GetInt("link_window_hours"));
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
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
