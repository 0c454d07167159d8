// signpost-advocacy: wires config to the roster, store, handler and service.
#include "common/service/host.h"
#include "services/advocacy/advocacy_handler.h"
#include "services/advocacy/advocacy_service.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/roster.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"advocacy",
                            "127.0.0.1:50053",
                            events::kAdvocacyTopic,
                            {events::kTriageTopic},
                            advocacy::AdvocacyStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        config.DefineString("roster_file", "",
                            "advocate roster (textproto signpost.v1.Roster)",
                            true);
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Executor& executor) {
        absl::StatusOr<v1::Roster> roster =
            advocacy::LoadRoster(config.GetString("roster_file"));
        advocacy::AdvocacyStore store(host.db());
        absl::Status loaded =
            roster.ok() ? store.UpsertRoster(*roster) : roster.status();
        if (!loaded.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(
                           absl::StrCat("roster_file: ", loaded.message())));
          return 2;
        }
        advocacy::AdvocacyHandler handler(store, host.relay());
        advocacy::AdvocacyServiceImpl api(store, executor);
        return host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
      });
}
