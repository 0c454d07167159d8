// Wiring shared by every Signpost service binary: the common flags, the
// service's SQLite store, the Kafka producer and outbox relay, the event
// consumer, the background workers, the gRPC server with health and
// reflection, and graceful shutdown. main() only wires and runs.
//
// Shutdown (SIGTERM/SIGINT, or the injected wait returning) runs in this
// order under one deadline (--shutdown_timeout, default 15 s) that holds even
// when Kafka is unreachable:
//   1. stop accepting RPCs and finish (or cancel) the calls in flight;
//   2. stop the workers: readiness, periodic tasks, the event consumer;
//   3. drain the outbox (publish what is committed);
//   4. flush the producer (abandoning what the cluster did not take: the
//      outbox keeps it and publishes it after the restart).
// If the deadline passes anyway, the process exits with code 3.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/config/config.h"
#include "common/crypto/person_keys.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/events/signing.h"
#include "common/grpc/executor.h"
#include "common/grpc/gate.h"
#include "common/grpc/server_runner.h"
#include "common/kafka/kafka.h"
#include "common/metrics/metrics.h"
#include "common/service/outbox_service.h"
#include "common/store/access_audit.h"
#include "common/store/database.h"
#include "common/store/outbox.h"
#include "common/worker/periodic_task.h"

namespace signpost::service {

struct ServiceSpec {
  std::string name;                  // "intake"
  std::string default_grpc_address;  // "127.0.0.1:50051"
  std::string topic;                 // the service's own topic
  std::vector<std::string> subscribe_topics;
  std::vector<std::string> migrations;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it later
// starts, so that Run() can wait for them with sigwait. Call first in main().
void BlockShutdownSignals();
// Waits for SIGTERM or SIGINT (blocked by BlockShutdownSignals).
void WaitForShutdownSignal();

// Declares access_registry (required), kek_file (required), grpc_address,
// db_path, kafka_bootstrap, kafka_group, kafka_security_protocol, kafka_sasl_*,
// log_level, max_message_bytes, shutdown_timeout, event_signing_key (required)
// and event_keys_dir (required when spec.subscribe_topics is not empty).
void DefineCommonFlags(config::Config& config, const ServiceSpec& spec);

// Parses flags and env. Returns -1 to go on, or the exit code to return now
// (0 after --help/--print-config, 2 on a configuration error, printed as one
// line).
int ParseConfig(config::Config& config, int argc, char** argv);

class ServiceHost {
 public:
  // Blocks until shutdown is asked for. Called once the server listens.
  using WaitFn = std::function<void()>;

  // Loads the event keys (signing every record the relay publishes as
  // spec.name; verifying every record consumed), then opens the store and the
  // Kafka clients. Errors name the failing setting.
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Create(
      const config::Config& config, const ServiceSpec& spec);
  ~ServiceHost();

  store::Database& db() { return *db_; }
  store::OutboxRelay& relay() { return *relay_; }
  kafka::Producer& producer() { return *producer_; }
  grpcutil::Executor& executor() { return executor_; }
  // Authentication, the function rule and the refusal audit for every RPC.
  grpcutil::Gate& gate() { return *gate_; }
  const access::Authorizer& authorizer() const { return *authorizer_; }
  store::AccessAuditLog& access_audit() { return *audit_; }
  const ServiceSpec& spec() const { return spec_; }
  // The Kafka client settings (bootstrap, security), for a reader of the
  // log such as AuditService.
  const kafka::ClientOptions& kafka_options() const { return kafka_options_; }
  // The process's Prometheus metrics (--metrics_address). A service adds
  // its own scraped families before Run() (AddStoreMetric).
  metrics::Metrics& metrics() { return *metrics_; }
  // A family read from the service's store at each scrape, in a read
  // transaction of its own; a failed query logs and yields no sample.
  void AddStoreMetric(
      std::string name, std::string help, metrics::Kind kind,
      std::function<absl::StatusOr<std::vector<metrics::Sample>>(store::Tx&)>
          query);
  // Every producer's public keys; null without --event_keys_dir.
  const events::EventVerifier* verifier() const { return verifier_.get(); }
  // Each person's data key (--kek_file), checked against the store at
  // start. The service's migrations must include store::kDataKeysMigration.
  std::shared_ptr<const crypto::PersonKeys> person_keys() const {
    return person_keys_;
  }

  // A background worker the host starts in Run() and stops in step 2 of the
  // shutdown. Call before Run(). The reference stays valid for the host's
  // life (e.g. to Notify() it).
  worker::PeriodicTask& AddPeriodicTask(std::string name,
                                        absl::Duration max_interval,
                                        worker::PeriodicTask::Fn fn);

  // Runs `hook` after each transaction the event consumer commits (the
  // commit itself wakes the outbox relay), on the consumer's thread: for work
  // that must see the commit, such as waking readers of what the handler wrote.
  // Call before Run().
  void AddCommitHook(std::function<void()> hook) {
    commit_hooks_.push_back(std::move(hook));
  }
  // The service's rule for which sent outbox rows OutboxService may replay
  // (store::ReplaySelection::guard: an SQL condition on outbox rows, from
  // the service's store). Call before Run().
  void SetReplayGuard(std::string guard) { replay_guard_ = std::move(guard); }

  // Serves `services` and, when `handler` is set, consumes the subscribed
  // topics, until `wait` returns. Returns the process exit code.
  int Run(const std::vector<grpc::Service*>& services,
          events::EventHandler handler, const WaitFn& wait);
  int Run(const std::vector<grpc::Service*>& services,
          events::EventHandler handler) {
    return Run(services, std::move(handler), WaitForShutdownSignal);
  }

  // The address clients dial; empty before Run() serves.
  std::string grpc_address() const;
  // The shutdown steps completed so far, in order ("grpc", "workers",
  // "outbox", "producer").
  std::vector<std::string> shutdown_steps() const;

 private:
  ServiceHost(const config::Config& config, ServiceSpec spec);
  absl::Time CheckReadiness(absl::Time now);
  void Shutdown();
  void StepDone(const char* step, absl::Time started);
  void StartWatchdog(absl::Time deadline);

  const config::Config& config_;
  ServiceSpec spec_;
  kafka::ClientOptions kafka_options_;
  // Declared before the relay and the consumer that point to them.
  std::unique_ptr<events::EventSigner> signer_;
  // Null without --event_keys_dir; Run() then refuses to consume.
  std::unique_ptr<events::EventVerifier> verifier_;
  // Declared before the executor and the gate, whose calls it observes, so
  // destroyed after them; its readers are closed first in the destructor.
  std::unique_ptr<metrics::Metrics> metrics_;
  // Runs the RPCs' work (--worker_threads).
  grpcutil::Executor executor_;
  std::unique_ptr<access::Authorizer> authorizer_;
  std::shared_ptr<const crypto::PersonKeys> person_keys_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::OutboxRelay> relay_;
  std::unique_ptr<store::AccessAuditLog> audit_;
  std::unique_ptr<grpcutil::Gate> gate_;
  // Declared before server_, so destroyed after it.
  std::unique_ptr<OutboxServiceImpl> outbox_api_;
  std::string replay_guard_;
  std::unique_ptr<events::EventConsumer> consumer_;

  std::vector<std::function<void()>> commit_hooks_;
  std::unique_ptr<grpcutil::ServerRunner> server_;
  std::vector<std::unique_ptr<worker::PeriodicTask>> workers_;
  bool ready_ = false;  // readiness task's thread only

  mutable absl::Mutex mu_;
  std::vector<std::string> steps_ ABSL_GUARDED_BY(mu_);
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watchdog_;
};

// The whole main() of a service: blocks the shutdown signals, declares the
// common flags plus `define_flags`, parses them, opens the host, then calls
// `wire` to build the service's own objects and run (normally returning
// host.Run(...)). Start-up errors print one line and return 2.
using WireFn = std::function<int(
    ServiceHost& host, const config::Config& config, grpcutil::Gate& gate)>;
int ServiceMain(int argc, char** argv, const ServiceSpec& spec,
                const std::function<void(config::Config&)>& define_flags,
                const WireFn& wire);

}  // namespace signpost::service
