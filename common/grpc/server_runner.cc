#include "common/grpc/server_runner.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace signpost::grpcutil {

absl::StatusOr<std::unique_ptr<ServerRunner>> ServerRunner::Start(
    const Options& options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // Plaintext on the listen address given; deploy behind mTLS in production
  // (docs/operations.md).
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(),
                           &port);
  // Two servers on one port would silently split the traffic between two
  // databases: refuse to share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.address,
        " (is another process, or another Signpost stack, using the port?)"));
  }
  std::string host = options.address.substr(0, options.address.rfind(':'));
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  auto runner = std::unique_ptr<ServerRunner>(
      new ServerRunner(std::move(server), port, absl::StrCat(host, ":", port)));
  runner->SetServing(false);
  return runner;
}

ServerRunner::ServerRunner(std::unique_ptr<grpc::Server> server, int port,
                           std::string address)
    : server_(std::move(server)), port_(port), address_(std::move(address)) {}

ServerRunner::~ServerRunner() { Shutdown(absl::Seconds(1)); }

void ServerRunner::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

void ServerRunner::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  SetServing(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace signpost::grpcutil
