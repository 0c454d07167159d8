// signpost-intake: wires config to the intake application and gRPC service.
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
      argc, argv, spec, nullptr,
      [](service::ServiceHost& host, const config::Config&,
         grpcutil::Gate& gate) {
        intake::IntakeApp app(host.db());
        intake::IntakeHandler handler(app);
        intake::IntakeServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        return host.Run(
            {&api}, [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
