// signpost-intake: wires config to the intake store and gRPC service.
#include "common/grpc/executor.h"
#include "common/service/host.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::BlockShutdownSignals();
  service::ServiceSpec spec{"intake",
                            "127.0.0.1:50051",
                            events::kIntakeTopic,
                            {},
                            intake::IntakeStore::Migrations()};
  config::Config config("signpost-intake");
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
  intake::IntakeStore store((*host)->db());
  intake::IntakeServiceImpl api(store, (*host)->relay(), executor);
  int code = (*host)->Run({&api}, nullptr);
  executor.Stop();
  return code;
}
