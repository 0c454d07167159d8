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
        config.DefineString("kek_file", "",
                            "key-encryption keys (keys/kek.keys from "
                            "scripts/dev-pki): wrap each person's data key; "
                            "the first is the active one",
                            true);
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        absl::StatusOr<crypto::Keyring> keys =
            crypto::Keyring::Load(config.GetString("kek_file"));
        if (!keys.ok()) {
          config::PrintConfigError(
              argv[0], absl::Status(keys.status().code(),
                                    absl::StrCat("kek_file: ",
                                                 keys.status().message())));
          return 2;
        }
        intake::IntakeApp app(host.db(),
                              std::make_shared<const crypto::Keyring>(*keys));
        // A wrong key file stops here, before anything is served.
        if (absl::Status checked = app.CheckKeys(); !checked.ok()) {
          config::PrintConfigError(
              argv[0],
              absl::Status(checked.code(),
                           absl::StrCat("kek_file: ", checked.message())));
          return 2;
        }
        intake::IntakeHandler handler(app);
        intake::IntakeServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
