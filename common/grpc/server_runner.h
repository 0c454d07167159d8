// Hosts a set of callback-API gRPC services with grpc.health.v1 health
// checking, server reflection (grpc.reflection.v1 and v1alpha, with the
// health and google.rpc descriptors) and a message-size limit. Health reports
// NOT_SERVING until the owner calls SetServing(true). The port is never
// shared (SO_REUSEPORT off): a second server on a port in use fails to start.
// Mutual TLS when Options::tls is set; plaintext only on loopback.
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc/tls.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "grpcpp/server.h"

namespace signpost::grpcutil {

class ServerRunner {
 public:
  // Resource limits (OWASP API4, unrestricted resource consumption): no
  // caller can hold a connection, a stream or memory without bound.
  struct Options {
    // host:port; port 0 picks a free port.
    std::string address = "127.0.0.1:0";
    int max_message_bytes = 4 * 1024 * 1024;
    // Concurrent calls one connection may have open.
    int max_concurrent_streams = 100;
    // A connection with no call open for this long is closed (GOAWAY).
    absl::Duration max_connection_idle = absl::Minutes(5);
    // Every connection is closed after this long (clients reconnect), and
    // its calls then get `max_connection_age_grace` to finish. This also
    // bounds a call whose request message never arrives.
    absl::Duration max_connection_age = absl::Minutes(30);
    absl::Duration max_connection_age_grace = absl::Seconds(30);
    // A TLS/HTTP2 handshake that takes longer is dropped.
    absl::Duration handshake_timeout = absl::Seconds(10);
    // Keepalive enforcement: a client pinging more often than this without
    // calls is sent GOAWAY after 2 strikes.
    absl::Duration min_client_ping_interval = absl::Seconds(30);
    // Memory all connections and calls of the server may use.
    int64_t memory_quota_bytes = 256 * 1024 * 1024;
    // Mutual TLS (client certificates required and verified). Without it
    // the server speaks plaintext, which Start() allows only on a loopback
    // address.
    std::optional<TlsFiles> tls;
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
               std::string address, std::vector<std::string> names);
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::string address_;
  // The services served, each with its own health status too.
  const std::vector<std::string> names_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace signpost::grpcutil
