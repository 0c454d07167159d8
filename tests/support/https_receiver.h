// A real HTTPS server in the test process, standing in for a partner's
// webhook endpoint: OpenSSL over plain POSIX sockets, listening on
// 127.0.0.1 only, one thread that accepts and serves one connection at a
// time. HTTP/1.1 with Content-Length bodies; every answer closes the
// connection. It records each request and answers with the status the
// test's handler returns.
//
// Certificates: TestPki()'s service certificates (services/<svc>.crt) carry
// SAN DNS:localhost and IP:127.0.0.1, so a client that trusts TestPki()'s
// ca.crt verifies url() (which names 127.0.0.1) with no extra setup.
//
// Stop() closes the listening socket, so new connections are refused;
// Restart() listens again on the same port (SO_REUSEADDR), for tests of an
// endpoint that goes away and comes back. Start() ignores SIGPIPE for the
// process (a client may hang up mid-answer).
//
// Thread-safe: every method may be called from any thread; the handler runs
// on the server's thread.
#pragma once

#include <openssl/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace signpost::testing {

class HttpsReceiver {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };
  // Returns the HTTP status to answer with.
  using Handler = std::function<int(const Request&)>;

  // Listens on 127.0.0.1:`port` (0: a free port) with the PEM certificate
  // chain and key. INVALID_ARGUMENT for unusable certificate files,
  // UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> Start(
      const std::string& cert_file, const std::string& key_file,
      Handler handler, int port = 0);
  ~HttpsReceiver();
  HttpsReceiver(const HttpsReceiver&) = delete;
  HttpsReceiver& operator=(const HttpsReceiver&) = delete;

  int port() const { return port_; }
  // "https://127.0.0.1:<port><path>".
  std::string url(absl::string_view path) const;

  // Stops accepting and closes the listening socket; a connection being
  // served is finished first. Idempotent.
  void Stop();
  // Listens again on the same port. FAILED_PRECONDITION when running.
  absl::Status Restart();

  // The body of every later answer (empty by default).
  void SetResponseBody(std::string body);
  // Every request received, oldest first (recorded before it is answered).
  std::vector<Request> requests() const;

 private:
  struct SslCtxDeleter {
    void operator()(SSL_CTX* ctx) const;
  };

  HttpsReceiver(std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx, Handler handler)
      : ctx_(std::move(ctx)), handler_(std::move(handler)) {}

  absl::Status Listen(int port);
  void Serve(int listen_fd, int wake_fd);
  void ServeConnection(int fd);

  const std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
  const Handler handler_;
  int port_ = 0;  // fixed by the first Listen()

  // Start/Stop/Restart are serialised by control_mu_ (the thread is joined
  // under it, never under mu_, which the thread takes).
  absl::Mutex control_mu_;
  std::thread thread_ ABSL_GUARDED_BY(control_mu_);
  int listen_fd_ ABSL_GUARDED_BY(control_mu_) = -1;
  int wake_pipe_[2] ABSL_GUARDED_BY(control_mu_) = {-1, -1};

  mutable absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  std::string response_body_ ABSL_GUARDED_BY(mu_);
};

}  // namespace signpost::testing
