// signpost-triage: wires config to the triage store, handler and gRPC service.
#include "common/grpc/executor.h"
#include "common/service/host.h"
#include "services/triage/triage_handler.h"
#include "services/triage/triage_service.h"
#include "services/triage/triage_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::BlockShutdownSignals();
  service::ServiceSpec spec{"triage",
                            "127.0.0.1:50052",
                            events::kTriageTopic,
                            {events::kIntakeTopic},
                            triage::TriageStore::Migrations()};
  config::Config config("signpost-triage");
  service::DefineCommonFlags(config, spec);
  if (int code = service::ParseConfig(config, argc, argv); code >= 0)
    return code;
  absl::StatusOr<std::unique_ptr<service::ServiceHost>> host =
      service::ServiceHost::Create(config, spec);
  if (!host.ok()) {
    config::PrintConfigError(argv[0], host.status());
    return 2;
  }
  grpcutil::Executor executor(4);
  triage::TriageStore store((*host)->db());
  triage::TriageHandler handler(store, (*host)->relay(),
                                triage::TriagePolicy());
  triage::TriageServiceImpl api(store, executor);
  int code = (*host)->Run({&api}, [&handler](const events::IncomingEvent& e) {
    return handler.Handle(e);
  });
  executor.Stop();
  return code;
}
