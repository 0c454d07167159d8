// Shared test helpers: temp directories, the examples, an in-process
// embedded Kafka (librdkafka's mock cluster with Signpost's topics), and a
// child-process launcher for end-to-end tests. Not thread-safe unless noted.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/access/registry.h"
#include "common/crypto/keyring.h"
#include "common/crypto/person_keys.h"
#include "common/grpc/executor.h"
#include "common/grpc/gate.h"
#include "common/grpc/server_runner.h"
#include "common/kafka/kafka.h"
#include "common/store/access_audit.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "signpost/v1/intake.pb.h"

namespace signpost::testing {

// A fresh directory under TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string SourcePath(const std::string& relative);
std::string ReadFile(const std::string& path);

// Writes a fresh Ed25519 event-signing key pair for each of the five
// producers (intake, triage, advocacy, orders, notification): <dir>/<svc>.key
// (PKCS#8 PEM, 0600) and <dir>/<svc>.pub (SubjectPublicKeyInfo PEM), the
// layout scripts/dev-pki makes under signing/. `dir` must exist. Fails the
// test on an error.
void MakeSigningKeys(const std::string& dir);

// Loads examples/referrals/<name>.textproto (e.g. "t01_strangulation_punjabi").
v1::SubmitReferralRequest LoadExample(const std::string& name);
// Names of every example referral, sorted.
std::vector<std::string> ExampleNames();

// The embedded Kafka with every topic from deploy/kafka/topics.txt.
std::unique_ptr<kafka::MockCluster> StartEmbeddedKafka(int brokers = 3);

// Reads every record from `topic` (new group, from the beginning) until
// `expected` records arrived or `timeout` passed.
std::vector<kafka::ConsumedMessage> ReadTopic(const std::string& bootstrap,
                                              const std::string& topic,
                                              size_t expected,
                                              absl::Duration timeout);

// Reads every record `topic` holds now: asks each partition's end offset,
// then reads until it is reached (positive evidence that nothing more is
// there, with no sleep). Fails the test if `timeout` passes first.
std::vector<kafka::ConsumedMessage> ReadTopicToEnd(
    const std::string& bootstrap, const std::string& topic,
    absl::Duration timeout = absl::Seconds(30));

// The development PKI (scripts/dev-pki, as `make demo` makes it) for this
// test process: made once, on first use, under a temporary directory that
// lives as long as the process. Holds ca.crt, services/<svc>.{crt,key},
// agencies/<agency>.{crt,key} (every agency of deploy/access) and
// signing/<svc>.{key,pub}.
const std::string& TestPki();

// A key-encryption keyring with one fresh random key (id "test-kek").
std::shared_ptr<const crypto::Keyring> TestKeyring();
// Person keys under a fresh TestKeyring().
std::shared_ptr<const crypto::PersonKeys> TestPersonKeys();

// The agency registry the binaries use (deploy/access/agencies.textproto).
std::shared_ptr<const access::Registry> TestRegistry();

// The authenticated principal of registered agency `agency_id`, for
// application-layer tests (fails the test when it is not registered).
access::Principal PrincipalOf(const std::string& agency_id);

// Everything an adapter needs to admit callers as a binary does: an
// executor, the registry's authorizer and an access audit on `db`. Declare
// it before the service and the server that use gate().
class TestGate {
 public:
  explicit TestGate(store::Database& db, std::string producer = "test");
  grpcutil::Gate& gate() { return gate_; }
  grpcutil::Executor& executor() { return executor_; }

 private:
  grpcutil::Executor executor_{2};
  access::Authorizer authorizer_;
  store::AccessAuditLog audit_;
  grpcutil::Gate gate_;
};

// A real gRPC server in this process on a free loopback port, for adapter
// tests: the same ServerRunner (health, reflection, limits) the binaries use,
// over mutual TLS with TestPki()'s certificates.
class InProcessServer {
 public:
  explicit InProcessServer(const std::vector<grpc::Service*>& services);
  ~InProcessServer();
  // A channel presenting agency `agency_id`'s certificate.
  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& agency_id) const;
  // A TLS channel that presents no client certificate (refused at the
  // handshake).
  std::shared_ptr<grpc::Channel> AnonymousChannel() const;
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<grpcutil::ServerRunner> runner_;
  std::string address_;
};

// The AccessAudited events `db`'s outbox holds, oldest first.
std::vector<v1::AccessAudited> AccessAudits(store::Database& db);

// The fields a failed call's google.rpc.BadRequest names (fails the test
// when the call carries none).
std::vector<std::string> BadFields(const grpc::Status& status);
// The rule ids a failed call's google.rpc.PreconditionFailure names.
std::vector<std::string> RuleIds(const grpc::Status& status);

// A client context with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout = absl::Seconds(10));

// Makes a unary call whose response wraps one message (every RPC has its
// own response type) and copies that message to `*out`, for tests that
// check the message itself: `call` makes the call into the response it is
// given; `field` is the response's accessor, e.g.
// &v1::GetOrderResponse::order.
template <typename Response, typename Out, typename Call>
grpc::Status Unwrapped(Call call, Out* out,
                       const Out& (Response::*field)() const) {
  Response response;
  grpc::Status status = call(&response);
  *out = (response.*field)();
  return status;
}

// A child process with stderr captured to a file.
class Process {
 public:
  // `env` adds to (or replaces in) the test's environment for the child
  // only: setenv in a test process with live threads would race.
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& stderr_path,
          const std::vector<std::pair<std::string, std::string>>& env = {});
  // The same, with stdout captured to `stdout_path` as well.
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& stderr_path, const std::string& stdout_path,
          const std::vector<std::pair<std::string, std::string>>& env = {});
  ~Process();
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit code (or 128+signal).
  int Terminate(absl::Duration timeout = absl::Seconds(20));
  // Waits for exit; returns the exit code, or -1 on timeout.
  int Wait(absl::Duration timeout);
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Waits until `path` contains `needle`; returns the value that follows it:
// up to the next '"' when the needle ends with one (a string:
// "grpc_address":"...), else up to the next ',' or '}' (a number or
// boolean: "metrics_port":...).
std::string WaitForLogValue(const std::string& path, const std::string& needle,
                            absl::Duration timeout);

// The real stack as processes, as tests/e2e/e2e_test.cc starts it: the
// devbroker and the five services on free loopback ports, over mutual TLS
// with TestPki()'s certificates and signing keys, in a directory of its own.
// Check ::testing::Test::HasFatalFailure() after constructing it. Stops the
// services, then the broker, on destruction. Not thread-safe.
class Stack {
 public:
  Stack();
  ~Stack();
  // "intake", "triage", "advocacy", "orders" or "notification".
  const std::string& address(const std::string& service) const {
    return addrs_.at(service);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  // Whether every service started and reported its address.
  bool ready() const { return addrs_.size() == 5; }
  // SIGKILLs `service` (no shutdown of any kind: a crash) and starts it
  // again with the same settings on the same address, waiting until it
  // listens. False, with the reason on stderr, when it did not come back.
  bool KillAndRestart(const std::string& service);
  const TempDir& dir() const { return dir_; }
  // The built binary `name` (e.g. "signpost-cli").
  static std::string Bin(const std::string& name);

 private:
  void Start();
  TempDir dir_;
  std::unique_ptr<Process> broker_;
  std::map<std::string, std::unique_ptr<Process>> services_;
  std::map<std::string, std::vector<std::string>> args_;
  int restarts_ = 0;
  std::map<std::string, std::string> addrs_;
  std::string bootstrap_;
};

}  // namespace signpost::testing
