// Wiring shared by every Signpost service binary: the common flags, the
// service's SQLite store, the Kafka producer and outbox relay, the event
// consumer, the gRPC server with health and reflection, and graceful shutdown
// on SIGTERM/SIGINT (stop accepting, drain calls, stop consuming, publish the
// committed outbox, flush the producer, exit 0). main() only wires and runs.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/config.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/grpc/executor.h"
#include "common/grpc/server_runner.h"
#include "common/kafka/kafka.h"
#include "common/store/database.h"
#include "common/store/outbox.h"

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

// Declares grpc_address, db_path, kafka_bootstrap, kafka_group,
// kafka_security_protocol, kafka_sasl_* , log_level, max_message_bytes.
void DefineCommonFlags(config::Config& config, const ServiceSpec& spec);

// Parses flags and env. Returns -1 to go on, or the exit code to return now
// (0 after --help/--print-config, 2 on a configuration error, printed as one
// line).
int ParseConfig(config::Config& config, int argc, char** argv);

class ServiceHost {
 public:
  // Opens the store and the Kafka clients. Errors name the failing setting.
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Create(
      const config::Config& config, const ServiceSpec& spec);
  ~ServiceHost();

  store::Database& db() { return *db_; }
  store::OutboxRelay& relay() { return *relay_; }
  kafka::Producer& producer() { return *producer_; }
  const ServiceSpec& spec() const { return spec_; }

  // Serves `services` and, when `handler` is set, consumes the subscribed
  // topics, until SIGTERM/SIGINT. Returns the process exit code.
  int Run(const std::vector<grpc::Service*>& services,
          events::EventHandler handler);

 private:
  ServiceHost(const config::Config& config, ServiceSpec spec);
  void MonitorReadiness();

  const config::Config& config_;
  ServiceSpec spec_;
  kafka::ClientOptions kafka_options_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<store::OutboxRelay> relay_;
  std::unique_ptr<events::EventConsumer> consumer_;
  std::unique_ptr<grpcutil::ServerRunner> server_;
  std::atomic<bool> stopping_{false};
  std::thread monitor_;
};

// The whole main() of a service: blocks the shutdown signals, declares the
// common flags plus `define_flags`, parses them, opens the host, then calls
// `wire` to build the service's own objects and run (normally returning
// host.Run(...)). Start-up errors print one line and return 2.
using WireFn =
    std::function<int(ServiceHost& host, const config::Config& config,
                      grpcutil::Executor& executor)>;
int ServiceMain(int argc, char** argv, const ServiceSpec& spec,
                const std::function<void(config::Config&)>& define_flags,
                const WireFn& wire);

}  // namespace signpost::service
