// signpost-triage: wires config to the triage store, handler and gRPC service.
#include "common/service/host.h"
#include "services/triage/triage_handler.h"
#include "services/triage/triage_service.h"
#include "services/triage/triage_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"triage",
                            "127.0.0.1:50052",
                            events::kTriageTopic,
                            {events::kIntakeTopic},
                            triage::TriageStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec, nullptr,
      [](service::ServiceHost& host, const config::Config&,
         grpcutil::Executor& executor) {
        triage::TriageStore store(host.db());
        triage::TriageHandler handler(store, host.relay(),
                                      triage::TriagePolicy());
        triage::TriageServiceImpl api(store, executor);
        return host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
      });
}
