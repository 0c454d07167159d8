// signpost-advocacy: wires config to the roster, store, handler and service.
#include "common/grpc/executor.h"
#include "common/service/host.h"
#include "services/advocacy/advocacy_handler.h"
#include "services/advocacy/advocacy_service.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/roster.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::BlockShutdownSignals();
  service::ServiceSpec spec{"advocacy",
                            "127.0.0.1:50053",
                            events::kAdvocacyTopic,
                            {events::kTriageTopic},
                            advocacy::AdvocacyStore::Migrations()};
  config::Config config("signpost-advocacy");
  service::DefineCommonFlags(config, spec);
  config.DefineString("roster_file", "",
                      "advocate roster (textproto signpost.v1.Roster)", true);
  if (int code = service::ParseConfig(config, argc, argv); code >= 0)
    return code;
  absl::StatusOr<v1::Roster> roster =
      advocacy::LoadRoster(config.GetString("roster_file"));
  if (!roster.ok()) {
    config::PrintConfigError(
        argv[0], absl::InvalidArgumentError(
                     absl::StrCat("roster_file: ", roster.status().message())));
    return 2;
  }
  absl::StatusOr<std::unique_ptr<service::ServiceHost>> host =
      service::ServiceHost::Create(config, spec);
  if (!host.ok()) {
    config::PrintConfigError(argv[0], host.status());
    return 2;
  }
  advocacy::AdvocacyStore store((*host)->db());
  if (absl::Status s = store.UpsertRoster(*roster); !s.ok()) {
    config::PrintConfigError(argv[0], s);
    return 2;
  }
  grpcutil::Executor executor(4);
  advocacy::AdvocacyHandler handler(store, (*host)->relay());
  advocacy::AdvocacyServiceImpl api(store, executor);
  int code = (*host)->Run({&api}, [&handler](const events::IncomingEvent& e) {
    return handler.Handle(e);
  });
  executor.Stop();
  return code;
}
