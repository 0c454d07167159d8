// Hosts a set of callback-API gRPC services with grpc.health.v1 health
// checking, server reflection and a message-size limit. Health reports
// NOT_SERVING until the owner calls SetServing(true). The port is never
// shared (SO_REUSEPORT off): a second server on a port in use fails to start.
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
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
  // Stops accepting calls and waits up to `grace` for in-flight calls, which
  // are then cancelled. Later calls do nothing.
  void Shutdown(absl::Duration grace);

 private:
  ServerRunner(std::unique_ptr<grpc::Server> server, int port,
               std::string address);
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::string address_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace signpost::grpcutil
