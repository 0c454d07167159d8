// Hosts a set of callback-API gRPC services with grpc.health.v1 health
// checking, server reflection and a message-size limit. Health reports
// NOT_SERVING until the owner calls SetServing(true). Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"

namespace signpost::grpcutil {

class ServerRunner {
 public:
  struct Options {
    // host:port; port 0 picks a free port.
    std::string address = "127.0.0.1:0";
    int max_message_bytes = 4 * 1024 * 1024;
  };
  static absl::StatusOr<std::unique_ptr<ServerRunner>> Start(
      const Options& options, const std::vector<grpc::Service*>& services);
  ~ServerRunner();

  int port() const { return port_; }
  // The address a client should dial (host of the listen address, real port).
  const std::string& address() const { return address_; }
  void SetServing(bool serving);
  // Stops accepting calls and waits up to `grace` for in-flight calls.
  void Shutdown(absl::Duration grace);

 private:
  ServerRunner(std::unique_ptr<grpc::Server> server, int port,
               std::string address, std::vector<std::string> service_names);
  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::string address_;
  std::vector<std::string> service_names_;
  bool shut_down_ = false;
};

}  // namespace signpost::grpcutil
