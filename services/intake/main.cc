// signpost-intake: wires config to the intake application and gRPC service.
#include "common/service/host.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"intake",
                            "127.0.0.1:50051",
                            events::kIntakeTopic,
                            {},
                            intake::IntakeStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec, nullptr,
      [](service::ServiceHost& host, const config::Config&,
         grpcutil::Executor& executor) {
        intake::IntakeApp app(host.db());
        intake::IntakeServiceImpl api(
            app, [&host] { host.relay().Notify(); }, executor);
        return host.Run({&api}, nullptr);
      });
}
