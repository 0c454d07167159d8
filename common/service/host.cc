#include "common/service/host.h"

#include <csignal>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/log/log.h"

namespace signpost::service {

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void DefineCommonFlags(config::Config& config, const ServiceSpec& spec) {
  config.DefineString(
      "grpc_address", spec.default_grpc_address,
      "host:port the gRPC server listens on (port 0: any free)");
  config.DefineString("db_path", absl::StrCat("signpost-", spec.name, ".db"),
                      "this service's SQLite database file", true);
  config.DefineString("kafka_bootstrap", "",
                      "Kafka bootstrap servers (e.g. the devbroker's address)",
                      true);
  config.DefineString("kafka_group", absl::StrCat("signpost-", spec.name),
                      "Kafka consumer group id", true);
  config.DefineString("kafka_security_protocol", "plaintext",
                      "Kafka security.protocol (plaintext, ssl, sasl_ssl)");
  config.DefineString("kafka_sasl_mechanism", "", "Kafka sasl.mechanism");
  config.DefineString("kafka_sasl_username", "", "Kafka SASL user name");
  config.DefineString("kafka_sasl_password", "", "Kafka SASL password", false,
                      /*secret=*/true);
  config.DefineString("log_level", "info", "debug, info, warn or error");
  config.DefineInt("max_message_bytes", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024,
                   "largest gRPC message accepted or sent");
}

int ParseConfig(config::Config& config, int argc, char** argv) {
  absl::Status status = config.Parse(argc, argv);
  if (config.help_requested()) {
    std::fputs(config.Usage().c_str(), stdout);
    return 0;
  }
  if (!status.ok()) {
    config::PrintConfigError(argv[0], status);
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(config.GetString("log_level"), &level)) {
    config::PrintConfigError(
        argv[0], absl::InvalidArgumentError("log_level must be debug, info, "
                                            "warn or error"));
    return 2;
  }
  log::SetMinLevel(level);
  if (config.print_config_requested()) {
    std::fputs(config.Render().c_str(), stdout);
    return 0;
  }
  return -1;
}

ServiceHost::ServiceHost(const config::Config& config, ServiceSpec spec)
    : config_(config), spec_(std::move(spec)) {}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Create(
    const config::Config& config, const ServiceSpec& spec) {
  log::SetService(spec.name);
  std::unique_ptr<ServiceHost> host(new ServiceHost(config, spec));
  absl::StatusOr<std::unique_ptr<store::Database>> db =
      store::Database::Open(config.GetString("db_path"), spec.migrations);
  if (!db.ok()) {
    return absl::Status(db.status().code(),
                        absl::StrCat("db_path: ", db.status().message()));
  }
  host->db_ = std::move(*db);

  host->kafka_options_.bootstrap_servers = config.GetString("kafka_bootstrap");
  host->kafka_options_.client_id = absl::StrCat("signpost-", spec.name);
  host->kafka_options_.properties["security.protocol"] =
      config.GetString("kafka_security_protocol");
  for (const auto& [flag, property] :
       {std::pair<const char*, const char*>{"kafka_sasl_mechanism",
                                            "sasl.mechanism"},
        {"kafka_sasl_username", "sasl.username"},
        {"kafka_sasl_password", "sasl.password"}}) {
    if (!config.GetString(flag).empty()) {
      host->kafka_options_.properties[property] = config.GetString(flag);
    }
  }
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(host->kafka_options_);
  if (!producer.ok()) {
    return absl::Status(
        producer.status().code(),
        absl::StrCat("kafka settings: ", producer.status().message()));
  }
  host->producer_ = std::move(*producer);
  host->relay_ =
      std::make_unique<store::OutboxRelay>(*host->db_, *host->producer_);
  return host;
}

ServiceHost::~ServiceHost() {
  stopping_ = true;
  if (monitor_.joinable()) monitor_.join();
}

void ServiceHost::MonitorReadiness() {
  bool last = false;
  while (!stopping_) {
    bool ready = producer_->ClusterReachable(absl::Seconds(2));
    if (ready != last) {
      server_->SetServing(ready);
      log::Info(ready ? "ready: store open and Kafka reachable"
                      : "not ready: Kafka unreachable");
      last = ready;
    }
    for (int i = 0; i < 20 && !stopping_; ++i)
      absl::SleepFor(absl::Milliseconds(100));
  }
}

int ServiceHost::Run(const std::vector<grpc::Service*>& services,
                     events::EventHandler handler) {
  grpcutil::ServerRunner::Options options;
  options.address = config_.GetString("grpc_address");
  options.max_message_bytes =
      static_cast<int>(config_.GetInt("max_message_bytes"));
  absl::StatusOr<std::unique_ptr<grpcutil::ServerRunner>> server =
      grpcutil::ServerRunner::Start(options, services);
  if (!server.ok()) {
    std::fprintf(stderr, "signpost-%s: grpc_address: %s\n", spec_.name.c_str(),
                 std::string(server.status().message()).c_str());
    return 1;
  }
  server_ = std::move(*server);

  relay_->Start();
  if (handler) {
    events::EventConsumer::Options consumer_options;
    consumer_options.client = kafka_options_;
    consumer_options.group_id = config_.GetString("kafka_group");
    consumer_options.topics = spec_.subscribe_topics;
    consumer_options.dead_letter_topic = events::kDeadLetterTopic;
    consumer_options.service_name = spec_.name;
    absl::StatusOr<std::unique_ptr<events::EventConsumer>> consumer =
        events::EventConsumer::Create(consumer_options, *producer_,
                                      std::move(handler));
    if (!consumer.ok()) {
      std::fprintf(stderr, "signpost-%s: kafka consumer: %s\n",
                   spec_.name.c_str(),
                   std::string(consumer.status().message()).c_str());
      return 1;
    }
    consumer_ = std::move(*consumer);
    consumer_->Start();
  }
  monitor_ = std::thread([this] { MonitorReadiness(); });
  // The line scripts wait for; the address is what partner systems dial.
  log::Info("listening", {{"grpc_address", server_->address()},
                          {"db_path", db_->path()},
                          {"topic", spec_.topic}});

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  log::Info("shutting down", {{"signal", absl::StrCat(signal_number)}});

  stopping_ = true;
  if (monitor_.joinable()) monitor_.join();
  server_->Shutdown(absl::Seconds(5));
  if (consumer_) consumer_->Stop();
  relay_->Stop(absl::Seconds(10));
  absl::Status flushed = producer_->Flush(absl::Seconds(10));
  absl::StatusOr<int64_t> unsent = store::CountUnsent(*db_);
  log::Info("stopped",
            {{"outbox_unsent", unsent.ok() ? absl::StrCat(*unsent) : "?"},
             {"flush", flushed.ok() ? "ok" : std::string(flushed.message())}});
  return 0;
}

int ServiceMain(int argc, char** argv, const ServiceSpec& spec,
                const std::function<void(config::Config&)>& define_flags,
                const WireFn& wire) {
  BlockShutdownSignals();
  config::Config config(absl::StrCat("signpost-", spec.name));
  DefineCommonFlags(config, spec);
  if (define_flags) define_flags(config);
  if (int code = ParseConfig(config, argc, argv); code >= 0) return code;
  absl::StatusOr<std::unique_ptr<ServiceHost>> host =
      ServiceHost::Create(config, spec);
  if (!host.ok()) {
    config::PrintConfigError(argv[0], host.status());
    return 2;
  }
  grpcutil::Executor executor(4);
  int code = wire(**host, config, executor);
  executor.Stop();
  return code;
}

}  // namespace signpost::service
