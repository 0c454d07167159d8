// signpost-advocacy: wires config to the directory, store, handler, offer
// expiry scheduler and gRPC service.
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/service/host.h"
#include "services/advocacy/advocacy_handler.h"
#include "services/advocacy/advocacy_service.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/directory.h"
#include "services/advocacy/offer_expiry.h"

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
        config.DefineString(
            "directory_file", "",
            "providers and advocates to import at start (textproto "
            "signpost.v1.Directory); empty imports nothing");
        config.DefineInt(
            "offer_timeout_minutes", 24 * 60, 1, 30 * 24 * 60,
            "an offer not accepted in this time expires and is re-offered");
        config.DefineInt("expiry_scan_seconds", 30, 1, 3600,
                         "how often to look for expired offers");
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Executor& executor) {
        advocacy::AdvocacyStore store(
            host.db(), {absl::Minutes(config.GetInt("offer_timeout_minutes"))});
        if (!config.GetString("directory_file").empty()) {
          absl::StatusOr<v1::Directory> directory =
              advocacy::LoadDirectory(config.GetString("directory_file"));
          absl::Status loaded =
              directory.ok() ? store
                                   .ImportDirectory(*directory, absl::Now(),
                                                    NewTraceparent())
                                   .status()
                             : directory.status();
          if (!loaded.ok()) {
            config::PrintConfigError(
                argv[0], absl::InvalidArgumentError(absl::StrCat(
                             "directory_file: ", loaded.message())));
            return 2;
          }
        }
        advocacy::AdvocacyHandler handler(store, host.relay());
        advocacy::AdvocacyServiceImpl api(store, host.relay(), executor);
        advocacy::OfferExpiryScheduler expiry(
            store, host.relay(),
            absl::Seconds(config.GetInt("expiry_scan_seconds")));
        expiry.Start();
        int code = host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
        expiry.Stop();
        return code;
      });
}
