// signpost-intake: wires config to the intake application and gRPC service.
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "common/service/host.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_handler.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"

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
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        absl::StatusOr<crypto::Keyring> matching =
            crypto::Keyring::Load(config.GetString("matching_key_file"));
        if (!matching.ok()) {
          config::PrintConfigError(
              argv[0], absl::Status(matching.status().code(),
                                    absl::StrCat("matching_key_file: ",
                                                 matching.status().message())));
          return 2;
        }
        intake::IntakeApp app(host.db(), host.person_keys());
        intake::IntakeHandler handler(app);
        intake::IntakeServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
