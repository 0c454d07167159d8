#include "common/grpc/server_runner.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/decoding.h"
#include "common/grpc/reflection_v1.h"
#include "common/status/macros.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace signpost::grpcutil {
namespace {

// Reflection answers from the generated pool, which holds only the files
// linked into the binary. Using a descriptor of each file links it, so that
// a reflection client can resolve the built-in health service and decode
// the google.rpc error details every service attaches.
void LinkReflectedDescriptors() {
  static_cast<void>(grpc::health::v1::HealthCheckRequest::descriptor());
  static_cast<void>(google::rpc::Status::descriptor());
  static_cast<void>(google::rpc::BadRequest::descriptor());
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerRunner>> ServerRunner::Start(
    const Options& options, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  // Reflection v1alpha is gRPC's own plugin; v1 is ours (ReflectionV1Option).
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  LinkReflectedDescriptors();
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.tls) {
    ASSIGN_OR_RETURN(credentials, MutualTlsServerCredentials(*options.tls));
  } else if (IsLoopbackAddress(options.address)) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "plaintext is allowed only on a loopback address, not ",
        options.address, "; give the TLS certificate, key and CA files"));
  }
  grpc::ServerBuilder builder;
  builder.SetOption(ReflectionV1Option());
  int port = 0;
  builder.AddListeningPort(options.address, credentials, &port);
  // Two servers on one port would silently split the traffic between two
  // databases: refuse to share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  auto ms = [](absl::Duration d) {
    return static_cast<int>(absl::ToInt64Milliseconds(d));
  };
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             ms(options.max_connection_idle));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             ms(options.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ms(options.max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             ms(options.handshake_timeout));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      ms(options.min_client_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  grpc::ResourceQuota quota("signpost-server");
  quota.Resize(static_cast<size_t>(options.memory_quota_bytes));
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  std::vector<std::string> names;
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
    if (std::string name = decoding_internal::ServiceFullName(*service);
        !name.empty()) {
      names.push_back(std::move(name));
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.address,
        " (is another process, or another Signpost stack, using the port?)"));
  }
  std::string host = options.address.substr(0, options.address.rfind(':'));
  if (host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  auto runner = std::unique_ptr<ServerRunner>(
      new ServerRunner(std::move(server), port, absl::StrCat(host, ":", port),
                       std::move(names)));
  runner->SetServing(false);
  return runner;
}

ServerRunner::ServerRunner(std::unique_ptr<grpc::Server> server, int port,
                           std::string address, std::vector<std::string> names)
    : server_(std::move(server)),
      port_(port),
      address_(std::move(address)),
      names_(std::move(names)) {}

ServerRunner::~ServerRunner() { Shutdown(absl::Seconds(1)); }

void ServerRunner::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) {
    // Each service by its name (grpc.health.v1 Check with a service name),
    // then the overall status ("").
    for (const std::string& name : names_) {
      health->SetServingStatus(name, serving);
    }
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
